"""GGUF headers: a file's real per-tensor types become the weights the capacity model uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import builtin_catalog
from tokenlane.capacity.memory import count_params, weight_bytes
from tokenlane.catalog.gguf_file import format_quant, model_from_gguf, quant_from_gguf
from tokenlane.catalog.hf_config import model_from_hf_config
from tokenlane.errors import CatalogError

CONFIG = {
    "hidden_size": 256,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "num_hidden_layers": 2,
    "intermediate_size": 512,
    "vocab_size": 1024,
    "max_position_embeddings": 4096,
}
Q = GGMLQuantizationType
QUANTS = builtin_catalog().quants


def _tensor(writer: GGUFWriter, name: str, rows: int, cols: int, kind: GGMLQuantizationType) -> None:
    """A `rows` x `cols` weight of type `kind` (zeros: only the header matters here)."""
    block, size = GGML_QUANT_SIZES[kind]
    raw = np.zeros((rows, cols // block * size), dtype=np.uint8)
    writer.add_tensor(name, raw, raw_dtype=kind)


def _architecture(writer: GGUFWriter, arch: str, keys: dict[str, int], *, heads: int = 4, kv_heads: int = 2, head_dim: int = 64) -> None:
    """llama.cpp's architecture keys (`{arch}.block_count` ...), written as a converter writes them."""
    writer.add_name("tiny")
    attention = {"attention.head_count": heads, "attention.head_count_kv": kv_heads, "attention.key_length": head_dim}
    for key, value in {**keys, **attention}.items():
        writer.add_uint32(f"{arch}.{key}", value)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    writer = GGUFWriter(tmp_path / "tiny-Q4_K_M.gguf", "llama")
    _architecture(writer, "llama", {"block_count": 2, "embedding_length": 256, "feed_forward_length": 512, "context_length": 4096})
    _tensor(writer, "token_embd.weight", 1024, 256, Q.Q4_K)
    for i in range(2):
        for name, rows, cols, kind in (
            ("attn_q", 256, 256, Q.Q4_K),
            ("attn_k", 128, 256, Q.Q4_K),
            ("attn_v", 128, 256, Q.Q6_K),
            ("attn_output", 256, 256, Q.Q4_K),
            ("ffn_gate", 512, 256, Q.Q4_K),
            ("ffn_up", 512, 256, Q.Q4_K),
            ("ffn_down", 256, 512, Q.Q6_K),
        ):
            _tensor(writer, f"blk.{i}.{name}.weight", rows, cols, kind)
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(256, dtype=np.float32))
    _tensor(writer, "output.weight", 1024, 256, Q.Q6_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tmp_path / "config.json", tmp_path / "tiny-Q4_K_M.gguf"


def test_per_class_bits_come_from_the_tensors_by_hand(tmp_path: Path) -> None:
    config, gguf_path = _files(tmp_path)
    model = model_from_hf_config(config, model_id="tiny")
    quant = quant_from_gguf(gguf_path, model, QUANTS)
    assert quant.dequant_rows == QUANTS["q4_k_m"].dequant_rows > 0  # its FFN is mostly Q4_K
    assert quant.embedding_bits_per_weight == pytest.approx(4.5) and quant.lm_head_bits_per_weight == pytest.approx(6.5625)
    attention = (256 * 256 * 4.5 * 2 + 128 * 256 * 4.5 + 128 * 256 * 6.5625) / (2 * 256 * 256 + 2 * 128 * 256)
    assert quant.attention_bits_per_weight == pytest.approx(attention)
    assert quant.bits_per_weight == pytest.approx((2 * 4.5 + 6.5625) / 3)
    p = count_params(model)
    file_bytes = sum(
        rows * cols * bits / 8
        for rows, cols, bits in [(1024, 256, 4.5), (1024, 256, 6.5625)]
        + 2 * [(256, 256, 4.5), (128, 256, 4.5), (128, 256, 6.5625), (256, 256, 4.5), (512, 256, 4.5), (512, 256, 4.5), (256, 512, 6.5625)]
    )
    assert p.total == 1024 * 256 * 2 + 2 * (2 * 256 * 256 + 2 * 128 * 256 + 3 * 256 * 512)
    assert weight_bytes(model, quant).total == pytest.approx(file_bytes)


def test_capacity_reads_a_gguf_and_refuses_other_files(tmp_path: Path) -> None:
    config, gguf_path = _files(tmp_path)
    args = ["capacity", "--model-config", str(config), "--hardware", "rtx-4090", "--engine", "llama.cpp"]
    result = invoke(*args, "--gguf", str(gguf_path), "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["quant"].startswith("gguf-tiny")
    (tmp_path / "bad.gguf").write_bytes(b"not a gguf file at all" * 10)
    assert_user_error(invoke(*args, "--gguf", str(tmp_path / "bad.gguf")), "bad.gguf", "GGUF")
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**CONFIG, "num_hidden_layers": 8}))
    assert_user_error(
        invoke("capacity", "--model-config", str(big), "--hardware", "rtx-4090", "--engine", "llama.cpp", "--gguf", str(gguf_path)),
        "another model",
    )


