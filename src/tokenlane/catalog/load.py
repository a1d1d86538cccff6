"""Load, validate and look up the catalog: built-in YAML files plus any files the user adds."""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tokenlane.catalog.models import (
    ApiModel,
    ApiProvider,
    Benchmark,
    Engine,
    Entry,
    ErrorFamily,
    GridIntensity,
    Hardware,
    KvDtype,
    Link,
    Model,
    PowerProfile,
    Quant,
)
from tokenlane.errors import CatalogError, UnknownIdError
from tokenlane.yaml_input import load_yaml

Kind = Literal[
    "hardware",
    "models",
    "quants",
    "kv_dtypes",
    "engines",
    "api_models",
    "api_providers",
    "benchmarks",
    "prediction_errors",
    "grids",
    "power_profiles",
    "links",
]
_SECTIONS: dict[str, type[Entry]] = {
    "benchmarks": Benchmark,
    "hardware": Hardware,
    "models": Model,
    "quants": Quant,
    "kv_dtypes": KvDtype,
    "engines": Engine,
    "api_models": ApiModel,
    "api_providers": ApiProvider,
    "prediction_errors": ErrorFamily,
    "grids": GridIntensity,
    "power_profiles": PowerProfile,
    "links": Link,
}
_BUILTIN_FILES = (
    "benchmarks.yaml",
    "hardware.yaml",
    "models.yaml",
    "quants.yaml",
    "engines.yaml",
    "api_models.yaml",
    "api_providers.yaml",
    "prediction_errors.yaml",
    "energy.yaml",
    "links.yaml",
)
E = TypeVar("E", bound=Entry)
_LABELS = {
    "models": "model",
    "quants": "quant",
    "engines": "engine",
    "kv_dtypes": "kv dtype",
    "benchmarks": "benchmark",
    "prediction_errors": "error family",
    "grids": "grid",
    "power_profiles": "power profile",
    "links": "link",
}
"""How an unknown id of each section is named in errors."""


