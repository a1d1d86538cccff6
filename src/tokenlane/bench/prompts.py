"""Prompts for the bench: synthetic text sized by the server's own token count, or a dataset file."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from tokenlane.errors import InputError

WORDS = (
    "time",
    "person",
    "year",
    "way",
    "day",
    "thing",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "number",
    "group",
    "problem",
    "fact",
)
"""Common English words, each one token in the GPT and Llama tokenizers."""


EVEN_WORDS = ("time", "year", "life", "hand", "part", "work", "week", "case", "fact", "area", "book", "game", "line", "name")
"""Common four-letter English words, each one token in the GPT and Llama tokenizers: text of them has the same
length in bytes and in tokens for any choice of words, so a replayed block of N words is the same size whatever
words it holds (a server that estimates tokens from bytes counts every block alike)."""


def synthetic_prompt(words: int, seed: int = 0, vocabulary: tuple[str, ...] = WORDS) -> str:
    """`words` common words; a seed varies them so prefix caches do not hide prefill."""
    rng = random.Random(seed)
    return " ".join(rng.choice(vocabulary) for _ in range(max(1, words)))


def load_prompts(path: str | Path) -> list[str]:
    """Prompts from a dataset file: JSONL with a "prompt" (or "text") field per line, or plain text, one per line."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path=str(path)) from exc
    prompts: list[str] = []
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("{"):
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"line {number}: not valid JSON ({exc.msg})", path=str(path)) from exc
            text = item.get("prompt") or item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str) or not text:
                raise InputError(f'line {number}: needs a non-empty "prompt" or "text" string', path=str(path))
            prompts.append(text)
        else:
            prompts.append(line)
    if not prompts:
        raise InputError("holds no prompts", path=str(path))
    return prompts


def prompt_source(*, words: int, seed: int, dataset: list[str] | None) -> Callable[[int], str]:
    """Request index -> prompt: the dataset's prompts in turn, else `words` synthetic words varied by index."""
    if dataset:
        return lambda index: dataset[index % len(dataset)]
    return lambda index: synthetic_prompt(words, seed=seed * 1_000_003 + index)
