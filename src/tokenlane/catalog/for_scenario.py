"""The catalog a scenario runs against: the built-in one, the `--catalog` files, the scenario's own `catalog:` files,
and the entries its options' GGUF files imply (each such option then names them)."""

from __future__ import annotations

from pathlib import Path

from tokenlane.catalog.load import Catalog, load_catalog
from tokenlane.errors import CatalogError, ScenarioError
from tokenlane.scenario import Scenario


def scenario_catalog_files(scenario: Scenario, base_dir: Path) -> list[Path]:
    """The scenario's `catalog:` files, relative to `base_dir`; ScenarioError naming the line of one that is missing."""
    own = [base_dir / name for name in scenario.catalog]
    for i, path in enumerate(own):
        if not path.is_file():
            file, where = scenario.locate("catalog", i)
            raise ScenarioError(f"{where}: no file {path}", path=file)
    return own


def catalog_for_scenario(scenario: Scenario, extra_files: list[Path], base_dir: Path) -> tuple[Scenario, Catalog]:
    """(scenario, catalog): `extra_files` then the scenario's `catalog:` files (relative to `base_dir`) over the
    built-in catalog; an option with `gguf` gets the file's quant (and, without `model`, the file's model)."""
    catalog = load_catalog([*extra_files, *scenario_catalog_files(scenario, base_dir)])
    if not any(o.gguf for o in scenario.options):
        return scenario, catalog
    from tokenlane.catalog.gguf_file import model_from_gguf, quant_from_gguf  # the GGUF reader only when asked

    options = []
    for option in scenario.options:
        if option.gguf is None:
            options.append(option)
            continue
        path = base_dir / option.gguf
        file, where = scenario.locate("options", scenario.options.index(option), "gguf")
        if not path.is_file():
            raise ScenarioError(f"{where}: no file {path}", path=file)
        model = catalog.model_by_id(option.model, field=f"options[{option.name}].model") if option.model else None
        try:
            model = model or model_from_gguf(path)
            quant = quant_from_gguf(path, model, catalog.quants)
        except CatalogError as exc:
            detail = f"{exc.field}: {exc.message}" if exc.field else exc.message
            raise ScenarioError(f"{where}: {path}: {detail}", path=file) from exc
        catalog = catalog.with_entries("models", [model]).with_entries("quants", [quant])
        options.append(option.model_copy(update={"model": model.id, "quant": quant.id}))
    return scenario.model_copy(update={"options": options}), catalog
