"""What the planner page works on: the scenario it opened on, the files it may read, and its answers.

Every answer comes from the library calls the CLI makes (`parse_scenario`, `check_scenario`, `plan_scenario`,
`option_curve`, the report's renderers), so the YAML the page downloads gives the same verdict with `tokenlane plan`.
The page reads no file but the logs and measured curves its opening scenario names and the traces uploaded to it.
"""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml

from tokenlane.catalog import Catalog
from tokenlane.errors import InputError, ScenarioError, TokenlaneError
from tokenlane.plan import PlanReport, check_scenario, option_curve, plan_scenario
from tokenlane.report import figures, render_body, render_html, render_markdown
from tokenlane.scenario import FINANCE_SOURCES, Finance, Scenario, parse_scenario, read_referenced_files, referenced_files

MAX_REQUESTS_PER_DAY = 300_000
"""Most requests a day the page simulates (a plan of that size takes about ten seconds on two cores); larger days
are refused with this limit named: run `tokenlane plan` for them."""
MAX_UPLOAD_BYTES = 64 << 20
"""Largest trace the page accepts, bytes."""
MAX_SHARE_BYTES = 64 << 10
"""Largest scenario a share link may carry once decompressed, bytes."""
PREVIEW_USERS = (1, 8, 32)
"""Concurrent users the capacity preview shows per-user speed for."""
KEPT_PLANS = 8
_WHERE = re.compile(r"^(?:line \d+: )?(?P<field>[A-Za-z_][\w.\[\]\-]*): (?P<message>.*)$")


def problems_of(exc: TokenlaneError) -> list[dict[str, str]]:
    """Each line of a user error as {field, message}; field is the dotted scenario field where the line names one."""
    out = []
    for line in [exc.message, *exc.more]:
        m = _WHERE.match(line)
        out.append({"field": m["field"], "message": m["message"]} if m else {"field": exc.field or "", "message": line})
    return out


