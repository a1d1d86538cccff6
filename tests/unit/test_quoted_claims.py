"""Quoted speeds (a scenario's `claims`) against the capacity model at the quoted concurrency."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane.capacity import CurvePoint
from tokenlane.plan.claims import QUOTE_AGREEMENT, _quote_claims
from tokenlane.scenario import SpeedClaim

POINT = CurvePoint(
    batch=20, context=2400, running=20, queued=0, decode_step_ms=10.0, stream_tok_s=100.0, per_user_tok_s=100.0,
    aggregate_tok_s=2000.0, ttft_ms=50.0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("quote", "holds"),
    [
        ({"tok_s": 100 * (1 + QUOTE_AGREEMENT) - 1}, True),
        ({"tok_s": 100 * (1 + QUOTE_AGREEMENT) + 1}, False),
        ({"tok_s": [90, 110]}, True),
        ({"tok_s": [50, 100], "per": "total"}, False),  # 2,000 tok/s in total is 28x above the range's middle
        ({"tok_s": [1500, 2500], "per": "total"}, True),
    ],
)
def test_a_quote_holds_within_its_range_or_a_quarter_of_the_model(quote: dict, holds: bool) -> None:
    claim = SpeedClaim.model_validate({"option": "box", "users": 20, **quote})
    (checked,) = _quote_claims([(claim, POINT)])
    assert checked.holds is holds


def test_the_finding_says_how_far_off_a_quote_is() -> None:
    claim = SpeedClaim(option="box", tok_s=[50, 100], per="total", users=20, source="a pitch")
    (checked,) = _quote_claims([(claim, POINT)])
    assert checked.claim == "box gives 50-100 tok/s in total with 20 users (a pitch)"
    assert "2,000 in total" in checked.finding and f"{2000 / (50 * 100) ** 0.5:.1f}x above" in checked.finding
    (missing,) = _quote_claims([(claim, None)])
    assert not missing.holds and "does not fit" in missing.finding


def test_a_plan_checks_the_seeds_sixteen_gpu_quote(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: t\nworkload: {users: 20, active_hours: 0.5}\noptions:\n"
        "  - {name: big, kind: cloud_gpu, hardware: h100-sxm-8x, nodes: 2, model: qwen3.5-397b-a17b, quant: fp8}\n"
        "claims:\n  - {option: big, tok_s: [50, 100], per: total, users: 20}\n"
    )
    doc = invoke("plan", str(scenario), "--json", "--no-report").json()
    quoted = next(c for c in doc["claims"] if "50-100" in c["claim"])
    assert not quoted["holds"] and "20 streams running" in quoted["finding"]


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ("{option: nope, tok_s: 10}", "names no self_host or cloud_gpu option"),
        ("{option: api, tok_s: 10}", "names no self_host or cloud_gpu option"),
        ("{option: big, tok_s: [100, 50]}", "[low, high]"),
        ("{option: big, tok_s: [1, 2, 3]}", "tok_s"),
    ],
)
def test_bad_claims_are_one_line_errors(tmp_path: Path, claim: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: t\nworkload: {users: 5}\noptions:\n"
        "  - {name: big, kind: cloud_gpu, hardware: h100-sxm, model: llama-3.1-8b}\n"
        "  - {name: api, kind: api, provider: anthropic, model: claude-sonnet-4-5}\n"
        f"claims:\n  - {claim}\n"
    )
    assert_user_error(invoke("plan", str(scenario)), message)
