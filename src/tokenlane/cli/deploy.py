"""`tokenlane deploy`: write what runs an option as planned (Compose or Kubernetes) and the bench that checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tokenlane import InputError, check_scenario, load_scenario
from tokenlane.catalog.for_scenario import catalog_for_scenario


def command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML.")],
    option: Annotated[str, typer.Option(help="The self_host or cloud_gpu option to deploy.")],
    target: Annotated[str, typer.Option(help="compose (a desk box or one server) or k8s (servers and rented fleets).")] = "compose",
    out: Annotated[Path, typer.Option(help="Folder for the files.")] = Path("tokenlane-deploy"),
    image: Annotated[str | None, typer.Option(help="Container image to run instead of the engine's public one.")] = None,
    catalog_file: Annotated[list[Path] | None, typer.Option("--catalog", help="Extra catalog YAML file(s).")] = None,
) -> None:
    """Write the files that run an option as planned: Compose or Kubernetes with the recipe's flags, and the bench."""
    from tokenlane.deploy import deploy_files, write_deploy

    if target not in ("compose", "k8s"):
        raise InputError(f"must be compose or k8s, not {target!r}", field="--target")
    spec, catalog = catalog_for_scenario(load_scenario(scenario), catalog_file or [], scenario.parent)
    check_scenario(spec, catalog, base_dir=scenario.parent)
    try:
        found = deploy_files(spec, catalog, option, target, image=image)  # type: ignore[arg-type]
    except InputError as exc:
        if exc.path is not None or not (exc.field or "").startswith("options["):
            raise
        name = exc.field.split("]", 1)[0].removeprefix("options[")  # type: ignore[union-attr]
        index = next(i for i, o in enumerate(spec.options) if o.name == name)
        path, where = spec.locate("options", index, *exc.field.split("].", 1)[1:2])  # type: ignore[union-attr]
        raise InputError(exc.message, path=path, field=where) from None
    for path in write_deploy(found, out):
        typer.echo(f"wrote {path}")
    typer.echo(f"{option}: {found.replicas} replica(s) as planned")
    for note in found.notes:
        typer.echo(f"note: {note}")
