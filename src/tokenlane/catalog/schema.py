"""Print the catalog JSON schema: `python -m tokenlane.catalog.schema > src/tokenlane/catalog/data/schema.json`."""

import json

from tokenlane.catalog.load import catalog_json_schema

if __name__ == "__main__":
    print(json.dumps(catalog_json_schema(), indent=2))
