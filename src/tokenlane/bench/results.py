"""Results that survive a crash: one JSON line per finished request, appended and flushed as it completes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenlane.bench.timing import RequestRecord
from tokenlane.capacity import MeasuredPoint
from tokenlane.errors import InputError


class ResultsFile:
    """`requests.jsonl` (append-only) and `summary.json` in one folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fh = (self.folder / "requests.jsonl").open("a", encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write results ({exc.strerror})", path=str(self.folder)) from exc

    def append(self, record: RequestRecord) -> None:
        """Write one finished request and flush it to the OS at once."""
        self._fh.write(json.dumps(record.to_json(), separators=(",", ":")) + "\n")
        self._fh.flush()

    def write_summary(self, summary: dict[str, Any]) -> Path:
        path = self.folder / "summary.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        tmp.replace(path)
        return path

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_records(folder: str | Path) -> list[RequestRecord]:
    """Every request recorded so far (a torn last line from a crash is skipped)."""
    path = Path(folder) / "requests.jsonl"
    if not path.exists():
        return []
    records: list[RequestRecord] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(RequestRecord(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            continue
    return records


def load_measured_curve(path: str | Path) -> list[MeasuredPoint]:
    """Read a `tokenlane bench` summary.json as measured points (one per closed-loop level; open-loop rate levels
    have no concurrency and are left out)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        levels = doc["levels"]
        return [
            MeasuredPoint(
                concurrency=int(lv["concurrency"]),
                per_user_tok_s_p50=lv["per_user_tok_s"]["p50"],
                per_user_tok_s_p95=lv["per_user_tok_s"]["p95"],
                ttft_s_p50=lv["ttft_s"]["p50"],
                ttft_s_p95=lv["ttft_s"]["p95"],
                aggregate_tok_s=float(lv["aggregate_tok_s"]),
                errors=int(lv["errors"]),
            )
            for lv in levels
            if lv.get("concurrency") is not None
        ]
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from exc
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"not a tokenlane bench summary.json ({type(exc).__name__}: {exc})", path=str(path)) from exc


def done_indices(records: list[RequestRecord]) -> dict[int, set[int]]:
    """The request indices finished at each level, for --resume (which runs exactly the others)."""
    done: dict[int, set[int]] = {}
    for r in records:
        done.setdefault(r.level, set()).add(r.index)
    return done
