"""Parsing helpers shared by the commands (text -> values, no arithmetic)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from tokenlane import InputError
from tokenlane.traces import CsvColumns


def parse_int_list(text: str, *, option: str) -> list[int]:
    """`1,2,4` -> [1, 2, 4]; every value must be a positive integer."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = int(part)
        except ValueError:
            raise InputError(f"'{part}' is not an integer", field=option) from None
        if value <= 0:
            raise InputError(f"must be > 0, got {value}", field=option)
        values.append(value)
    if not values:
        raise InputError("needs at least one value", field=option)
    return values


Column = tuple[str, int, bool]
"""(header, priority, wraps): priority 0 is always shown, higher numbers are dropped first on a narrow terminal;
`wraps` marks free text that may wrap (numbers never do)."""


def fitted_table(width: int, columns: list[Column], rows: list[list[str]], *, title: str | None = None) -> Table:
    """A table for a terminal `width` columns wide: least important columns are dropped until every number fits on
    one line (free-text columns wrap)."""
    keep = list(range(len(columns)))

    def need(i: int) -> int:
        header, _, wraps = columns[i]
        cells = [Text.from_markup(r[i]).cell_len for r in rows]
        if wraps:
            return max(min(max(cells, default=1), 24), max(len(w) for w in header.split())) + 3
        return max([*cells, len(header)]) + 3

    def total() -> int:
        return sum(need(i) for i in keep) + 1

    while total() > width and any(columns[i][1] > 0 for i in keep):
        keep.remove(max((i for i in keep if columns[i][1] > 0), key=lambda i: (columns[i][1], i)))
    table = Table(title=title)
    for i in keep:
        header, _, wraps = columns[i]
        table.add_column(header, no_wrap=not wraps and i > 0, overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in keep))
    return table


def folding_table(*headers: str, title: str | None = None) -> Table:
    """A Rich table whose cells wrap instead of being cut with '…', so no number is lost on a narrow terminal."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


COLUMN_KEYS = ("timestamp", "input", "output", "user", "session", "cached")


def parse_trace_columns(text: str | None, unit: str) -> CsvColumns | None:
    """`timestamp=ts,input=in,output=out[,user=..][,session=..][,cached=..]` -> CsvColumns."""
    if unit not in ("s", "ms"):
        raise InputError("must be s or ms", field="--timestamp-unit")
    if text is None:
        return None
    named: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or key not in COLUMN_KEYS or not value:
            raise InputError(f"'{part}' is not KEY=COLUMN with KEY one of {', '.join(COLUMN_KEYS)}", field="--columns")
        named[key] = value
    missing = [k for k in COLUMN_KEYS[:3] if k not in named]
    if missing:
        raise InputError(f"needs {', '.join(missing)}=COLUMN", field="--columns")
    return CsvColumns(
        named["timestamp"], named["input"], named["output"], unit == "ms", named.get("user"), named.get("session"), named.get("cached")
    )
