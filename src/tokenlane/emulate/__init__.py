"""Emulate a box as a live OpenAI-compatible server paced by the capacity model."""

from tokenlane.emulate.app import count_prompt_tokens, create_app
from tokenlane.emulate.pacing import PacedEngine

__all__ = ["PacedEngine", "count_prompt_tokens", "create_app"]
