"""`tokenlane serve`: the planner as a local web page — edit the case, see the verdict move."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from tokenlane import load_catalog
from tokenlane.catalog.for_scenario import scenario_catalog_files
from tokenlane.cli.plan import BUILTIN_SCENARIO
from tokenlane.scenario import load_scenario, read_text_file


def command(
    scenario: Annotated[Path | None, typer.Argument(help="Scenario YAML to open on (default: the built-in team assistant).")] = None,
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default: nothing is reachable from elsewhere).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Open the planner as a local web page: change users, residency or options and watch the verdict move."""
    import uvicorn

    from tokenlane.serve import create_app

    own: list[Path] = []
    if scenario is None:
        text, folder = (files("tokenlane.scenarios") / BUILTIN_SCENARIO).read_text(encoding="utf-8"), Path.cwd()
    else:
        spec = load_scenario(scenario)  # the same checks as `tokenlane plan`: a bad file is one line before anything starts
        text, folder = read_text_file(scenario, what="scenario"), scenario.resolve().parent
        own = scenario_catalog_files(spec, folder)  # the page keeps the catalog it starts with
    from tokenlane.serve.app import LOOPBACK_HOSTS

    app = create_app(load_catalog([*(catalog_file or []), *own]), text, folder, hosts=tuple(dict.fromkeys((*LOOPBACK_HOSTS, host))))
    typer.echo(f"tokenlane serve: http://{host}:{port}/ (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
