"""Opening what a user names: only regular files, refused with one line before anything is read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tokenlane.errors import InputError


def regular_file(path: str | Path, *, what: str, error: type[InputError] = InputError) -> os.stat_result:
    """The file's status when `path` is a regular file; FIFOs, devices, directories and missing paths raise `error`
    naming the file, so nothing blocks or reads without end."""
    name = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(f"cannot read ({exc.strerror or exc})", path=name) from exc
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise error(f"cannot read: {kind} (a {what} must be a file)", path=name)
    return info