class Catalog(BaseModel):
    """Every known entry, by kind and id."""

    model_config = ConfigDict(frozen=True)

    hardware: dict[str, Hardware]
    models: dict[str, Model]
    quants: dict[str, Quant]
    kv_dtypes: dict[str, KvDtype]
    engines: dict[str, Engine]
    api_models: dict[str, ApiModel] = {}
    api_providers: dict[str, ApiProvider] = {}
    benchmarks: dict[str, Benchmark] = {}
    prediction_errors: dict[str, ErrorFamily] = {}
    grids: dict[str, GridIntensity] = {}
    power_profiles: dict[str, PowerProfile] = {}
    links: dict[str, Link] = {}

    def section(self, kind: Kind) -> Mapping[str, Entry]:
        """All entries of one kind, by id."""
        return getattr(self, kind)

    def get(self, kind: Kind, entry_id: str, *, field: str | None = None) -> Entry:
        """The entry `entry_id` of `kind`, or UnknownIdError naming the closest ids."""
        entries = self.section(kind)
        if entry_id in entries:
            return entries[entry_id]
        close = difflib.get_close_matches(entry_id.lower(), list(entries), n=3, cutoff=0.4)
        label = _LABELS.get(kind, kind)
        raise UnknownIdError(label, entry_id, close_matches=close, field=field)

    def find(self, entry_id: str) -> tuple[Kind, Entry]:
        """Look an id up in every section (for `catalog show ID`)."""
        for kind in _SECTIONS:
            if entry_id in self.section(kind):  # type: ignore[arg-type]
                return kind, self.section(kind)[entry_id]  # type: ignore[arg-type, return-value]
        every = [i for k in _SECTIONS for i in self.section(k)]  # type: ignore[arg-type]
        raise UnknownIdError("catalog", entry_id, close_matches=difflib.get_close_matches(entry_id, every, n=3, cutoff=0.4))

    def hardware_by_id(self, entry_id: str, *, field: str | None = None) -> Hardware:
        """Hardware entry by id."""
        return _typed(self.get("hardware", entry_id, field=field), Hardware)

    def model_by_id(self, entry_id: str, *, field: str | None = None) -> Model:
        """Model entry by id."""
        return _typed(self.get("models", entry_id, field=field), Model)

    def quant_by_id(self, entry_id: str, *, field: str | None = None) -> Quant:
        """Quantization format by id."""
        return _typed(self.get("quants", entry_id, field=field), Quant)

    def kv_dtype_by_id(self, entry_id: str, *, field: str | None = None) -> KvDtype:
        """KV-cache dtype by id."""
        return _typed(self.get("kv_dtypes", entry_id, field=field), KvDtype)

    def link_by_id(self, entry_id: str, *, field: str | None = None) -> Link:
        """GPU-to-GPU link entry by id."""
        return _typed(self.get("links", entry_id, field=field), Link)

    def engine_by_id(self, entry_id: str, *, field: str | None = None) -> Engine:
        """Serving engine by id."""
        return _typed(self.get("engines", entry_id, field=field), Engine)

    def api_model(self, provider: str | None, model: str | None) -> ApiModel | None:
        """The catalog entry of an API model, if the catalog knows it: the maker's own id, or a reseller's id of the
        same model (Bedrock's `eu.anthropic.claude-sonnet-4-5-20250929-v1:0`, Vertex's `claude-sonnet-4-5@20250929`,
        an Azure deployment of `gpt-5`), which serves the same weights: same tier, same scores."""
        for entry in self.api_models.values():
            if entry.provider == provider and entry.model == model:
                return entry
        if model is None:
            return None
        plain = served_model(model)
        return next((e for e in self.api_models.values() if served_model(e.model) == plain), None)

    def grid(self, code: str, *, field: str | None = None) -> GridIntensity:
        """The grid a code names: a grid's id or alias, a cloud region listed under a grid, else a region's
        jurisdiction (`us-east-1` -> `us`); UnknownIdError naming the closest codes otherwise."""
        for entry in self.grids.values():
            if code == entry.id or code in entry.aliases or code in entry.regions:
                return entry
        head = code.split("-", 1)[0]
        if "-" in code and head != code:
            for entry in self.grids.values():
                if head == entry.id or head in entry.aliases:
                    return entry
        every = [c for e in self.grids.values() for c in (e.id, *e.aliases, *e.regions)]
        raise UnknownIdError("grid", code, close_matches=difflib.get_close_matches(code, every, n=3, cutoff=0.4), field=field)

    def api_provider(self, provider: str | None) -> ApiProvider | None:
        """Where a provider processes and retains prompts, if the catalog knows it."""
        return next((e for e in self.api_providers.values() if e.provider == provider), None)

    def with_entries(self, kind: Kind, entries: Iterable[Entry]) -> Catalog:
        """A copy with `entries` added to (or replacing ids in) `kind`."""
        merged = dict(self.section(kind))
        merged.update({e.id: e for e in entries})
        return self.model_copy(update={kind: merged})


_RESELLER_PREFIX = re.compile(
    r"^(?:(?:global|regional|us|eu|apac|jp|au|us-gov)\.)?(?:(?:anthropic|openai|google|meta|mistral|deepseek|qwen|moonshotai)[./])?"
)
_VERSION_SUFFIX = re.compile(r"(?:[-@](?:\d{8}|\d{4}-\d{2}-\d{2}))?(?:-v?\d+:\d+|-v\d+)?$")


def served_model(model_id: str) -> str:
    """The model a provider's or reseller's id serves, as its maker names it: the region routing prefix
    (`eu.`, `global.`), the maker's prefix (`anthropic.`), a snapshot date (`-20250929`, `@20250929`) and a Bedrock
    version (`-v1:0`) removed. `eu.anthropic.claude-sonnet-4-5-20250929-v1:0` -> `claude-sonnet-4-5`.
    # Source: model ids on Amazon Bedrock (docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html,
    # inference profiles `us.`/`eu.`/`apac.`/`global.`) and Vertex AI (`claude-sonnet-4-5@20250929`)."""
    plain = _RESELLER_PREFIX.sub("", model_id.strip().lower(), count=1)
    return _VERSION_SUFFIX.sub("", plain, count=1)


def _typed(entry: Entry, cls: type[E]) -> E:
    assert isinstance(entry, cls)
    return entry


