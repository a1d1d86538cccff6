"""`tokenlane search`: the same results serial, pooled and on Ray; resumable; paper pruning and the Pareto front
hold their definitions; recipes carry the numbers that chose them; bad requests are one line."""

from __future__ import annotations

import json
import multiprocessing
import sys
import time
from pathlib import Path

import pytest

from tests.cli.helpers import assert_user_error, invoke
from tokenlane import builtin_catalog, load_scenario
from tokenlane.capacity import build_deployment, plan_memory
from tokenlane.catalog.support import unsupported
from tokenlane.errors import Cancelled
from tokenlane.plan import option_curve
from tokenlane.search import Bounds, Config, SearchProgress, SearchReport, load_results, recipe, run_search

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DESK = EXAMPLES / "desk-box.yaml"
BOUNDS = Bounds(models=("qwen3-30b-a3b", "qwen3-8b"), hardware=("dgx-spark", "rtx-4090", "ryzen-ai-max-395-128gb"), max_gpus=2)
CATALOG = builtin_catalog()


def _same(a: SearchReport, b: SearchReport) -> None:
    left, right = (r.model_dump(exclude={"seconds", "backend", "workers"}) for r in (a, b))
    assert left == right


@pytest.fixture(scope="module")
def serial_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the serial search wrote its results."""
    return tmp_path_factory.mktemp("serial") / "results.jsonl"


@pytest.fixture(scope="module")
def serial(serial_results: Path) -> SearchReport:
    return run_search(load_scenario(DESK), CATALOG, BOUNDS, backend="serial", results_path=serial_results)


def test_pooled_and_serial_searches_agree(serial: SearchReport) -> None:
    assert serial.configurations > 50 and serial.simulated > 10
    _same(serial, run_search(load_scenario(DESK), CATALOG, BOUNDS, backend="pool", workers=2))


def test_a_ray_search_on_a_local_two_cpu_instance_agrees() -> None:
    """On the first 80 configurations (70 simulated): the same as serial, at a third of the time of the whole space."""
    pytest.importorskip("ray")
    scenario = load_scenario(DESK)
    serial = run_search(scenario, CATALOG, BOUNDS, backend="serial", limit=80)
    assert serial.simulated > 50
    _same(serial, run_search(scenario, CATALOG, BOUNDS, backend="ray", workers=2, address="local", limit=80))


def test_an_interrupted_search_resumes_where_it_stopped(tmp_path: Path) -> None:
    """The resumed search is the uninterrupted one (exhaustive, so that every configuration is judged alike; a walk by
    bounds decides what to skip from what it has seen, see test_search_bounds.py)."""
    results = tmp_path / "results.jsonl"
    scenario = load_scenario(DESK)
    whole = run_search(scenario, CATALOG, BOUNDS, backend="serial", exhaustive=True, limit=40)
    run_search(scenario, CATALOG, BOUNDS, backend="serial", results_path=results, limit=20, exhaustive=True)
    with results.open("a") as fh:
        fh.write('{"key": "half a line')  # the interruption cut the last line short
    progress = SearchProgress()
    resumed = run_search(scenario, CATALOG, BOUNDS, backend="serial", results_path=results, limit=40, exhaustive=True, progress=progress)
    assert progress.total == progress.done == 20  # only what the file lacked
    _same(whole, resumed)
    assert len(load_results(results)) == 40  # the cut line is gone, every result reads back


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")  # the pool ends quietly
def test_a_cancelled_search_stops_at_the_next_result_and_keeps_what_it_judged(tmp_path: Path) -> None:
    """Cancel (the web page's button) from another thread: the next result raises Cancelled, the pool's workers end
    with the search, and the results file holds every configuration judged so far (a resume continues from there)."""
    results = tmp_path / "results.jsonl"

    def stop_after_three(p: SearchProgress) -> None:
        if p.done == 3:
            p.cancel()

    progress = SearchProgress(on_change=stop_after_three)
    with pytest.raises(Cancelled):
        run_search(load_scenario(DESK), CATALOG, BOUNDS, backend="pool", workers=2, results_path=results, progress=progress)
    assert progress.cancelled and progress.done == 3 and progress.total > 3
    assert len(load_results(results)) == 4  # the fourth was written before its count raised
    deadline = time.monotonic() + 10  # SIGTERM was sent; each worker is reaped once it has exited
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not multiprocessing.active_children()


def test_paper_pruning_and_the_front_hold_their_definitions(serial: SearchReport, serial_results: Path) -> None:
    rows = [json.loads(line) for line in serial_results.read_text().splitlines()]
    for row in rows:
        c = Config(**row["config"])
        dep = build_deployment(CATALOG, hardware=c.hardware, model=c.model, quant=c.quant, engine=c.engine, gpus=c.gpus)
        assert plan_memory(dep).fits == (row["reason"] != "does not fit in memory"), row["key"]
    front = {r.key for r in serial.pareto}
    meeting = [r for r in rows if r["status"] in ("eligible", "ineligible")]

    def vec(r: dict) -> tuple[float, float, float, float]:
        quality = r["quality_score"] if r["quality_score"] is not None else -1.0
        return (r["monthly_usd"], -r["tok_s_p95"], r["ttft_p95_s"], -quality)

    def beats(a: dict, b: dict) -> bool:
        return all(x <= y for x, y in zip(vec(a), vec(b), strict=True)) and vec(a) != vec(b)

    for r in meeting:
        dominated = any(beats(o, r) for o in meeting)
        assert dominated != (r["key"] in front), r["key"]
    cheapest = serial.cheapest
    assert cheapest is not None and cheapest.monthly_usd == min(r["monthly_usd"] for r in rows if r["status"] == "eligible")
    assert sum(serial.outcomes.values()) == serial.configurations == len(rows)


def test_a_recipe_traces_each_setting_to_the_capacity_model() -> None:
    scenario = load_scenario(EXAMPLES / "team-assistant.yaml")
    config = Config("h100-sxm", "llama-3.3-70b", "fp8", "vllm", 2, "cloud_gpu")
    found = recipe(config, scenario, CATALOG, replicas=3)
    curve = option_curve(CATALOG, config.option(), scenario.workload, (1,))
    assert curve is not None
    flags = {s.flag: s for s in found.settings}
    assert flags["--tensor-parallel-size"].value == "2"
    assert flags["--max-num-seqs"].value == str(curve.max_concurrent_sequences)
    assert "KV cache" in flags["--max-num-seqs"].why and "--enable-prefix-caching" in flags  # the scenario shares a prefix
    assert found.command.startswith("vllm serve meta-llama/Llama-3.3-70B-Instruct") and "--quantization fp8" in found.command
    assert found.replicas == 3 and found.bench.startswith("tokenlane bench http://127.0.0.1:8000/v1")
    llama = recipe(Config("rtx-4090", "qwen3-8b", "q4_k_m", "llama.cpp", 1, "self_host"), scenario, CATALOG, replicas=1)
    slots, context = (int({s.flag: s for s in llama.settings}[f].value) for f in ("-np", "-c"))
    assert context % slots == 0 and context // slots >= 4000  # every slot holds the p99 request


def test_search_cli_prints_the_pick_and_writes_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["search", str(DESK), "--models", "qwen3-8b", "--hardware", "rtx-4090,dgx-spark", "--max-gpus", "1", "--workers", "1"]
    result = invoke(*args, "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "Cheapest meeting the SLO" in result.stdout and "Recipe" in result.stdout and "…" not in result.stdout
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["search"]["cheapest"]["key"] and any(o["name"] == "search-best" for o in doc["options"])
    assert doc["robustness"] is not None  # the speed interval's ends checked, as `tokenlane plan` checks them
    assert 'id="search-pareto"' in (tmp_path / "report.html").read_text()


def test_a_space_emptied_by_constraints_says_why_and_exits_zero(tmp_path: Path) -> None:
    scenario = tmp_path / "onprem.yaml"
    assert "constraints" not in DESK.read_text()
    scenario.write_text(DESK.read_text() + "constraints: {data_residency: on_prem}\n")  # rented GPUs are not on premises
    result = invoke(
        "search", str(scenario), "--kinds", "cloud_gpu", "--models", "qwen3-8b", "--hardware", "h100-sxm", "--out", str(tmp_path / "r")
    )
    assert result.exit_code == 0, result.stderr
    assert "residency" in result.stdout and "No configuration meets the SLO" in result.stdout


def test_search_mistakes_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["search", str(DESK), "--models", "qwen3-8b", "--hardware", "rtx-4090", "--max-gpus", "1", "--no-report"]
    assert_user_error(
        invoke("search", str(DESK), "--models", "llama-3.1-405b", "--hardware", "rtx-4090", "--max-gpus", "1"), "--models", "llama-3.1-405b"
    )
    assert_user_error(invoke(*base[:3], "no-such-model"), "--models", "no-such-model")
    assert_user_error(invoke(*base, "--kinds", "leased"), "--kinds")
    assert_user_error(invoke(*base, "--ray", "127.0.0.1:1"), "--ray", "cannot reach")
    monkeypatch.setitem(sys.modules, "ray", None)
    assert_user_error(invoke(*base, "--ray", "local"), "--ray", "pip install")


ON_PREM_BAR = """name: analysts on premises with a quality bar
workload: {users: 12, active_hours: 2, requests_per_user_hour: 4, prompt_tokens: 1500, output_tokens: 300,
           quality: {benchmark: mmlu-pro, min_score: 75}, slo: {min_tok_s_per_user: 10, max_ttft_s: 5}}
constraints: {data_residency: on_prem}
options:
  - {name: box, kind: self_host, hardware: ryzen-ai-max-395-128gb, model: qwen3.5-35b-a3b, quant: q4_k_m, engine: llama.cpp}
"""


def test_a_search_with_a_quality_bar_proposes_only_what_runs_and_meets_it(tmp_path: Path) -> None:
    """Done-means (b) of the quality issue: no engine x device x format that does not run, no 2-bit quant, and a pick
    whose effective score meets the bar; what was left out is counted among the reasons."""
    path = tmp_path / "s.yaml"
    path.write_text(ON_PREM_BAR)
    bounds = Bounds(
        models=("qwen3.5-35b-a3b", "llama-3.1-8b"),
        hardware=("ryzen-ai-max-395-128gb", "rtx-4090", "dgx-spark", "m4-max-128gb"),
        max_gpus=1,
        kinds=("self_host",),
    )
    results = tmp_path / "r.jsonl"
    found = run_search(load_scenario(path), CATALOG, bounds, backend="serial", results_path=results)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    for row in rows:
        c = row["config"]
        quant = CATALOG.quants[c["quant"]]
        assert unsupported(CATALOG.hardware[c["hardware"]], CATALOG.engines[c["engine"]], quant) is None, row["key"]
        assert quant.id not in ("q2_k",), row["key"]
        if row["status"] in ("eligible", "ineligible"):
            assert row["quality_score"] is not None and row["quality_score"] >= 75, row["key"]
    assert {r["config"]["model"] for r in rows if r["status"] == "pruned" and r["reason"].startswith("quality bar")} == {"llama-3.1-8b"}
    pick = found.cheapest
    assert pick is not None and pick.quality_score is not None and pick.quality_score >= 75
    assert pick.quality_benchmark == "mmlu-pro"
    assert any(reason.startswith("not supported: sglang on amd rdna3.5") for reason in found.reasons)
    assert any(reason.startswith("not supported: nvfp4 on nvidia ada") for reason in found.reasons)
    assert any(reason.startswith("2-bit quant") for reason in found.reasons)
    assert found.not_enumerated == sum(n for reason, n in found.reasons.items() if reason.startswith(("not supported", "2-bit")))


def _day(scenario, config: Config, replicas: int):
    from tokenlane.simulate import DayRuns

    option = config.option(name="c").model_copy(update={"count": replicas})
    alone = scenario.model_copy(update={"options": [option]})
    return DayRuns(alone, CATALOG, keep_logs=False).day("c")


BUDGETED = """name: many users, a budget
workload: {users: 200, active_hours: 1, requests_per_user_hour: 10, prompt_tokens: 800, output_tokens: 300,
           slo: {min_tok_s_per_user: 20, max_ttft_s: 2}}
constraints: {max_budget_usd_per_month: 6000}
options:
  - {name: box, kind: self_host, hardware: rtx-4090, model: qwen3-8b, quant: q4_k_m, engine: llama.cpp, max_units: 4}
"""


def test_every_pruned_configuration_fails_for_the_reason_given(tmp_path: Path) -> None:
    """Paper checks prune before simulating; each prune must be one simulation would confirm: one stream too slow or a
    first token too late on one replica, the busiest hour beyond the most replicas allowed, the budget at the fewest
    replicas that could carry it. A prune made more eager than the physics fails here."""
    budgeted = tmp_path / "b.yaml"
    budgeted.write_text(BUDGETED)
    many = load_scenario(budgeted)
    bounds = Bounds(models=("qwen3-8b",), hardware=("rtx-4090", "dgx-spark", "h100-sxm"), max_gpus=1, kinds=("self_host",))
    checked: dict[str, int] = {}
    for scenario, b in ((many, bounds),):
        results = tmp_path / f"{scenario.name}.jsonl"
        run_search(scenario, CATALOG, b, backend="serial", results_path=results)
        slo = scenario.workload.slo
        for row in map(json.loads, results.read_text().splitlines()):
            reason, config = row["reason"] or "", Config(**row["config"])
            if row["status"] != "pruned" or checked.get(reason.split(" ")[0], 0) >= 6:
                continue
            if reason.startswith("one stream decodes under"):
                alone = _day(scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"users": 1})}), config, 1)
                assert alone.per_user_tok_s.p50 is not None and alone.per_user_tok_s.p50 < slo.min_tok_s_per_user, row["key"]
            elif reason.startswith("one mean prompt's first token"):
                alone = _day(scenario.model_copy(update={"workload": scenario.workload.model_copy(update={"users": 1})}), config, 1)
                assert alone.ttft_s.p50 is not None and alone.ttft_s.p50 > slo.max_ttft_s, row["key"]
            elif reason.startswith("the busiest hour needs over"):
                limit = config.option().max_units
                assert not _day(scenario, config, limit).meets_slo, row["key"]
            elif reason.startswith("over the budget"):
                from tokenlane.cost import hardware_cost
                from tokenlane.search.space import paper_check

                dep = build_deployment(CATALOG, hardware=config.hardware, model=config.model, quant=config.quant, engine=config.engine)
                fewest = paper_check(
                    config,
                    scenario.model_copy(update={"constraints": scenario.constraints.model_copy(update={"max_budget_usd_per_month": None})}),
                    CATALOG,
                ).min_replicas
                assert hardware_cost(dep, config.option(), scenario.finance, replicas=fewest).total_usd > 6000, row["key"]
            else:
                continue
            checked[reason.split(" ")[0]] = checked.get(reason.split(" ")[0], 0) + 1
    assert checked.get("one", 0) >= 3 and checked.get("over", 0) + checked.get("the", 0) >= 1, checked


@pytest.mark.parametrize("margin", [0.98, 1.02])
def test_paper_checks_prune_exactly_at_their_thresholds(tmp_path: Path, margin: float) -> None:
    """Each paper check set right beside a configuration's own figure: an SLO 2% under one stream's speed (or a TTFT
    bound 2% over one prompt's first token, a budget 2% over the fewest replicas' cost) keeps it; 2% the other way
    prunes it. A check made more eager than its threshold fails the first half."""
    from tokenlane.cost import hardware_cost
    from tokenlane.search.space import paper_check

    config = Config("rtx-4090", "qwen3-8b", "q4_k_m", "llama.cpp", 1, "self_host")
    path = tmp_path / "s.yaml"
    path.write_text(BUDGETED)
    scenario = load_scenario(path)
    one = option_curve(CATALOG, config.option(), scenario.workload, (1,)).points[0]
    w, c = scenario.workload, scenario.constraints
    speed = scenario.model_copy(
        update={
            "workload": w.model_copy(
                update={"slo": w.slo.model_copy(update={"min_tok_s_per_user": one.stream_tok_s * margin, "max_ttft_s": 1e3})}
            ),
            "constraints": c.model_copy(update={"max_budget_usd_per_month": None}),
        }
    )
    assert (paper_check(config, speed, CATALOG).reason is None) == (margin < 1), margin
    ttft = speed.model_copy(
        update={
            "workload": speed.workload.model_copy(
                update={"slo": speed.workload.slo.model_copy(update={"min_tok_s_per_user": 1.0, "max_ttft_s": one.ttft_ms / 1000 / margin})}
            )
        }
    )
    assert (paper_check(config, ttft, CATALOG).reason is None) == (margin < 1), margin
    fewest = paper_check(
        config,
        ttft.model_copy(
            update={"workload": ttft.workload.model_copy(update={"slo": ttft.workload.slo.model_copy(update={"max_ttft_s": 1e3})})}
        ),
        CATALOG,
    ).min_replicas
    dep = build_deployment(CATALOG, hardware=config.hardware, model=config.model, quant=config.quant, engine=config.engine)
    cost = hardware_cost(dep, config.option(), scenario.finance, replicas=fewest).total_usd
    budget = ttft.model_copy(
        update={
            "workload": ttft.workload.model_copy(update={"slo": ttft.workload.slo.model_copy(update={"max_ttft_s": 1e3})}),
            "constraints": c.model_copy(update={"max_budget_usd_per_month": cost / margin}),
        }
    )
    assert (paper_check(config, budget, CATALOG).reason is None) == (margin < 1), margin
