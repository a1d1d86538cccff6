"""The Chromium the browser tests drive (tests/get-browser puts one in place)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def chromium_path() -> str | None:
    """TOKENLANE_CHROMIUM, else the system's Chromium, else None (Playwright then launches its own build)."""
    return os.environ.get("TOKENLANE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_options() -> dict[str, object]:
    """Keyword arguments for `playwright.chromium.launch`: the system browser when there is one; an assertion naming
    the fix when neither it nor Playwright's own build is installed."""
    path = chromium_path()
    if path is None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            own = Path(pw.chromium.executable_path)
        assert own.exists(), "no Chromium for the browser tests: run tests/get-browser (the README's test command does)"
    return {"args": ["--no-sandbox", "--disable-gpu"], **({"executable_path": path} if path else {})}
