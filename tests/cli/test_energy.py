"""Energy and carbon: power by what each step does (by hand), the electricity bill from the same kWh, emissions by
where it runs, APIs' published figures or "not published", the emissions limit, and a bad grid refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import builtin_catalog, load_scenario
from tokenlane.cost.energy import device_joules
from tokenlane.cost.tco import DAYS_PER_MONTH
from tokenlane.plan.days import price_scenario

CATALOG = builtin_catalog()
SERVER = """
name: one 8xH100 server
workload:
  users: {users}
  active_hours: 9
  requests_per_user_hour: 6
  prompt_tokens: {{mean: 1500, p90: 4000}}
  output_tokens: {{mean: 400, p90: 900}}
  difficulty: narrow
{extra}
options:
  - {{name: paris, kind: self_host, hardware: h100-sxm-8x, model: llama-3.3-70b, quant: fp8, grid: fr}}
  - {{name: warsaw, kind: self_host, hardware: h100-sxm-8x, model: llama-3.3-70b, quant: fp8, grid: pl}}
  - {{name: sonnet, kind: api, provider: anthropic, model: claude-sonnet-4-6}}
  - {{name: gemini, kind: api, provider: google, model: gemini-2.5-flash}}
"""


def _scenario(tmp_path: Path, *, users: int = 200, extra: str = "") -> Path:
    path = tmp_path / "server.yaml"
    path.write_text(SERVER.format(users=users, extra=extra))
    return path


def test_power_by_state_by_hand() -> None:
    """An H100 with its host share (1,100 W): the GPU draws 10.7% / 54.3% / 100% of its 700 W idle / decoding /
    prefilling, the host's 400 W half while idle and all while stepping."""
    hbm = CATALOG.power_profiles["hbm"]
    assert hbm.watts(1100, "idle") == pytest.approx(1100 * (0.636 * 0.107 + 0.364 * 0.5))
    assert hbm.watts(1100, "decode") == pytest.approx(1100 * (0.636 * 0.543 + 0.364))
    assert hbm.watts(1100, "prefill") == pytest.approx(1100.0)
    joules = device_joules(hbm, 1100, prefill_s=10, decode_s=100, idle_s=1000)
    assert joules == pytest.approx(10 * 1100 + 100 * hbm.watts(1100, "decode") + 1000 * hbm.watts(1100, "idle"))
    assert hbm.watts(1100, "idle") < hbm.watts(1100, "decode") < hbm.watts(1100, "prefill")


def test_a_month_of_kwh_is_the_simulated_day_by_hand_and_the_bill_prices_it(tmp_path: Path) -> None:
    """kWh = (workdays x the day's device energy by state + the other days idle) x PUE; the electricity line is
    exactly those kWh at the price."""
    spec = load_scenario(_scenario(tmp_path))
    report = price_scenario(spec, CATALOG, workers=1)
    paris = next(o for o in report.options if o.name == "paris")
    day, energy, bill = paris.simulation, paris.energy, paris.breakdown
    assert day is not None and energy is not None and bill is not None and energy.kwh_per_month is not None
    hbm = CATALOG.power_profiles["hbm"]
    finance = spec.finance
    devices, watts = 8 * paris.replicas, 1275.0
    day_s = max(24.0, day.simulated_hours) * 3600 * paris.replicas
    busy, prefill = day.busy_replica_s, day.prefill_replica_s
    workday_j = 8 * (
        watts * (hbm.prefill * 0.636 + 0.364) * prefill
        + hbm.watts(watts, "decode") * (busy - prefill)
        + hbm.watts(watts, "idle") * (day_s - busy)
    )
    idle_j = devices * hbm.watts(watts, "idle") * 24 * 3600
    kwh = (finance.workdays_per_month * workday_j + (DAYS_PER_MONTH - finance.workdays_per_month) * idle_j) * finance.pue / 3.6e6
    assert energy.kwh_per_month == pytest.approx(kwh, rel=1e-9)
    assert bill.power_usd == pytest.approx(energy.kwh_per_month * finance.electricity_usd_per_kwh, rel=1e-12)
    assert energy.wh_per_1k_output_tokens == pytest.approx(energy.kwh_per_month * 1e6 / (day.output_tokens * finance.workdays_per_month))