class Workspace:
    """The page's scenario folder, readable files and recent plans."""

    def __init__(self, catalog: Catalog, initial_yaml: str, folder: Path) -> None:
        self.catalog = catalog
        self.initial_yaml = initial_yaml
        self.folder = folder
        self.uploads = Path(tempfile.mkdtemp(prefix="tokenlane-serve-"))
        self._plans: OrderedDict[str, PlanReport] = OrderedDict()
        opened = parse_scenario(initial_yaml, "scenario")
        self.catalog_files = opened.catalog
        self.allowed = {self._resolve(f.path) for f in referenced_files(opened)}
        self.allowed |= {self._resolve(o.measured) for o in opened.options if o.measured}

    def _resolve(self, path: str) -> Path:
        p = Path(path)
        return (p if p.is_absolute() else self.folder / p).resolve()

    def _readable(self, path: str, where: str) -> Path:
        resolved = self._resolve(path)
        if resolved not in self.allowed and resolved.parent != self.uploads.resolve():
            raise ScenarioError(f"{where}: the page reads only the files its opening scenario names and uploaded traces")
        return resolved

    def scenario(self, raw: dict[str, Any] | str) -> Scenario:
        """The scenario the page holds (a mapping, or YAML text), validated, checked and with its files read, as
        `tokenlane plan` would have it; ScenarioError lists every problem."""
        text = raw if isinstance(raw, str) else yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
        scenario = parse_scenario(text, "scenario")
        if scenario.catalog != self.catalog_files:
            raise ScenarioError("catalog: the page keeps the catalog files it was started with; restart `tokenlane serve` to change them")
        for o in scenario.options:
            if o.gguf:
                raise ScenarioError(f"options[{o.name}].gguf: the page reads no GGUF files; run `tokenlane plan` on the downloaded YAML")
        for f in referenced_files(scenario):
            self._readable(f.path, "workload trace or {from: ...} path")
        for o in scenario.options:
            if o.measured:
                self._readable(o.measured, f"options[{o.name}].measured")
        loaded = read_referenced_files(scenario, self.folder)
        check_scenario(loaded, self.catalog, base_dir=self.folder)
        size = loaded.workload.expected_requests_per_day
        if size > MAX_REQUESTS_PER_DAY:
            raise ScenarioError(
                f"workload: about {size:,.0f} requests a day; the page simulates at most {MAX_REQUESTS_PER_DAY:,} "
                "(run `tokenlane plan` on the downloaded YAML for larger days)"
            )
        return loaded

    def preview(self, scenario: Scenario) -> list[dict[str, Any]]:
        """Paper capacity of each self-hosted option, no simulation: fit, memory, concurrency, per-user speed."""
        rows = []
        for o in scenario.options:
            if o.kind == "api":
                rows.append({"option": o.name, "kind": o.kind, "note": f"{o.provider}/{o.model}: priced once the day is simulated"})
                continue
            curve = option_curve(self.catalog, o, scenario.workload, PREVIEW_USERS)
            if curve is None:
                rows.append({"option": o.name, "kind": o.kind, "fits": False, "note": f"{o.model} does not fit {o.hardware}"})
                continue
            rows.append(
                {
                    "option": o.name,
                    "kind": o.kind,
                    "fits": True,
                    "weights_gb": round(curve.weights_gb, 1),
                    "max_sequences": curve.max_concurrent_sequences,
                    "per_user_tok_s": {p.batch: round(p.per_user_tok_s, 1) for p in curve.points},
                }
            )
        return rows

    def plan(self, scenario: Scenario) -> PlanReport:
        """The plan `tokenlane plan` makes (seed 0); the last few are kept by scenario."""
        key = scenario.model_dump_json()
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        measured = {}
        if any(o.measured for o in scenario.options):
            from tokenlane.bench import load_measured_curve  # aiohttp is heavy: only when asked

            measured = {o.name: load_measured_curve(self._resolve(o.measured)) for o in scenario.options if o.measured}
        plan = plan_scenario(scenario, self.catalog, seed=0, measured=measured, check_speed=True)
        self._plans[key] = plan
        while len(self._plans) > KEPT_PLANS:
            self._plans.popitem(last=False)
        return plan

    def upload(self, name: str, data: bytes) -> str:
        """Keep an uploaded trace; returns the path a scenario names it by."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[:100] or "trace"
        if len(data) > MAX_UPLOAD_BYTES:
            raise InputError(f"the trace is larger than {MAX_UPLOAD_BYTES >> 20} MiB", field="upload")
        path = self.uploads / safe
        path.write_bytes(data)
        return str(path)


def plan_view(plan: PlanReport) -> dict[str, Any]:
    """What the page shows of a plan: the verdict, the report's body with chart slots, and the charts as Plotly JSON."""
    drawn = figures(plan)
    v = plan.verdict
    return {
        "title": "No option qualifies" if v.recommendation == "none" else v.label,
        "recommendation": v.recommendation,
        "option": v.option,
        "rule": v.rule,
        "body": render_body(plan, [f'<div class="chart" id="{name}"></div>' for name, _ in drawn]),
        "figures": {name: fig.to_plotly_json() for name, fig in drawn},
    }


def report_file(plan: PlanReport, fmt: str) -> tuple[str, str]:
    """(content, media type) of the report in `fmt` (html, md, json)."""
    if fmt == "html":
        return render_html(plan), "text/html"
    if fmt == "md":
        return render_markdown(plan), "text/markdown"
    return plan.model_dump_json(indent=2), "application/json"


def share_token(yaml_text: str) -> str:
    """The scenario as a URL-safe token (zlib, base64url)."""
    return base64.urlsafe_b64encode(zlib.compress(yaml_text.encode(), 9)).decode().rstrip("=")


def from_share_token(token: str) -> str:
    """The scenario YAML a share token carries; InputError for a token that is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        text = inflater.decompress(raw, MAX_SHARE_BYTES)
        if inflater.unconsumed_tail:
            raise InputError(f"the shared scenario is larger than {MAX_SHARE_BYTES >> 10} KiB", field="s")
        return text.decode()
    except (binascii.Error, zlib.error, UnicodeDecodeError, ValueError) as exc:
        raise InputError("not a scenario link made by this page", field="s") from exc


def finance_fields() -> list[dict[str, Any]]:
    """The finance assumptions the form shows: name, default and source."""
    defaults = Finance()
    return [
        {"name": name, "default": getattr(defaults, name), "source": source}
        for name, source in FINANCE_SOURCES.items()
        if isinstance(getattr(defaults, name), int | float) or getattr(defaults, name) is None
    ]
