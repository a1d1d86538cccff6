"""Shared fixtures: an isolated environment for every test, and hypothesis exploring new examples on every run."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

_SECRETS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOKENLANE_API_KEY")

# Random examples each run (a failure prints the seed and a @reproduce_failure blob to replay it); set
# HYPOTHESIS_PROFILE=fixed for the same examples every time.
settings.register_profile("explore", derandomize=False, print_blob=True, deadline=None)
settings.register_profile("fixed", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "explore"))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No API keys, no colour codes, a throwaway working directory."""
    for name in _SECRETS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