def test_more_load_draws_more_energy(tmp_path: Path) -> None:
    light = price_scenario(load_scenario(_scenario(tmp_path, users=20)), CATALOG, workers=1)
    heavy = price_scenario(load_scenario(_scenario(tmp_path, users=300)), CATALOG, workers=1)
    kwh = [next(o for o in r.options if o.name == "paris").energy.kwh_per_month for r in (light, heavy)]  # type: ignore[union-attr]
    assert kwh[0] is not None and kwh[1] is not None and kwh[1] > kwh[0]


def test_the_same_server_in_france_and_in_poland(tmp_path: Path) -> None:
    """Equal kWh, in the range an 8xH100 server at office-hours load draws; Poland's grid emits over 5x France's;
    an API without a published figure says so, one with a figure states its method."""
    doc = invoke("plan", str(_scenario(tmp_path)), "--json", "--no-report").json()
    energy = {o["name"]: o["energy"] for o in doc["options"]}
    paris, warsaw = energy["paris"], energy["warsaw"]
    assert paris["kwh_per_month"] == pytest.approx(warsaw["kwh_per_month"])
    assert 2_000 <= paris["kwh_per_month"] <= 10_000
    assert (paris["grid"], warsaw["grid"]) == ("fr", "pl")
    assert warsaw["kgco2e_per_month"] >= 5 * paris["kgco2e_per_month"]
    assert warsaw["kgco2e_per_month"] == pytest.approx(warsaw["kwh_per_month"] * warsaw["grid_gco2_per_kwh"] / 1000)
    assert energy["sonnet"]["kwh_per_month"] is None and energy["sonnet"]["source"].startswith("not published")
    assert energy["gemini"]["kwh_per_month"] is not None and "per request" in energy["gemini"]["source"]
    for block in energy.values():
        assert set(block) >= {
            "kwh_per_month",
            "wh_per_1k_output_tokens",
            "kgco2e_per_month",
            "kgco2e_embodied_per_month",
            "grid",
            "grid_gco2_per_kwh",
            "source",
        }


def test_an_emissions_limit_is_respected_with_a_reason(tmp_path: Path) -> None:
    """A limit between the two sites' emissions: Warsaw is out with both numbers, an API that publishes nothing is
    out because it cannot show it meets it, and the verdict states the chosen option's emissions."""
    path = _scenario(tmp_path, extra="constraints: {max_kgco2e_per_month: 600}")
    doc = invoke("plan", str(path), "--json", "--no-report").json()
    by_name = {o["name"]: o for o in doc["options"]}
    assert not by_name["warsaw"]["eligible"]
    assert any("against a limit of 600" in issue for issue in by_name["warsaw"]["issues"])
    assert any("emissions are not known" in issue for issue in by_name["sonnet"]["issues"])
    assert by_name["paris"]["eligible"] or by_name["gemini"]["eligible"]
    chosen = doc["verdict"]["option"]
    assert chosen in {"paris", "gemini"}
    assert any(f"{chosen} emits" in r and "within the limit of 600" in r for r in doc["verdict"]["reasons"])


def test_grids_resolve_from_the_option_the_region_or_the_site() -> None:
    assert CATALOG.grid("eu-frankfurt").id == "de"
    assert CATALOG.grid("us-east-1").id == "us"
    assert CATALOG.grid("uk").id == "gb"
    assert CATALOG.grid("eu-somewhere").id == "eu"


@pytest.mark.parametrize(("where", "field"), [("grid: mars", "options[paris].grid"), ("finance", "finance.grid")])
def test_an_unknown_grid_exits_2_with_one_line(tmp_path: Path, where: str, field: str) -> None:
    path = _scenario(tmp_path, extra="finance: {grid: atlantis}" if where == "finance" else "")
    if where != "finance":
        path.write_text(path.read_text().replace("grid: fr", where))
    assert_user_error(invoke("plan", str(path), "--no-report"), str(path), field, "unknown grid id")
