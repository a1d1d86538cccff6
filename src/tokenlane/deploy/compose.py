"""A Docker Compose file for one replica of an option: the desk box or single server it was planned on.

The port is published on 127.0.0.1 only (reach it from elsewhere through your own proxy); the weights live in a
volume; NVIDIA GPUs are reserved through Compose's device reservations, AMD ones passed as /dev/kfd and /dev/dri;
the health check polls the server's own health route, allowing twice the modelled cold start before it counts.
# Source: docs.docker.com/compose/how-tos/gpu-support/ (device reservations); ROCm docs, "Running ROCm Docker
# containers" (/dev/kfd, /dev/dri, group video).
"""

from __future__ import annotations

import math
from typing import Any

from tokenlane.deploy.images import PORT, Container


def compose_file(name: str, box: Container, *, cold_start_s: float) -> dict[str, Any]:
    """The Compose document (a dict, as `yaml.safe_dump` writes it) serving `box` as service `name`."""
    service: dict[str, Any] = {
        "image": box.image,
        "restart": "unless-stopped",
        "ports": [f"127.0.0.1:{PORT}:{PORT}"],
        "volumes": [f"{'./models' if box.weights_path == '/models' else 'weights'}:{box.weights_path}"],
        "healthcheck": {
            "test": ["CMD-SHELL", f"curl -fsS http://localhost:{PORT}{box.health} || wget -qO- http://localhost:{PORT}{box.health}"],
            "interval": "10s",
            "timeout": "5s",
            "retries": 3,
            "start_period": f"{math.ceil(2 * cold_start_s)}s",
        },
    }
    if box.entrypoint is not None:
        service["entrypoint"] = box.entrypoint
    if box.args:
        service["command"] = box.args
    environment = dict(box.env)
    if box.weights_path != "/models":
        environment["HF_TOKEN"] = "${HF_TOKEN:-}"  # from your shell, never written here
    if environment:
        service["environment"] = environment
    if box.shared_memory:
        service["ipc"] = "host"
    if box.vendor == "nvidia":
        gpus = {"driver": "nvidia", "count": box.devices, "capabilities": ["gpu"]}
        service["deploy"] = {"resources": {"reservations": {"devices": [gpus]}}}
    else:
        service["devices"] = ["/dev/kfd:/dev/kfd", "/dev/dri:/dev/dri"]
        service["group_add"] = ["video"]
    document: dict[str, Any] = {"name": name, "services": {name: service}}
    if box.weights_path != "/models":
        document["volumes"] = {"weights": {}}
    return document
