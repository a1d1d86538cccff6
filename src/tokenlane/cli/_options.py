"""Parsing helpers shared by the commands (text -> values, no arithmetic)."""

from __future__ import annotations

from rich.table import Table

from tokenlane import InputError


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


def folding_table(*headers: str, title: str | None = None) -> Table:
    """A Rich table whose cells wrap instead of being cut with '…', so no number is lost on a narrow terminal."""
    table = Table(title=title)
    for header in headers:
        table.add_column(header, overflow="fold")
    return table
