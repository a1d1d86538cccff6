"""The one Typer app: wires the command modules and maps every TokenlaneError to exit code 2."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import signal
import sys
from collections.abc import Sequence
from typing import Any

import click
import typer
from typer.core import TyperGroup

from tokenlane.errors import TokenlaneError
from tokenlane.pool import terminate_pools

COMMANDS = ("plan", "search", "capacity", "simulate", "cost", "deploy", "bench", "emulate", "calibrate", "serve")
"""Commands, in the order `tokenlane --help` lists them: module `tokenlane.cli.<name>`, function `command`."""
GROUPS = ("catalog", "workload")
"""Command groups: module `tokenlane.cli.<name>`, Typer app `app`."""


class _Group(TyperGroup):
    """Root group: the single place where user errors become one stderr line and exit code 2, and where commands are
    loaded when run, not before.

    TokenlaneError (bad files, ids, values) is caught around the command; Typer's own usage errors (a missing
    argument, an option out of range) are caught around the whole run and printed on one line instead of a box.
    A command's module (and what it imports: numpy, the catalog, the simulator) is imported only when that command
    runs or shows its help; `tokenlane --help` lists each with the summary read from its module's source.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *GROUPS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS and cmd_name not in GROUPS:
            return None
        return click.Command(cmd_name, help=_summary(cmd_name))  # listed, not run: `resolve_command` loads it

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name not in self.commands and (name in COMMANDS or name in GROUPS):
            self.add_command(_load(name), name)
        return super().resolve_command(ctx, args)

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


@app.callback()
def _root() -> None:
    """No options of its own: it makes the app a group whose commands `_Group` loads."""


def _load(name: str) -> click.Command:
    """The click command of `tokenlane <name>`, its module imported now."""
    module = importlib.import_module(f"tokenlane.cli.{name}")
    if name in GROUPS:
        return typer.main.get_group(module.app)
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    single.command(name=name, help=module.command.__doc__)(module.command)
    return typer.main.get_command(single)


def _summary(name: str) -> str:
    """What `tokenlane --help` says of a command, read from its module's source without importing it: the docstring of
    `command`, or the `help` of the group's `typer.Typer(...)`."""
    spec = importlib.util.find_spec(f"tokenlane.cli.{name}")
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "command":
            return ast.get_docstring(node) or ""
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Typer":
            return next((k.value.value for k in node.keywords if k.arg == "help" and isinstance(k.value, ast.Constant)), "")
    return ""


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
