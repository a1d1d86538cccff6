"""Local worker processes that end with their parent: the one process pool `plan`, `cost` and `search` use.

Two guards, because a killed parent cannot clean up after itself: each worker watches its parent and exits as soon as
it is gone (a SIGKILL, a crash), and a pool left by an exception (Ctrl-C, SIGTERM turned into SystemExit by the CLI)
terminates its workers at once instead of waiting for the tasks they run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PARENT_CHECK_S = 0.5
"""How often a worker checks that its parent is alive, s."""


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)  # the parent is gone: nothing will read this worker's results


def _start_worker(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    # A forked worker inherits the parent's handlers: SIGTERM must end it (the CLI's handler raises SystemExit, which a
    # pool worker would catch and report as a task's error), and the parent's pools are not its own.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent ends its workers
    _LIVE.clear()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True, name="tokenlane-parent-watch").start()
    if initializer is not None:
        initializer(*initargs)


@contextlib.contextmanager
def worker_pool(
    workers: int, *, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> Iterator[ProcessPoolExecutor]:
    """A process pool of `workers` (forked where the platform can) whose workers exit with this process, and which is
    torn down at once, its workers terminated, when the block is left by an exception."""
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )
    _LIVE.add(executor)
    try:
        yield executor
    except BaseException:
        _terminate(executor)
        raise
    finally:
        _LIVE.discard(executor)
    executor.shutdown(wait=True)


_LIVE: set[ProcessPoolExecutor] = set()
"""Pools open in this process (`terminate_pools` ends them from a signal handler)."""


def _kill_workers(executor: ProcessPoolExecutor) -> None:
    """SIGTERM to each worker: a system call, no lock taken, so safe from a signal handler; the pool's own thread then
    sees its workers gone and stops."""
    for process in list((getattr(executor, "_processes", None) or {}).values()):  # no public handle on them
        process.terminate()


BROKEN_WAIT_S = 5.0
"""How long a pool left by an exception waits for its manager thread to fail the pending tasks, s."""


def _terminate(executor: ProcessPoolExecutor) -> None:
    """Kill the workers, then wait for the pool's manager thread to mark every pending task failed: a task cancelled
    while it does so (as `Executor.map` cancels what is left when its iterator is closed) makes that thread raise
    InvalidStateError (CPython 3.11's `terminate_broken` sets the exception without checking), which a long-lived
    process (`tokenlane serve`) would print."""
    manager = getattr(executor, "_executor_manager_thread", None)  # no public handle on it either (shutdown drops it)
    _kill_workers(executor)
    executor.shutdown(wait=False)
    if manager is not None:
        manager.join(BROKEN_WAIT_S)


def terminate_pools() -> None:
    """Terminate the workers of every pool this process has open, at once, from a signal handler (a generator
    suspended inside a pool would otherwise keep it until it is garbage-collected)."""
    for executor in list(_LIVE):
        _kill_workers(executor)
