"""One progress bar for long work on a terminal: search, long simulations, plan.

Drawn on stderr (stdout stays the answer), gone when the work ends, and absent with --json or off a terminal (a pipe, a
log file, CI), so a script's output is the same with or without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

Update = Callable[[float, float | None, str], None]
"""update(done, total, description): `total` None draws a spinner instead of a bar."""


@contextlib.contextmanager
def progress_bar(*, quiet: bool = False, description: str = "", total: float | None = None) -> Iterator[Update]:
    """A transient Rich bar on a terminal's stderr (`total` None: a spinner until an update gives one), yielding its
    `Update`; a no-op when `quiet` or off a terminal."""
    err = Console(stderr=True)
    if quiet or not err.is_terminal:
        yield lambda done, total, words: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def update(done: float, total: float | None, words: str) -> None:
            bar.update(task, completed=done, total=total, description=words)

        yield update
