"""One replica of a serving engine, stepped in simulated time with the capacity model's step times.

Continuous batching (vLLM/SGLang/TensorRT-LLM): FCFS admission while running < max sequences and the KV cache
has room for the prompt; chunked prefill within a token budget per step; preemption by recompute (the newest
sequence is evicted and later re-prefilled with its generated tokens) when the cache cannot grow.
Slots (llama.cpp `-np`): the same loop with the slot count as the cap and the context split across slots.
Serial (Ollama default, mlx_lm.server): a cap of one.
Pure decode stretches are advanced in bulk: k steps at once, their duration the trapezoid of the first and
last step times (step time is linear in the KV read between events).
# Source: Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention" (SOSP 2023) sections 4.2
# and 4.5 (block allocation, recompute preemption); Agrawal et al., "Sarathi-Serve" (OSDI 2024) for chunked prefill.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from tokenlane.capacity import Deployment, StepLoad, plan_memory, prefill_load, step_seconds


@dataclass(eq=False)
class Sequence:
    """A request inside the engine (compared by identity: two requests are never the same)."""

    rid: int
    prompt_tokens: int
    """Tokens that must be in the KV cache before decoding (grows on recompute)."""
    output_tokens: int
    """Tokens to generate, the first one included."""
    prefilled: int
    """Prompt tokens in the cache (cache hits count as prefilled)."""
    generated: int = 0
    decoded_in_cache: int = 0
    """Generated tokens whose KV entries are cached (the last sampled token has none yet)."""
    admitted_at_s: float = -1.0
    first_token_at_s: float = -1.0

    @property
    def context(self) -> int:
        """Tokens in this sequence's KV cache."""
        return self.prefilled + self.decoded_in_cache


@dataclass
class Completion:
    """A finished (or rejected) request."""

    rid: int
    admitted_at_s: float
    first_token_at_s: float
    finished_at_s: float
    output_tokens: int
    rejected: bool = False
    truncated: bool = False


