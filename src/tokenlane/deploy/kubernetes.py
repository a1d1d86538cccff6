"""Kubernetes manifests for an option's fleet: a Deployment of its replicas, a Service in front, and for an
autoscaled option a KEDA ScaledObject that holds each replica to the plan's target on the engine's own Prometheus
metric (KEDA, not the HPA alone: it scales to zero and reads PromQL).

The pod asks for the replica's devices as `nvidia.com/gpu` or `amd.com/gpu` (the vendors' device plugins), mounts the
weights from a volume and /dev/shm from memory, and is ready when the server's health route answers; its startup probe
allows twice the modelled cold start.
# Source: kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/; keda.sh/docs/latest/reference/scaledobject-spec/ and
# keda.sh/docs/latest/scalers/prometheus/.
"""

from __future__ import annotations

import math
from typing import Any

from tokenlane.bench.server_metrics import SERIES
from tokenlane.deploy.images import PORT, Container
from tokenlane.simulate.scaling import ScalingPlan

PROMETHEUS_URL = "http://prometheus-operated.monitoring.svc:9090"
"""Where the ScaledObject reads Prometheus (the Prometheus Operator's default service): edit it to yours."""
PROBE_PERIOD_S = 10
_FAMILY = {"vllm": "vllm:", "sglang": "sglang:", "llama.cpp": "llamacpp:", "ollama": ""}


def manifests(name: str, box: Container, *, replicas: int, cold_start_s: float) -> list[dict[str, Any]]:
    """[Deployment, Service] serving `box` with `replicas` replicas."""
    labels = {"app.kubernetes.io/name": name}
    probe = {"httpGet": {"path": box.health, "port": PORT}, "periodSeconds": PROBE_PERIOD_S}
    resource = "nvidia.com/gpu" if box.vendor == "nvidia" else "amd.com/gpu"
    container: dict[str, Any] = {
        "name": "server",
        "image": box.image,
        "ports": [{"name": "http", "containerPort": PORT}],
        "resources": {"limits": {resource: str(box.devices)}},
        "readinessProbe": probe,
        "startupProbe": {**probe, "failureThreshold": max(1, math.ceil(2 * cold_start_s / PROBE_PERIOD_S))},
        "volumeMounts": [{"name": "weights", "mountPath": box.weights_path}, {"name": "shm", "mountPath": "/dev/shm"}],
        "env": [{"name": k, "value": v} for k, v in box.env.items()]
        + [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token", "optional": True}}}],
    }
    if box.entrypoint is not None:
        container["command"] = box.entrypoint
    if box.args:
        container["args"] = box.args
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [container],
                    "volumes": [
                        {"name": "weights", "emptyDir": {}},
                        {"name": "shm", "emptyDir": {"medium": "Memory"}},
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": PORT, "targetPort": "http"}]},
    }
    return [deployment, service]


def scaled_object(name: str, engine: str, model_name: str, plan: ScalingPlan) -> dict[str, Any]:
    """The KEDA ScaledObject holding `name`'s replicas to the plan's target: the engine's running + waiting requests
    (`requests`), waiting ones (`queue`) or KV use (`kv_cache`) per replica, read every `interval_s`, scaled down after
    `scale_down_idle_s` (the HPA's stabilisation window, and KEDA's cooldown before zero)."""
    family = _FAMILY.get(engine, "")
    names = {quantity: next((n for n in options if n.startswith(family)), options[0]) for quantity, options in SERIES.items()}
    selector = f'{{model_name="{model_name}"}}' if engine == "vllm" else ""
    series = {"requests": ["running", "waiting"], "queue": ["waiting"], "kv_cache": ["kv_cache_use"]}[plan.signal]
    query = " + ".join(f"sum({names[q]}{selector})" for q in series)
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"name": name},
            "minReplicaCount": plan.min_replicas,
            "maxReplicaCount": plan.max_replicas,
            "pollingInterval": math.ceil(plan.interval_s),
            "cooldownPeriod": math.ceil(plan.scale_down_idle_s),
            "advanced": {
                "horizontalPodAutoscalerConfig": {
                    "behavior": {"scaleDown": {"stabilizationWindowSeconds": math.ceil(plan.scale_down_idle_s)}}
                }
            },
            "triggers": [
                {
                    "type": "prometheus",
                    "metadata": {"serverAddress": PROMETHEUS_URL, "query": query, "threshold": f"{plan.target:g}"},
                }
            ],
        },
    }