def test_the_architecture_is_read_from_the_header_and_matches_the_config(tmp_path: Path) -> None:
    config, gguf_path = _files(tmp_path)
    from_file, from_config = model_from_gguf(gguf_path), model_from_hf_config(config)
    used = ("num_layers", "hidden_size", "num_attention_heads", "num_kv_heads", "head_dim", "intermediate_size", "vocab_size", "moe")
    assert {f: getattr(from_file, f) for f in used} == {f: getattr(from_config, f) for f in used}
    assert from_file.id == "tiny" and not from_file.tied_embeddings  # the file has an output.weight
    assert count_params(from_file).total == count_params(from_config).total


def test_an_moe_file_reads_its_experts_and_shared_expert(tmp_path: Path) -> None:
    path = tmp_path / "moe.gguf"
    writer = GGUFWriter(path, "qwen2moe")
    keys = {"block_count": 2, "embedding_length": 256, "feed_forward_length": 512, "context_length": 4096, "expert_count": 8}
    keys |= {"expert_used_count": 2, "expert_feed_forward_length": 128, "expert_shared_feed_forward_length": 256}
    _architecture(writer, "qwen2moe", keys)
    _tensor(writer, "token_embd.weight", 1024, 256, Q.Q8_0)
    for i in range(2):
        for name, rows, cols in (("attn_q", 256, 256), ("attn_k", 128, 256), ("attn_v", 128, 256), ("attn_output", 256, 256)):
            _tensor(writer, f"blk.{i}.{name}.weight", rows, cols, Q.Q8_0)
        experts = (("ffn_gate_exps", 128, 256, Q.Q4_K), ("ffn_up_exps", 128, 256, Q.Q4_K), ("ffn_down_exps", 256, 128, Q.Q8_0))
        for name, rows, cols, kind in experts:
            block, size = GGML_QUANT_SIZES[kind]
            raw = np.zeros((8, rows, cols // block * size), dtype=np.uint8)
            writer.add_tensor(f"blk.{i}.{name}.weight", raw, raw_dtype=kind)
        for name, rows, cols in (("ffn_gate_shexp", 256, 256), ("ffn_up_shexp", 256, 256), ("ffn_down_shexp", 256, 256)):
            _tensor(writer, f"blk.{i}.{name}.weight", rows, cols, Q.Q8_0)
        _tensor(writer, f"blk.{i}.ffn_gate_inp.weight", 8, 256, Q.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    model = model_from_gguf(path)
    assert model.tied_embeddings and model.moe is not None
    assert (model.moe.num_experts, model.moe.experts_per_token, model.moe.expert_intermediate_size) == (8, 2, 128)
    assert (model.moe.num_shared_experts, model.moe.shared_expert_intermediate_size) == (1, 256)
    quant = quant_from_gguf(path, model, QUANTS)  # the file's weights count is the model's (within 5%)
    assert quant.expert_bits_per_weight == pytest.approx((2 * 4.5 + 8.5) / 3)  # gate and up Q4_K, down Q8_0
    assert quant.attention_bits_per_weight == pytest.approx(8.5)
    # The experts' matmuls (mostly Q4_K) set the unpacking cost, not the Q8_0 attention and shared expert around them.
    assert quant.dequant_rows == QUANTS["q4_k_m"].dequant_rows != QUANTS["q8_0"].dequant_rows


def test_block_types_run_their_own_or_their_familys_kernels() -> None:
    own = {"Q4_K": "q4_k_m", "Q6_K": "q6_k", "Q8_0": "q8_0", "Q4_0": "q4_0", "MXFP4": "mxfp4-gguf", "IQ4_XS": "iq4_xs"}
    assert {t: format_quant(QUANTS, t).id for t in own} == own
    family = {"IQ2_XXS": "q4_k_m", "Q5_0": "q4_0", "Q4_1": "q4_0"}
    assert {t: format_quant(QUANTS, t).id for t in family} == family
    assert format_quant(QUANTS, "BF16") is None and format_quant(QUANTS, "F16") is None


def test_architectures_the_reader_does_not_map_and_missing_keys_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "mla.gguf"
    writer = GGUFWriter(path, "deepseek2")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(CatalogError, match=r"config\.json"):
        model_from_gguf(path)
    path = tmp_path / "partial.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_uint32("llama.embedding_length", 256)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(CatalogError) as err:
        model_from_gguf(path)
    assert err.value.field == "llama.attention.head_count"


def test_capacity_takes_model_and_quant_from_one_gguf(tmp_path: Path) -> None:
    _, gguf_path = _files(tmp_path)
    result = invoke("capacity", "--model-gguf", str(gguf_path), "--hardware", "rtx-4090", "--engine", "llama.cpp", "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["model"] == "tiny" and doc["quant"].startswith("gguf-tiny")
    args = ["capacity", "--model-gguf", str(gguf_path), "--model-config", str(tmp_path / "config.json"), "--hardware", "rtx-4090"]
    assert_user_error(invoke(*args), "--model-gguf", "--model-config")