@dataclass
class ReplicaEngine:
    """Scheduler state of one replica; `start_step` plans the next step, `finish_step` applies it."""

    dep: Deployment
    waiting: deque[Sequence] = field(default_factory=deque)
    running: list[Sequence] = field(default_factory=list)
    busy_until_s: float | None = None
    busy_s: float = 0.0
    concurrency_area: float = 0.0
    """Integral of running sequences over time (seq x s)."""
    peak_running: int = 0
    num_steps: int = 0
    num_preemptions: int = 0
    num_truncated: int = 0
    records_emitted: bool = False
    """Keep `last_emitted` (the emulator needs it; the simulator's hot loop does not)."""
    last_emitted: list[tuple[Sequence, int]] = field(default_factory=list)
    """Tokens each sequence produced in the step applied last, when `records_emitted`."""

    def __post_init__(self) -> None:
        engine = self.dep.engine
        self.cap = self.dep.running_seq_cap
        self.kv_capacity = plan_memory(self.dep).kv_capacity_tokens
        self.budget = engine.max_batched_tokens
        window = self.dep.model.sliding_window
        self.window = window.window_tokens if window else 0
        ctx = self.dep.context_tokens or self.dep.model.max_context_tokens
        self.seq_context_limit = ctx // self.cap if engine.splits_context_across_slots else min(ctx, self.dep.model.max_context_tokens)
        self._plan: tuple[list[tuple[Sequence, int]], list[Sequence], int] | None = None

    @property
    def outstanding(self) -> int:
        """Requests in the replica (running + waiting), for the least-outstanding-requests router."""
        return len(self.running) + len(self.waiting)

    def abort(self, seq: Sequence) -> None:
        """Drop a request (client went away); its KV entries are freed with it."""
        if seq in self.running:
            self.running.remove(seq)
        elif seq in self.waiting:
            self.waiting.remove(seq)

    def kv_used(self) -> int:
        return sum(s.context for s in self.running)

    def submit(self, seq: Sequence) -> Completion | None:
        """Queue a request; returns a rejection when it can never fit this replica's context or cache."""
        limit = min(self.seq_context_limit, self.kv_capacity)
        if seq.prompt_tokens + 1 > limit:
            return Completion(seq.rid, -1.0, -1.0, -1.0, 0, rejected=True)
        if seq.prompt_tokens + seq.output_tokens > limit:
            seq.output_tokens = limit - seq.prompt_tokens
            self.num_truncated += 1
        self.waiting.append(seq)
        return None

    def _admit(self, now_s: float) -> int:
        """FCFS admission while the engine cap and the KV cache (prompts reserved) allow; returns KV tokens in use."""
        used = in_use = self.kv_used()
        while self.waiting and len(self.running) < self.cap:
            seq = self.waiting[0]
            need = seq.prompt_tokens + 1 - seq.prefilled
            if used + need > self.kv_capacity and self.running:
                break
            self.waiting.popleft()
            if seq.admitted_at_s < 0:
                seq.admitted_at_s = now_s
            self.running.append(seq)
            used += need
            in_use += seq.context
        return in_use

    def _load(self, decoders: list[Sequence], chunks: list[tuple[Sequence, int]], extra_steps: int = 0) -> StepLoad:
        """Step load with every decoder `extra_steps` tokens further along."""
        n = len(decoders)
        kv_full = sum(s.context for s in decoders) + n * (1 + extra_steps)
        kv_win = sum(min(s.context + 1 + extra_steps, self.window) for s in decoders) if self.window else 0.0
        load = StepLoad(float(n), float(n), float(kv_full), float(kv_win), float(kv_full), float(kv_win))
        for seq, chunk in chunks:
            load += prefill_load(self.dep, chunk, seq.prefilled, samples=seq.prefilled + chunk >= seq.prompt_tokens)
        return load

    def start_step(self, now_s: float, horizon_s: float) -> float | None:
        """Plan the next step (or bulk of decode steps ending by `horizon_s`); returns its end time, None if idle."""
        used = self._admit(now_s)
        if not self.running:
            self.busy_until_s = None
            return None
        decoders = [s for s in self.running if s.prefilled >= s.prompt_tokens]
        budget = self.budget - len(decoders)
        chunks: list[tuple[Sequence, int]] = []
        for seq in self.running:
            if seq.prefilled < seq.prompt_tokens and budget > 0:
                chunk = min(seq.prompt_tokens - seq.prefilled, budget)
                chunks.append((seq, chunk))
                budget -= chunk
        used = self._preempt_if_full(decoders, chunks, used)
        decoders = [s for s in self.running if s.prefilled >= s.prompt_tokens]
        still_running = set(map(id, self.running))
        chunks = [(s, c) for s, c in chunks if id(s) in still_running]
        steps = 1
        first = step_seconds(self.dep, self._load(decoders, chunks))
        duration = first
        if not chunks and decoders and not self._can_admit(used):
            free = self.kv_capacity - used
            steps = min(
                min(s.output_tokens - s.generated for s in decoders),
                max(1, free // len(decoders)),
                max(1, int(min(horizon_s - now_s, 1e9) / first)) if horizon_s > now_s else 1,
            )
            if steps > 1:
                last = step_seconds(self.dep, self._load(decoders, [], steps - 1))
                duration = steps * (first + last) / 2
        self._plan = (chunks, decoders, steps)
        self.busy_s += duration
        self.concurrency_area += duration * len(self.running)
        self.peak_running = max(self.peak_running, len(self.running))
        self.num_steps += steps
        self.busy_until_s = now_s + duration
        return self.busy_until_s

    def _can_admit(self, used: int) -> bool:
        """The head of the queue would be admitted now, with `used` KV tokens in use."""
        if not self.waiting or len(self.running) >= self.cap:
            return False
        seq = self.waiting[0]
        return used + seq.prompt_tokens + 1 - seq.prefilled <= self.kv_capacity

    def _preempt_if_full(self, decoders: list[Sequence], chunks: list[tuple[Sequence, int]], used: int) -> int:
        """Evict the newest sequences (recompute later) until this step's new KV entries fit; returns KV tokens in use."""
        need = len(decoders) + sum(c for _, c in chunks)
        while self.running and used + need > self.kv_capacity and len(self.running) > 1:
            victim = self.running.pop()
            used -= victim.context
            need -= 1 if victim.prefilled >= victim.prompt_tokens else next((c for s, c in chunks if s is victim), 0)
            victim.prompt_tokens += victim.decoded_in_cache
            victim.decoded_in_cache = 0
            victim.prefilled = 0
            self.waiting.appendleft(victim)
            self.num_preemptions += 1
        return used

    def finish_step(self, now_s: float) -> list[Completion]:
        """Apply the planned step at its end time; returns the requests that finished."""
        assert self._plan is not None, "finish_step without start_step"
        chunks, decoders, steps = self._plan
        self._plan = None
        self.busy_until_s = None
        emitted: list[tuple[Sequence, int]] = []
        for seq, chunk in chunks:
            seq.prefilled += chunk
            if seq.prefilled >= seq.prompt_tokens and seq.generated == 0:
                seq.generated = 1
                seq.first_token_at_s = now_s
                emitted.append((seq, 1))
        for seq in decoders:
            seq.generated += steps
            seq.decoded_in_cache += steps
        if self.records_emitted:
            emitted.extend((seq, steps) for seq in decoders)
            self.last_emitted = emitted
        done = [s for s in self.running if s.generated >= s.output_tokens and s.prefilled >= s.prompt_tokens]
        if done:
            finished = set(map(id, done))
            self.running = [s for s in self.running if id(s) not in finished]
        return [Completion(s.rid, s.admitted_at_s, s.first_token_at_s, now_s, s.output_tokens) for s in done]
