"""What container runs each engine, and how the planned recipe becomes its command line.

Images by public tag, from each project's own instructions: vLLM `vllm/vllm-openai` (NVIDIA) and `rocm/vllm` (AMD)
(docs.vllm.ai, "Using Docker"; "ROCm installation"); SGLang `lmsysorg/sglang` (docs.sglang.ai, "Install SGLang",
method "Using docker"); llama.cpp `ghcr.io/ggml-org/llama.cpp:server-cuda`, `server-rocm`,
`server-vulkan` (llama.cpp docs/docker.md); Ollama `ollama/ollama` and `ollama/ollama:rocm` (ollama docs/docker.md).
Every server listens on `PORT` inside the container; what it is reached on outside is the target's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenlane.capacity import Deployment
from tokenlane.errors import InputError
from tokenlane.scenario import Option
from tokenlane.search.recipe import Recipe

PORT = 8000
IMAGES = {
    ("vllm", "nvidia"): "vllm/vllm-openai:latest",
    ("vllm", "amd"): "rocm/vllm:latest",
    ("sglang", "nvidia"): "lmsysorg/sglang:latest",
    ("llama.cpp", "nvidia"): "ghcr.io/ggml-org/llama.cpp:server-cuda",
    ("llama.cpp", "amd"): "ghcr.io/ggml-org/llama.cpp:server-rocm",
    ("llama.cpp", "amd-unified"): "ghcr.io/ggml-org/llama.cpp:server-vulkan",
    ("ollama", "nvidia"): "ollama/ollama:latest",
    ("ollama", "amd"): "ollama/ollama:rocm",
}
"""(engine, vendor) -> image; an AMD unified-memory box (Strix Halo) runs llama.cpp's Vulkan build. SGLang's AMD
images are tagged by ROCm release and GPU: give `--image`."""
HEALTH = {"vllm": "/health", "sglang": "/health", "llama.cpp": "/health", "ollama": "/api/version"}
"""Each server's route that answers 200 once the model is loaded."""
WEIGHTS = {
    "vllm": "/root/.cache/huggingface",
    "sglang": "/root/.cache/huggingface",
    "llama.cpp": "/models",
    "ollama": "/root/.ollama",
}
"""Where each image keeps the weights it serves (a volume, so a restart does not download them again)."""


@dataclass(frozen=True)
class Container:
    """One replica's container, independent of Compose or Kubernetes."""

    image: str
    entrypoint: list[str] | None
    """Replaces the image's entrypoint (None: the image's own)."""
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    vendor: str = "nvidia"
    devices: int = 1
    health: str = "/health"
    weights_path: str = "/models"
    shared_memory: bool = False
    """The engine's workers talk through /dev/shm (vLLM, SGLang: `--ipc=host` in their docs)."""


def container(option: Option, dep: Deployment, recipe: Recipe, *, image: str | None = None) -> Container:
    """The container that runs one replica of `option` with the recipe's settings (`image`: another image than the
    table's); InputError naming the option when the target cannot (an engine or hardware without a container, a
    replica spanning servers)."""
    field_ = f"options[{option.name}]"
    vendor = dep.hardware.vendor
    if vendor == "apple":
        raise InputError(
            f"{dep.hardware.id} runs macOS: no container serves it; run the recipe's command natively", field=f"{field_}.hardware"
        )
    if dep.servers > 1:
        raise InputError(
            f"a replica of {dep.num_devices} devices spans {dep.servers} servers: that needs a multi-node launcher (Ray, LeaderWorkerSet) "
            "this command does not write",
            field=f"{field_}.gpus",
        )
    kind = "amd-unified" if vendor == "amd" and dep.hardware.memory_kind == "unified" else vendor
    image = image or IMAGES.get((option.engine, kind)) or IMAGES.get((option.engine, vendor))
    if option.engine not in HEALTH:
        supported = ", ".join(sorted(HEALTH))
        raise InputError(f"no container is written for engine {option.engine} (supported: {supported})", field=f"{field_}.engine")
    if image is None:
        raise InputError(f"no public image of {option.engine} for {vendor} hardware is known: give --image", field=f"{field_}.engine")
    flags: list[str] = []
    env: dict[str, str] = {}
    for s in recipe.settings:
        if option.engine == "ollama":
            env[s.flag] = s.value
        else:
            flags += [s.flag, *([s.value] if s.value else [])]
    if option.engine == "vllm":
        entry, args = ["vllm", "serve"], [recipe.weights, "--host", "0.0.0.0", "--port", str(PORT), *flags]
    elif option.engine == "sglang":
        entry = ["python3", "-m", "sglang.launch_server"]
        args = ["--model-path", recipe.weights, "--host", "0.0.0.0", "--port", str(PORT), *flags]
    elif option.engine == "llama.cpp":
        model_file = f"/models/{option.gguf.rsplit('/', 1)[-1]}" if option.gguf else f"/models/{option.model}-{option.quant}.gguf"
        entry, args = None, ["-m", model_file, "--host", "0.0.0.0", "--port", str(PORT), *flags]
    else:
        env["OLLAMA_HOST"] = f"0.0.0.0:{PORT}"
        entry, args = None, []
    return Container(
        image=image,
        entrypoint=entry,
        args=args,
        env=env,
        vendor=vendor,
        devices=dep.num_devices,
        health=HEALTH[option.engine],
        weights_path=WEIGHTS[option.engine],
        shared_memory=option.engine in ("vllm", "sglang"),
    )
