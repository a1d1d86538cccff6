"""Unit constants and conversions: the only place where a power of ten or two appears.

Decimal prefixes for bandwidth, FLOP rates and memory sizes as vendors quote them
(`GB = 1e9`); binary prefixes only where a tool reports GiB (llama.cpp file sizes).
"""

from __future__ import annotations

GB = 1e9
GIB = 2**30
TFLOPS = 1e12
"""FLOP/s in one TFLOP/s."""
MS_PER_S = 1e3
US_PER_S = 1e6
NS_PER_S = 1e9
S_PER_HOUR = 3600.0
HOURS_PER_MONTH = 730.0
"""Average hours in a month (8760 / 12), the convention cloud price sheets use."""
TOKENS_PER_MTOK = 1e6
BITS_PER_BYTE = 8.0
W_PER_KW = 1e3


def bytes_to_gb(num_bytes: float) -> float:
    """Bytes to decimal gigabytes."""
    return num_bytes / GB


def gib_to_bytes(gib: float) -> float:
    """Binary gibibytes to bytes."""
    return gib * GIB


def s_to_ms(seconds: float) -> float:
    """Seconds to milliseconds."""
    return seconds * MS_PER_S


def ms_to_s(ms: float) -> float:
    """Milliseconds to seconds."""
    return ms / MS_PER_S


def us_to_s(us: float) -> float:
    """Microseconds to seconds."""
    return us / US_PER_S


def ns_to_s(ns: float) -> float:
    """Nanoseconds to seconds."""
    return ns / NS_PER_S


def format_usd(amount: float | None) -> str:
    """A dollar amount for people: '$11,385'; None (no cost, e.g. does not fit) reads '—'."""
    return "—" if amount is None else f"${amount:,.0f}"


def format_number(value: float | None, digits: int = 1) -> str:
    """A measured number for people, `digits` after the point; None (nothing was measured) reads '—'."""
    return "—" if value is None else f"{value:,.{digits}f}"


def format_duration(seconds: float | None) -> str:
    """A duration for people: '40 ms', '0.2 s', '9.5 s', '12 min', '4.0 h'; None reads '—'."""
    if seconds is None:
        return "—"
    if seconds < 0.095:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < S_PER_HOUR:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / S_PER_HOUR:,.1f} h"


def plural(count: int, noun: str) -> str:
    """'1 unit', '16 units', '1,200 requests'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def format_tokens(count: float | None) -> str:
    """A token count for people: '1.97 B', '114.6 M'; None reads 'never' (a break-even that does not exist)."""
    if count is None:
        return "never"
    return f"{count / 1e9:,.2f} B" if count >= 1e9 else f"{count / TOKENS_PER_MTOK:,.1f} M"


def per_mtok(usd: float, num_tokens: float) -> float:
    """USD per million tokens, given a cost in USD for `num_tokens` tokens (0 tokens -> inf)."""
    return usd / num_tokens * TOKENS_PER_MTOK if num_tokens > 0 else float("inf")
