"""The package's public names are imported on first use: each resolves to its module's object."""

from __future__ import annotations

import importlib
import subprocess
import sys

import tokenlane


def test_every_public_name_resolves_from_its_home() -> None:
    assert set(tokenlane.__all__) == set(tokenlane._HOME)
    for name, home in tokenlane._HOME.items():
        assert getattr(tokenlane, name) is getattr(importlib.import_module(home), name)


def test_cli_help_imports_no_command_module() -> None:
    # `tokenlane --help` lists the commands from their sources: numpy, the catalog and the command modules stay unloaded
    heavy = "('numpy', 'tokenlane.cli.', 'tokenlane.catalog')"
    code = f"import sys; from tokenlane.cli.app import run; run(['--help']); print(sorted(m for m in sys.modules if m.startswith({heavy})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "plan" in out and "Run capacity, simulation and cost" in out
    assert out.strip().splitlines()[-1] == "['tokenlane.cli.app']"
