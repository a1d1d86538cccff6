"""What moves through a replica: a request being served (`Seq`) and a block of identical queued requests (`Run`); and
what serves a request off the replicas: an API's fleet (`ApiServing`)."""

from __future__ import annotations

from dataclasses import dataclass


class Seq:
    """One request inside a replica's engine (compared by identity).

    While decoding, the sequence's state follows the replica's decode-step counter `v`: it has generated
    `generated + (v - join_v)` tokens and holds `ctx_join + (v - join_v)` tokens of KV cache.
    """

    __slots__ = (
        "admitted_s",
        "arrival_s",
        "cached",
        "ctx_join",
        "finish_v",
        "first_s",
        "generated",
        "held",
        "job",
        "join_v",
        "output",
        "output_fits",
        "prefilled",
        "prompt",
        "rid",
        "slot",
        "to_prefill",
        "truncated",
        "user",
    )

    def __init__(
        self, rid: int, *, prompt: int, output: int, cached: int, arrival_s: float, job: int, user: int = -1, truncated: bool = False
    ) -> None:
        self.rid = rid
        self.user = user
        self.truncated = truncated
        """Its output was cut to fit the context one sequence may have."""
        self.prompt = prompt
        """Prompt tokens sent."""
        self.output = output
        """Tokens to generate, the first included (cut when a slot's context cannot hold them)."""
        self.output_fits = output
        """The answer's tokens (a disaggregated prefill replica generates only the first of them: `output` 1)."""
        self.cached = cached
        self.arrival_s = arrival_s
        self.job = job
        self.to_prefill = prompt
        """Tokens that must be in the KV cache before decoding (prompt + generated after a preemption)."""
        self.prefilled = cached
        """Tokens already in the cache (prefix-cache hits count)."""
        self.generated = 0
        """Tokens generated when the sequence (re)joined the decoders."""
        self.held = 0.0
        """KV slots reserved for its prefill when it was admitted."""
        self.admitted_s = -1.0
        self.first_s = -1.0
        self.join_v = -1
        """Decode-step counter when it joined the decoders (-1 while queued or prefilling)."""
        self.ctx_join = 0
        self.finish_v = -1
        self.slot = -1


class Run:
    """`count` identical queued requests with consecutive ids from `first_rid` (a batch job's block)."""

    __slots__ = ("arrival_s", "cached", "count", "first_rid", "job", "output", "prompt")

    def __init__(self, first_rid: int, count: int, *, prompt: int, output: int, arrival_s: float, job: int) -> None:
        self.first_rid = first_rid
        self.count = count
        self.prompt = prompt
        self.output = output
        self.cached = 0
        self.arrival_s = arrival_s
        self.job = job

    def take(self) -> Seq:
        """Remove the first request of the run and return it as a sequence."""
        seq = Seq(self.first_rid, prompt=self.prompt, output=self.output, cached=0, arrival_s=self.arrival_s, job=self.job)
        self.first_rid += 1
        self.count -= 1
        return seq


@dataclass(frozen=True)
class ApiServing:
    """An API served from the provider's fleet: every request starts at once, its first token after `ttft_s`,
    then `tok_s` tokens per second, whatever the load (the provider scales out)."""

    ttft_s: float
    tok_s: float
    label: str = ""
