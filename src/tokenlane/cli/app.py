"""The one Typer app: wires the command modules and maps every TokenlaneError to exit code 2."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from tokenlane import TokenlaneError
from tokenlane.pool import terminate_pools


class _Group(TyperGroup):
    """Root group: the single place where user errors become one stderr line and exit code 2.

    TokenlaneError (bad files, ids, values) is caught around the command; Typer's own usage errors (a missing
    argument, an option out of range) are caught around the whole run and printed on one line instead of a box.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TokenlaneError as exc:
            for line in exc.lines():
                typer.echo(f"tokenlane: {line}", err=True)
            raise typer.Exit(2) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except typer.TyperException as exc:
            where = getattr(getattr(exc, "ctx", None), "command_path", "tokenlane")
            typer.echo(f"{where}: {exc.format_message()}", err=True)
            rv = getattr(exc, "exit_code", 2)
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


app = typer.Typer(
    cls=_Group,
    name="tokenlane",
    help="Should you run your LLM yourself? Capacity, simulation, cost and a verdict, from physics and measurement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from tokenlane.cli import bench, calibrate, capacity, catalog, cost, emulate, plan, search, serve, simulate, workload

    for module in (plan, search, capacity, simulate, cost, bench, emulate, calibrate, serve):
        app.command(name=module.COMMAND_NAME, help=module.command.__doc__)(module.command)
    app.add_typer(catalog.app, name="catalog")
    app.add_typer(workload.app, name="workload")


_register()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on `argv` and return the exit code (testable; never exits the interpreter)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="tokenlane", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C does: an exception that unwinds it, so worker pools terminate their workers
    and servers close (the default action would kill this process alone and leave its workers running)."""
    terminate_pools()
    raise SystemExit(128 + signum)


def main() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _stop)
    sys.exit(run())
