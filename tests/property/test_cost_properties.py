"""Cost never falls when an input price rises."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokenlane import build_deployment, builtin_catalog
from tokenlane.cost import hardware_cost
from tokenlane.scenario import Finance, Option

DEP = build_deployment(builtin_catalog(), hardware="ryzen-ai-max-395-128gb", model="gpt-oss-120b", quant="mxfp4-gguf", engine="llama.cpp")
OPTION = Option(name="box", kind="self_host", hardware="ryzen-ai-max-395-128gb", model="gpt-oss-120b")


@given(price=st.floats(0, 2), extra=st.floats(0.001, 2), replicas=st.integers(1, 16), pue=st.floats(1, 3), kwh=st.floats(1, 5000))
def test_dearer_electricity_never_lowers_self_host_cost(price: float, extra: float, replicas: int, pue: float, kwh: float) -> None:
    """Both ways power is priced: a replica's kWh from its simulated day, and a flat utilisation with the PUE."""
    for fin, per_replica in ((Finance(pue=pue), kwh), (Finance(pue=pue, utilization=0.5), None)):
        cheap = hardware_cost(
            DEP, OPTION, fin.model_copy(update={"electricity_usd_per_kwh": price}), replicas=replicas, kwh_per_replica_month=per_replica
        )
        dear = hardware_cost(
            DEP,
            OPTION,
            fin.model_copy(update={"electricity_usd_per_kwh": price + extra}),
            replicas=replicas,
            kwh_per_replica_month=per_replica,
        )
        assert dear.total_usd > cheap.total_usd
