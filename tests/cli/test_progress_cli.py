"""Long work shows a progress bar on a terminal's stderr and nothing with --json or off a terminal (FORCE_COLOR makes
Rich take the captured stream for a terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.helpers import invoke

DESK = Path(__file__).resolve().parents[2] / "examples" / "desk-box.yaml"
SEARCH = ("search", str(DESK), "--hardware", "rtx-4090", "--limit", "6", "--workers", "1", "--no-report")


def test_simulate_shows_each_option_s_share_of_its_day_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    shown = invoke("simulate", str(DESK))
    assert shown.exit_code == 0
    assert "100% of its day simulated" in shown.stderr
    assert "of its day simulated" not in shown.stdout
    quiet = invoke("simulate", str(DESK), "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["results"]


def test_search_counts_its_results_on_a_terminal_and_is_quiet_with_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    shown = invoke(*SEARCH)
    assert shown.exit_code == 0, shown.stderr
    assert "pruned" in shown.stderr and "meeting it" in shown.stderr
    quiet = invoke(*SEARCH, "--json")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["configurations"] == 6


def test_off_a_terminal_there_is_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert invoke("simulate", str(DESK)).stderr == ""
