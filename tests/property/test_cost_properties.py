"""Cost never falls when an input price rises."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokenlane import build_deployment, builtin_catalog
from tokenlane.cost import hardware_cost
from tokenlane.scenario import Finance, Option

DEP = build_deployment(builtin_catalog(), hardware="ryzen-ai-max-395-128gb", model="gpt-oss-120b", quant="mxfp4-gguf", engine="llama.cpp")
OPTION = Option(name="box", kind="self_host", hardware="ryzen-ai-max-395-128gb", model="gpt-oss-120b")


@given(price=st.floats(0, 2), extra=st.floats(0.001, 2), replicas=st.integers(1, 16), pue=st.floats(1, 3))
def test_dearer_electricity_never_lowers_self_host_cost(price: float, extra: float, replicas: int, pue: float) -> None:
    cheap = hardware_cost(DEP, OPTION, Finance(electricity_usd_per_kwh=price, pue=pue), replicas=replicas).total_usd
    dear = hardware_cost(DEP, OPTION, Finance(electricity_usd_per_kwh=price + extra, pue=pue), replicas=replicas).total_usd
    assert dear >= cheap
