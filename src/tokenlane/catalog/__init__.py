"""The catalog: hardware, models, quantization formats, KV dtypes and engines, each sourced and dated."""

from tokenlane.catalog.hf_config import model_from_hf_config
from tokenlane.catalog.load import Catalog, builtin_catalog, catalog_json_schema, load_catalog
from tokenlane.catalog.models import Engine, Entry, Hardware, KvDtype, Model, Quant

__all__ = [
    "Catalog",
    "Engine",
    "Entry",
    "Hardware",
    "KvDtype",
    "Model",
    "Quant",
    "builtin_catalog",
    "catalog_json_schema",
    "load_catalog",
    "model_from_hf_config",
]
