"""GGUF headers: a file's real per-tensor types become the weights the capacity model uses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter

from tests.cli.helpers import assert_user_error, invoke
from tokenlane.capacity.memory import count_params, weight_bytes
from tokenlane.catalog.gguf_file import quant_from_gguf
from tokenlane.catalog.hf_config import model_from_hf_config

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


def _tensor(writer: GGUFWriter, name: str, rows: int, cols: int, kind: GGMLQuantizationType) -> None:
    """A `rows` x `cols` weight of type `kind` (zeros: only the header matters here)."""
    block, size = GGML_QUANT_SIZES[kind]
    raw = np.zeros((rows, cols // block * size), dtype=np.uint8)
    writer.add_tensor(name, raw, raw_dtype=kind)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    writer = GGUFWriter(tmp_path / "tiny-Q4_K_M.gguf", "llama")
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
    quant = quant_from_gguf(gguf_path, model)
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
