"""`tokenlane serve`: the planner as a local web page (FastAPI, server-rendered, a little plain JavaScript).

Routes: GET / (the page; `?s=` opens a shared scenario), GET /plotly.js, and JSON endpoints the page calls with the
scenario it holds: /api/check (validation and the paper capacity preview, no simulation), /api/plan (the simulated
day and the verdict), /api/parse (YAML text to the scenario), /api/share, /api/download/{yaml,html,md,json},
/api/upload (a trace), and a catalog search: POST /api/search starts one, GET /api/search/{id} reads its progress and
result, POST /api/search/{id}/cancel stops it. Problems come back as 422 with one {field, message} per problem: the
CLI's own lines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import jinja2
import yaml
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from plotly.offline import get_plotlyjs
from pydantic import BaseModel, ConfigDict, Field

from tokenlane.asgi import BodyLimit
from tokenlane.catalog import Catalog
from tokenlane.cost import priced_models
from tokenlane.errors import TokenlaneError
from tokenlane.scenario import parse_scenario
from tokenlane.search import bounds_for, check_search
from tokenlane.serve.searches import Searches, SearchJob, search_view
from tokenlane.serve.workspace import (
    MAX_UPLOAD_BYTES,
    Workspace,
    finance_fields,
    from_share_token,
    plan_view,
    problems_of,
    report_file,
    share_token,
)
from tokenlane.yaml_input import load_yaml

MAX_BODY_BYTES = 1 << 20
"""Largest JSON request, bytes (uploads have their own limit)."""
_ENV = jinja2.Environment(loader=jinja2.PackageLoader("tokenlane.serve", "templates"), autoescape=jinja2.select_autoescape(["html"]))


class ScenarioBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any]


class SearchBody(BaseModel):
    """A search of the catalog for the page's scenario: `tokenlane search`'s options, the same defaults."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any]
    models: str | None = None
    hardware: str | None = None
    max_gpus: int = Field(default=8, ge=1, le=8)
    kinds: str = "self_host,cloud_gpu"


class YamlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    yaml: str


def _problems(exc: TokenlaneError) -> JSONResponse:
    return JSONResponse({"problems": problems_of(exc)}, status_code=422)


def _parsed(text: str, path: str) -> Any:
    """The scenario text as data for the page, once it validates as a scenario (the loader's limits included)."""
    parse_scenario(text, path)
    return load_yaml(text, path)[0]


