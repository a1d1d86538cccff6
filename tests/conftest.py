"""Shared fixtures: an isolated environment for every test, and a derandomized hypothesis profile."""

from __future__ import annotations

import pytest
from hypothesis import settings

_SECRETS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOKENLANE_API_KEY")

settings.register_profile("tokenlane", derandomize=True, deadline=None)
settings.load_profile("tokenlane")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No API keys, no colour codes, a throwaway working directory."""
    for name in _SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
