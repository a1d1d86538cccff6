"""The one Typer app: wires the command modules and maps every TokenlaneError to exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from tokenlane import TokenlaneError


class _Group(TyperGroup):
    """Root group whose invoke is the single place user errors become one stderr line and exit 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TokenlaneError as exc:
            typer.echo(f"tokenlane: {exc.one_line()}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group,
    name="tokenlane",
    help="Should you run your LLM yourself? Capacity, simulation, cost and a verdict, from physics and measurement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from tokenlane.cli import bench, capacity, catalog, cost, emulate, plan, simulate

    for module in (plan, capacity, simulate, cost, bench, emulate):
        app.command(name=module.COMMAND_NAME, help=module.command.__doc__)(module.command)
    app.add_typer(catalog.app, name="catalog")


_register()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on `argv` and return the exit code (testable; never exits the interpreter)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="tokenlane", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