def _yaml(raw: dict[str, Any]) -> str:
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""The names the page answers to unless `--host` adds one."""


def host_name(value: str) -> str:
    """The host of a `Host` header or an origin's netloc, without its port: `[::1]:8765` -> `::1`."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostGuard:
    """ASGI middleware against DNS rebinding and cross-site posts: a request whose `Host` is not one the page serves
    gets 421, and a POST whose `Origin` is another site's gets 403 (a page the user visits elsewhere cannot drive this
    one; Ollama fixed the same hole in 2024, CVE-2024-28224)."""

    def __init__(self, app: Any, *, hosts: tuple[str, ...]) -> None:
        self.app = app
        self.hosts = {host_name(h) for h in hosts}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        if host_name(headers.get("host", "")) not in self.hosts:
            await JSONResponse({"problems": [{"field": "", "message": "unknown Host: this page answers only to its own address"}]}, 421)(
                scope, receive, send
            )
            return
        origin = headers.get("origin")
        if scope.get("method") == "POST" and origin is not None and host_name(urlsplit(origin).netloc) not in self.hosts:
            await JSONResponse({"problems": [{"field": "", "message": "cross-site request refused (Origin)"}]}, 403)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(catalog: Catalog, initial_yaml: str, folder: Path, *, hosts: tuple[str, ...] = LOOPBACK_HOSTS) -> FastAPI:
    """The app for one workspace: `initial_yaml` is the scenario the page opens on, `folder` the folder its relative
    paths are read from, `hosts` the names it answers to (a `Host` or `Origin` naming another is refused)."""
    space = Workspace(catalog, initial_yaml, folder)
    searches = Searches(catalog)
    app = FastAPI(title="tokenlane serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, max_bytes=MAX_UPLOAD_BYTES)
    app.add_middleware(HostGuard, hosts=hosts)
    plotly_js = get_plotlyjs()

    @app.middleware("http")
    async def json_limit(request: Request, call_next: Any) -> Response:
        declared = request.headers.get("content-length")
        if request.url.path != "/api/upload" and declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"problems": [{"field": "", "message": f"the request is larger than {MAX_BODY_BYTES:,} bytes"}]}, 413)
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse)
    async def page(s: str | None = None) -> HTMLResponse:
        text, note = space.initial_yaml, ""
        if s is not None:
            try:
                text = from_share_token(s)
                state = await run_in_threadpool(_parsed, text, "shared scenario")
            except TokenlaneError as exc:
                text, note = space.initial_yaml, f"The shared link could not be opened ({exc.one_line()}); showing the opening scenario."
        if s is None or note:
            state = await run_in_threadpool(lambda: load_yaml(text, "scenario")[0])  # the opening scenario, as it was given
        boot = {
            "scenario": state,
            "catalog": {
                "hardware": sorted(catalog.hardware),
                "models": sorted(catalog.models),
                "quants": sorted(catalog.quants),
                "engines": sorted(catalog.engines),
                "api_models": sorted({(m.provider, m.model) for m in catalog.api_models.values()}) + priced_models(),
            },
            "finance": finance_fields(),
            "note": note,
        }
        html = _ENV.get_template("serve.html.j2").render(boot=json.dumps(boot, default=str).replace("</", "<\\/"))
        return HTMLResponse(html)

    @app.get("/plotly.js")
    async def plotly() -> Response:
        return Response(plotly_js, media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.post("/api/check")
    async def check(body: ScenarioBody) -> JSONResponse:
        try:
            scenario = space.scenario(body.scenario)
        except TokenlaneError as exc:
            return _problems(exc)
        return JSONResponse({"preview": space.preview(scenario), "yaml": _yaml(body.scenario)})

    @app.post("/api/plan")
    async def plan(body: ScenarioBody) -> JSONResponse:
        try:
            scenario = space.scenario(body.scenario)
            report = await run_in_threadpool(space.plan, scenario)
        except TokenlaneError as exc:
            return _problems(exc)
        return JSONResponse(json.loads(json.dumps(plan_view(report), default=str)))

    @app.post("/api/search")
    async def search(body: SearchBody) -> JSONResponse:
        def checked() -> Any:
            scenario = space.scenario(body.scenario)
            bounds = bounds_for(
                scenario, catalog.models, models=body.models, hardware=body.hardware, max_gpus=body.max_gpus, kinds=body.kinds
            )
            check_search(scenario, catalog, bounds, base_dir=space.folder)
            return scenario, bounds

        try:
            scenario, bounds = await run_in_threadpool(checked)
        except TokenlaneError as exc:
            return _problems(exc)
        return JSONResponse(search_view(searches.start(scenario, bounds)))

    def _search_answer(job: SearchJob | None) -> JSONResponse:
        if job is None:
            return JSONResponse({"problems": [{"field": "", "message": "no such search (the page keeps the last few)"}]}, 404)
        return JSONResponse(search_view(job))

    @app.get("/api/search/{job_id}")
    async def search_state(job_id: str) -> JSONResponse:
        return _search_answer(searches.get(job_id))

    @app.post("/api/search/{job_id}/cancel")
    async def search_cancel(job_id: str) -> JSONResponse:
        return _search_answer(searches.cancel(job_id))

    @app.post("/api/parse")
    async def parse(body: YamlBody) -> JSONResponse:
        try:  # off the event loop: one slow document must not stall the page for everyone
            state = await run_in_threadpool(_parsed, body.yaml, "scenario")
        except TokenlaneError as exc:
            return _problems(exc)
        return JSONResponse({"scenario": json.loads(json.dumps(state, default=str))})

    @app.post("/api/share")
    async def share(body: ScenarioBody) -> JSONResponse:
        return JSONResponse({"query": "?s=" + share_token(_yaml(body.scenario))})

    @app.post("/api/download/{fmt}")
    async def download(fmt: Literal["yaml", "html", "md", "json"], body: ScenarioBody) -> Response:
        try:
            scenario = space.scenario(body.scenario)
            if fmt == "yaml":
                content, media = _yaml(body.scenario), "application/yaml"
            else:
                content, media = report_file(await run_in_threadpool(space.plan, scenario), fmt)
        except TokenlaneError as exc:
            return _problems(exc)
        name = "scenario.yaml" if fmt == "yaml" else f"report.{fmt}"
        return Response(content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/api/upload")
    async def upload(request: Request, name: str) -> JSONResponse:
        try:
            path = space.upload(name, await request.body())
        except TokenlaneError as exc:
            return _problems(exc)
        return JSONResponse({"path": path})

    return app
