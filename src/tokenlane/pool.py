"""Local worker processes that end with their parent: the one process pool `plan`, `cost` and `search` use.

Two guards, because a killed parent cannot clean up after itself: each worker watches its parent and exits as soon as
it is gone (a SIGKILL, a crash), and a pool left by an exception (Ctrl-C, SIGTERM turned into SystemExit by the CLI)
terminates its workers at once instead of waiting for the tasks they run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
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
    try:
        yield executor
    except BaseException:
        processes = list(getattr(executor, "_processes", {}).values())  # the executor keeps no public handle on them
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise
    executor.shutdown(wait=True)
