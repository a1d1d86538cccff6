"""Fuzz: scenario documents and capacity arguments with wrong types, extremes, unicode, missing and extra keys.
Every run ends within seconds, in exit 0 or in exit 2 with one complete `tokenlane:` line per problem, never a
traceback."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.helpers import invoke

BASE: dict[str, Any] = {
    "name": "fuzz",
    "workload": {
        "users": 3,
        "active_hours": 0.5,
        "requests_per_user_hour": 6,
        "prompt_tokens": {"mean": 800, "p90": 2000},
        "output_tokens": 200,
        "batch_jobs": [{"name": "b", "requests": 20, "prompt_tokens": 500, "output_tokens": 20, "window_hours": 2}],
        "tasks": [{"name": "t", "share": 1.0, "pass_rates": {"box": 0.9}}],
        "slo": {"min_tok_s_per_user": 10, "max_ttft_s": 3},
    },
    "options": [
        {"name": "box", "kind": "self_host", "hardware": "dgx-spark", "model": "qwen3-8b", "quant": "q8_0", "engine": "llama.cpp"},
        {"name": "api", "kind": "api", "model": "m", "price": {"input_usd_per_mtok": 1, "output_usd_per_mtok": 4}},
    ],
    "finance": {"electricity_usd_per_kwh": 0.2},
    "constraints": {"data_residency": "none"},
}
PATHS = [
    ("name",),
    ("workload",),
    ("workload", "users"),
    ("workload", "active_hours"),
    ("workload", "requests_per_user_hour"),
    ("workload", "prompt_tokens"),
    ("workload", "prompt_tokens", "p90"),
    ("workload", "output_tokens"),
    ("workload", "batch_jobs", 0, "requests"),
    ("workload", "batch_jobs", 0, "output_tokens"),
    ("workload", "tasks", 0, "share"),
    ("workload", "tasks", 0, "pass_rates"),
    ("workload", "slo", "max_ttft_s"),
    ("workload", "think_time_s"),
    ("workload", "hourly_weights"),
    ("workload", "output_tokens", "values"),
    ("options", 0, "max_units"),
    ("options",),
    ("options", 0, "hardware"),
    ("options", 0, "gpus"),
    ("options", 0, "count"),
    ("options", 0, "engine"),
    ("options", 0, "context_tokens"),
    ("options", 1, "price", "input_usd_per_mtok"),
    ("options", 1, "kind"),
    ("finance", "electricity_usd_per_kwh"),
    ("finance", "amortization_years"),
    ("constraints", "data_residency"),
]
JUNK = st.one_of(
    st.sampled_from([-1, 0, 1e300, 10**15, -(10**15), "", "abc", "💥\u202e", [], {}, None, True, False, [[[[1]]]], 0.5, 2.5e-9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-3, max_value=10**9), max_size=4),
)


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any, *, delete: bool) -> None:
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if delete:
        node.pop(path[-1])
    else:
        node[path[-1]] = value


def _check(result: Any, started: float) -> None:
    assert time.monotonic() - started < 20, "a run took too long"
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines and all(line.startswith(("tokenlane: ", "tokenlane capacity: ")) for line in lines), lines


@settings(max_examples=60, deadline=None)
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), JUNK, st.booleans()), min_size=1, max_size=3),
    extra=st.one_of(st.none(), st.tuples(st.text(min_size=1, max_size=8), JUNK)),
)
def test_bad_scenarios_end_in_exit_0_or_one_line_per_problem(tmp_path_factory: Any, edits: list[Any], extra: Any) -> None:
    doc = copy.deepcopy(BASE)
    for path, value, delete in edits:
        try:
            _set(doc, path, value, delete=delete)
        except (KeyError, IndexError, TypeError, AttributeError):
            continue
    if extra is not None and isinstance(doc.get("workload"), dict):
        doc["workload"][extra[0]] = extra[1]
    path: Path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    for command in ("simulate", "cost"):
        started = time.monotonic()
        _check(invoke(command, str(path)), started)


@settings(max_examples=40, deadline=None)
@given(
    args=st.lists(
        st.tuples(
            st.sampled_from(
                ["--context", "--prompt-tokens", "--batch", "--gpus", "--hardware", "--model", "--quant", "--engine", "--routing-skew"]
            ),
            st.one_of(
                st.text(max_size=10), st.integers(min_value=-(10**13), max_value=10**13).map(str), st.sampled_from(["nan", "inf", "1,2,0"])
            ),
        ),
        max_size=3,
    )
)
def test_bad_capacity_arguments_end_in_exit_0_or_one_line(args: list[tuple[str, str]]) -> None:
    argv = ["capacity", "--json"]
    for option, value in args:
        argv += [option, value]
    started = time.monotonic()
    _check(invoke(*argv), started)