BUILTIN_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""The parser of the shipped catalog: libyaml's where PyYAML has it (about 5x faster on these files, the same data;
they are the package's own, read with the same limits as any YAML)."""


def _read_yaml(text: str, path: str, loader: type[yaml.SafeLoader] = yaml.SafeLoader) -> Any:
    return load_yaml(text, path, error=CatalogError, loader=loader)[0]


def format_validation_error(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The first pydantic error as (dotted field, message)."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
    field = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
    msg = err["msg"].removeprefix("Value error, ")
    return field, msg


def parse_entries(document: Any, path: str) -> dict[str, list[Entry]]:
    """Validate one YAML document of sections (`hardware:`, `models:` ...) into entries."""
    if not isinstance(document, dict):
        raise CatalogError(f"expected a mapping of sections ({', '.join(_SECTIONS)})", path=path)
    parsed: dict[str, list[Entry]] = {}
    for section, items in document.items():
        if section not in _SECTIONS:
            raise CatalogError(f"unknown section; expected one of {', '.join(_SECTIONS)}", path=path, field=str(section))
        if not isinstance(items, list):
            raise CatalogError("expected a list of entries", path=path, field=section)
        cls = _SECTIONS[section]
        seen: set[str] = set()
        entries: list[Entry] = []
        for index, item in enumerate(items):
            name = item.get("id", index) if isinstance(item, dict) else index
            try:
                entry = cls.model_validate(item)
            except ValidationError as exc:
                field, msg = format_validation_error(exc, f"{section}[{name}]")
                raise CatalogError(msg, path=path, field=field) from exc
            if entry.id in seen:
                raise CatalogError("duplicate id", path=path, field=f"{section}[{entry.id}]")
            seen.add(entry.id)
            entries.append(entry)
        parsed[section] = entries
    return parsed


@functools.cache
def builtin_catalog() -> Catalog:
    """The catalog shipped inside the package, validated once and cached."""
    sections: dict[str, dict[str, Entry]] = {k: {} for k in _SECTIONS}
    root = importlib.resources.files("tokenlane.catalog") / "data"
    for name in _BUILTIN_FILES:
        text = (root / name).read_text(encoding="utf-8")
        for section, entries in parse_entries(_read_yaml(text, name, BUILTIN_LOADER), name).items():
            for entry in entries:
                if entry.id in sections[section]:
                    raise CatalogError("duplicate id", path=name, field=f"{section}[{entry.id}]")
                sections[section][entry.id] = entry
    catalog = Catalog(**sections)  # type: ignore[arg-type]
    check_references(catalog, "the built-in catalog")
    return catalog


def load_catalog(extra_files: Iterable[str | Path] = ()) -> Catalog:
    """The built-in catalog with the user's YAML files layered on top (later files win on id clashes)."""
    catalog = builtin_catalog()
    for file in extra_files:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read ({exc.strerror})", path=str(path)) from exc
        for section, entries in parse_entries(_read_yaml(text, str(path)), str(path)).items():
            catalog = catalog.with_entries(section, entries)  # type: ignore[arg-type]
        check_references(catalog, str(path))
    return catalog


def check_references(catalog: Catalog, path: str) -> None:
    """CatalogError naming the first entry whose scores are on a benchmark the catalog does not define."""
    for section in ("models", "api_models"):
        for entry in catalog.section(section).values():  # type: ignore[arg-type]
            for benchmark in getattr(entry, "quality", {}):
                if benchmark not in catalog.benchmarks:
                    raise CatalogError(
                        f"no benchmark '{benchmark}' in the catalog (known: {', '.join(catalog.benchmarks)})",
                        path=path,
                        field=f"{section}[{entry.id}].quality.{benchmark}",
                    )


def catalog_json_schema() -> dict[str, Any]:
    """JSON schema of a catalog YAML document (written to catalog/data/schema.json)."""
    from pydantic.json_schema import models_json_schema

    _, schema = models_json_schema([(cls, "validation") for cls in _SECTIONS.values()], title="tokenlane catalog")
    schema["type"] = "object"
    schema["properties"] = {section: {"type": "array", "items": {"$ref": f"#/$defs/{cls.__name__}"}} for section, cls in _SECTIONS.items()}
    schema["additionalProperties"] = False
    return schema
