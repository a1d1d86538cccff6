"""One replica of a serving engine, stepped in simulated time with the capacity model's step times.

Each step carries one token per decoding sequence plus prefill chunks within the engine's token budget (chunked
prefill); admission follows the scheduler policy while the running cap and the KV cache allow (a prompt's KV is
reserved when it is admitted); when decoders cannot grow, the newest sequence is preempted and later recomputed.

Cost per event does not grow with the batch: decoders share one decode-step counter `v`, so a sequence's progress,
its KV size and its finishing step follow from where it joined; running totals hold the sum of contexts and a heap
the nearest completion. Pure decode stretches advance in bulk — k steps at once up to the nearest completion or
KV limit, their time the trapezoid of the first and last step (exact: step time is linear in the KV read while the
batch is fixed). An arrival that can be admitted cuts the stretch at the step in progress (`cut`).

Saturated batch work (a queue holding only one batch job's identical requests, every running sequence from it)
settles into a periodic pattern; once two consecutive windows of completions agree (or windows alternate, each
agreeing with the one two before), whole periods are replayed analytically (`jump`) up to the next arrival, leaving
the job's last requests to exact steps. `exact=True` turns that off; a test checks both agree within 1%.
# Source: Kwon et al., "PagedAttention" (SOSP 2023) sections 4.2 and 4.5 (block allocation, recompute preemption);
# Agrawal et al., "Sarathi-Serve" (OSDI 2024) for chunked prefill.
"""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np

from tokenlane.capacity import Deployment, kv_cache, prefill_load, step_table
from tokenlane.simulate.entities import Run, Seq
from tokenlane.simulate.log import REJECTED_CONTEXT, REJECTED_KV, REJECTED_QUEUE, SERVED, TRUNCATED, DiscardLog, LogBuilder
from tokenlane.simulate.schedulers import SchedulerPolicy

STATIONARY_TOLERANCE = 1e-3
"""Two windows of completions count as the same pattern when their durations differ by less than this fraction."""
PREEMPTION_TOLERANCE = 0.01
"""Windows of a KV-bound job preempt a few sequences more or fewer each while serving as many requests in as many steps
(223, 225, 223 of 6,532 on the finetuned-extraction example, which then replayed nothing and stepped all 80k
requests); they count as alike within this fraction. Its job then completes within 0.0002% of exact steps."""
MAX_WINDOW_GENERATIONS = 64
"""A window starts as one generation of completions (as many as run together) and doubles, up to this many
generations, while consecutive windows disagree (a pattern with a longer period, e.g. periodic preemptions)."""
JUMP_RESERVE_WINDOWS = 1
"""Periods of a job's requests always left to exact steps at its end (the tail, where the batch drains)."""
MIN_WINDOW_GENERATIONS = 8
"""A window spans at least this many generations: windows of one or two generations can agree while the pattern's
period is longer (seen: +1.5% on a 40k-request job of 1,200 + 80 tokens on vLLM on an H100, replayed in windows of
two generations; `tests/integration/test_one_day.py` checks batch jobs of several sizes against exact steps)."""
MIN_WINDOW_SHARE = 0.01
"""A window spans at least this share of the job's remaining requests (up to MAX_WINDOW_GENERATIONS generations):
two short windows can agree while an irregular one (an admission or preemption phase every few dozen generations)
falls between them, and replaying the short ones then misses its time (seen: 1.3% on a KV-bound 100k-request job).
Two such windows are stepped exactly before a replay: about 2% of a job."""


_Window = tuple[float, int, float, float, float, int, list[tuple[float, float, float]]]
"""A window of completions: (duration s, steps, busy s, of it steps carrying prefill s, concurrency area,
preemptions, (admitted, first token, finished) s of each request completed in it)."""


def _alike(a: _Window, b: _Window) -> bool:
    """Two windows served as many requests, in as many steps and as long (within STATIONARY_TOLERANCE), with as many
    preemptions (within PREEMPTION_TOLERANCE)."""
    (d1, s1, _, _, _, e1, p1), (d2, s2, _, _, _, e2, p2) = a, b
    tol = STATIONARY_TOLERANCE
    preempted_alike = abs(e1 - e2) <= PREEMPTION_TOLERANCE * max(e1, e2)
    return len(p1) == len(p2) and preempted_alike and abs(s1 - s2) <= tol * s2 and abs(d1 - d2) <= tol * d2


class Replica:
    """Scheduler state of one replica: `start_step` plans the next step (or stretch), `finish_step` applies it."""

    def __init__(self, dep: Deployment, policy: SchedulerPolicy, log: LogBuilder | DiscardLog, *, exact: bool = False) -> None:
        self.dep = dep
        self.policy = policy
        self.log = log
        self.exact = exact
        self.table = step_table(dep)
        self.kv = kv_cache(dep)
        self.cap = policy.running_cap()
        self.context_limit = policy.context_limit()
        self.budget = dep.engine.max_batched_tokens
        self.max_queue = dep.engine.max_queued_requests
        self.queue = policy.new_queue()
        self.queued = 0
        self._has_runs = False
        self.outstanding = 0
        """Requests in the replica (running + waiting), for the least-outstanding-requests router."""
        self.running: dict[Seq, None] = {}
        """Admitted sequences, oldest first."""
        self.prefilling: list[Seq] = []
        self.held_prefill = 0.0
        """KV slots reserved by sequences still prefilling (their whole prompt + 1)."""
        self.v = 0
        self.n_dec = 0
        self.s_base = 0
        """Sum over decoders of (context - v): the decoders' contexts sum to s_base + n_dec * v."""
        self._heap: list[tuple[int, int, Seq]] = []
        self._tie = itertools.count()
        self._base = np.zeros(max(1, self.cap), dtype=np.int64)
        self._is_dec = np.zeros(max(1, self.cap), dtype=bool)
        self._free_slots = list(range(max(1, self.cap) - 1, -1, -1))
        self._window = self.kv.window_tokens
        self._block = self.kv.block_tokens
        self._blocks_base = 0
        """Sum over decoders of floor(base / block): with `_residues`, the exact blocks they hold at any step."""
        self._residues = [0] * self._block
        """Decoders by base mod block."""
        self._pad = self.kv.block_tokens - 1 + self.kv.state_tokens
        """Most slots a sequence holds beyond its context: a block's padding and its linear-attention state."""
        self._plain_kv = self.kv.block_tokens == 1 and not self.kv.window_tokens and not self.kv.state_tokens
        """A sequence holds exactly its context (no blocks, no windows, no state): KvCache.tokens_held is the identity."""
        self._running_by_job: dict[int, int] = {}
        self._plan: tuple[str, float, int, float, float, list[tuple[Seq, int]]] | None = None
        """(kind, start_s, steps, first step s, last step s, prefill chunks) of the step in flight."""
        self._windows: list[_Window] = []
        """The last windows of completions (up to four) while saturated with one batch job."""
        self._replaying: _Window = (0.0, 0, 0.0, 0.0, 0.0, 0, [])
        """The period the jump in flight replays."""
        self._anchor: tuple[float, int, float, float, float, int] | None = None
        self._pattern: list[tuple[float, float, float]] = []
        self._generations = 1
        self.busy_s = 0.0
        self.prefill_busy_s = 0.0
        """Of `busy_s`, the steps that carried prefill (compute-bound; the rest decode, memory-bound): what power draws."""
        self.concurrency_area = 0.0
        self.peak_running = 0
        self.num_steps = 0
        self.num_preemptions = 0

    # -- arrivals ---------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._plan is not None

    def check(self, prompt: int, output: int, *, queue: bool = True) -> tuple[int, int]:
        """(outcome code, output tokens that fit) of a request arriving now: SERVED, TRUNCATED or a rejection (`queue`:
        a full queue rejects it; off for a cache handed over by a prefill replica, which the decode replica admits when
        it can)."""
        if prompt + 1 > self.context_limit:
            return REJECTED_CONTEXT, 0
        if self.kv.tokens_held(prompt + 1) > self.kv.capacity_tokens:
            return REJECTED_KV, 0
        if queue and self.max_queue is not None and self.queued >= self.max_queue:
            return REJECTED_QUEUE, 0
        if prompt + output > self.context_limit:
            return TRUNCATED, self.context_limit - prompt
        return SERVED, output

    def submit(self, entry: Seq | Run) -> None:
        """Queue a checked request (or a run of identical ones)."""
        self.queue.push(entry)
        if isinstance(entry, Run):
            n = entry.count
            self._has_runs = True
        else:
            n = 1
        self.queued += n
        self.outstanding += n
        self._windows.clear()
        self._anchor = None

    def abort(self, seq: Seq) -> None:
        """Drop a request (its client went away); its KV cache is freed with it."""
        if seq in self.running:
            self._remove_running(seq)
            self.outstanding -= 1
        elif self.queue.remove(seq):
            self.queued -= 1
            self.outstanding -= 1

    def head_admissible(self) -> bool:
        """The head of the queue would be admitted at the next step boundary."""
        head = self.queue.head()
        if head is None or len(self.running) >= self.cap:
            return False
        return not self.running or self._fits(self._need(head))

    # -- KV accounting (capacity.KvCache is the one home of what a sequence holds) -----------------------------

    def _need(self, entry: Seq | Run) -> float:
        """KV slots to reserve when admitting `entry`: its whole prompt and the first token."""
        prompt = entry.to_prefill if isinstance(entry, Seq) else entry.prompt
        return prompt + 1 if self._plain_kv else float(self.kv.tokens_held(prompt + 1))

    def _kv_used(self, *, exact: bool, ahead: int = 0) -> float:
        """KV slots held with every decoder `ahead` steps further; an upper bound unless `exact`."""
        kv = self.kv
        contexts = self.s_base + self.n_dec * (self.v + ahead)
        if self._plain_kv:
            return self.held_prefill + contexts
        if not exact:
            return self.held_prefill + contexts + self.n_dec * self._pad
        if not self._window:
            return self.held_prefill + self._blocks_held(self.v + ahead) * self._block + self.n_dec * kv.state_tokens
        ctx = self._base[self._is_dec] + (self.v + ahead)
        return self.held_prefill + float(np.sum(kv.tokens_held(ctx)))

    def _blocks_held(self, v: int) -> int:
        """Sum over decoders of ceil((base + v) / block), the blocks they hold at decode step `v`, from the running
        counts: with base = q block + r and v + block - 1 = Q block + s, each holds q + Q + (1 if r >= block - s)."""
        big, s = divmod(v + self._block - 1, self._block)
        crossing = sum(self._residues[self._block - s :]) if s else 0
        return self._blocks_base + self.n_dec * big + crossing

    def kv_share(self) -> float:
        """Share of the KV cache held now (an upper bound within a block per sequence): an autoscaler's signal."""
        return self._kv_used(exact=False) / self.kv.capacity_tokens if self.kv.capacity_tokens else 1.0

    def _fits(self, need: float, *, ahead: int = 0) -> bool:
        cap = self.kv.capacity_tokens
        upper = self.held_prefill + self.s_base + self.n_dec * (self.v + ahead + self._pad) + need
        return upper <= cap or self._kv_used(exact=True, ahead=ahead) + need <= cap

    # -- admission, preemption ---------------------------------------------------------------------------------

    def _admit(self, now_s: float) -> None:
        while self.queued and len(self.running) < self.cap:
            head = self.queue.head()
            assert head is not None
            need = self._need(head)
            if self.running and not self._fits(need):
                break
            seq = self.queue.pop()
            self.queued -= 1
            if seq.admitted_s < 0:
                seq.admitted_s = now_s
                self.log.cols["admitted_s"][seq.rid] = now_s
            self.running[seq] = None
            self.prefilling.append(seq)
            seq.held = need
            self.held_prefill += need
            self._running_by_job[seq.job] = self._running_by_job.get(seq.job, 0) + 1
        self.peak_running = max(self.peak_running, len(self.running))

    def _remove_running(self, seq: Seq) -> None:
        del self.running[seq]
        self._running_by_job[seq.job] -= 1
        if seq.join_v >= 0:
            self.n_dec -= 1
            self.s_base -= seq.ctx_join - seq.join_v
            self._is_dec[seq.slot] = False
            self._count_base(seq.ctx_join - seq.join_v, -1)
            self._free_slots.append(seq.slot)
            seq.join_v = -1
            seq.finish_v = -1
        else:
            self.prefilling.remove(seq)
            self.held_prefill -= seq.held

    def _preempt_for_growth(self) -> None:
        """Evict the newest sequences (recomputed later) until every decoder can add one token this step."""
        while len(self.running) > 1 and not self._fits(0.0, ahead=1):
            victim = next(reversed(self.running))
            if victim.join_v >= 0:
                victim.generated += self.v - victim.join_v
                victim.to_prefill = victim.prompt + victim.generated
            self._remove_running(victim)
            victim.prefilled = 0
            self.queue.push_front(victim)
            self.queued += 1
            self.num_preemptions += 1

    def _join_decoders(self, seq: Seq) -> None:
        slot = self._free_slots.pop()
        seq.slot = slot
        seq.join_v = self.v
        seq.ctx_join = seq.to_prefill
        seq.finish_v = self.v + seq.output - seq.generated
        self._base[slot] = seq.ctx_join - self.v
        self._is_dec[slot] = True
        self._count_base(seq.ctx_join - self.v, 1)
        self.n_dec += 1
        self.s_base += seq.ctx_join - self.v
        heapq.heappush(self._heap, (seq.finish_v, next(self._tie), seq))

    def _count_base(self, base: int, sign: int) -> None:
        """Add (sign 1) or drop (sign -1) a decoder of `base` (its context less the step counter) in `_blocks_held`'s
        counts."""
        q, r = divmod(base, self._block)
        self._blocks_base += sign * q
        self._residues[r] += sign

    def _nearest_finish(self) -> int:
        """Decode-step count at which the next decoder finishes (stale heap entries dropped)."""
        heap = self._heap
        while heap:
            finish_v, _, seq = heap[0]
            if seq.join_v >= 0 and seq.finish_v == finish_v and seq in self.running:
                return finish_v
            heapq.heappop(heap)
        return self.v + 1

    # -- steps --------------------------------------------------------------------------------------------------

    def _decode_seconds(self, ahead: int, chunk_load: tuple[float, ...] | None = None) -> float:
        """Time of a step with every decoder `ahead` steps further (plus prefill chunks' load terms)."""
        n = self.n_dec
        kv_full = float(self.s_base + n * (self.v + ahead + 1))
        kv_win = float(np.sum(np.minimum(self._base[self._is_dec] + self.v + ahead + 1, self._window))) if self._window and n else 0.0
        if chunk_load is None:
            return self.table.decode_seconds(n, kv_full, kv_win)
        return self.table.step_seconds(n, kv_full, kv_win, chunk_load)

    def start_step(self, now_s: float, *, horizon_s: float = math.inf, max_steps: int | None = None) -> float | None:
        """Plan the next step, stretch of decode steps, or replayed windows; returns when it ends (None if idle).

        `horizon_s` is the next arrival anywhere (replayed windows end by then); `max_steps` caps a stretch.
        """
        assert self._plan is None, "start_step while a step is in flight"
        if self._windows:
            jump = self._jump_windows(now_s, horizon_s)
            if jump:
                duration = jump * self._replaying[0]
                self._plan = ("jump", now_s, jump, duration, duration, [])
                return now_s + duration
        if self.queued:
            self._admit(now_s)
        if not self.running:
            return None
        n_dec = self.n_dec
        if n_dec and self.held_prefill + self.s_base + n_dec * (self.v + 1 + self._pad) > self.kv.capacity_tokens:
            self._preempt_for_growth()
            n_dec = self.n_dec
        if self.prefilling:
            budget = self.budget - n_dec
            chunks: list[tuple[Seq, int]] = []
            tokens = logits = kv_full = kv_win = pairs_full = pairs_win = 0.0
            for seq in self.prefilling:
                if budget <= 0:
                    break
                chunk = min(seq.to_prefill - seq.prefilled, budget)
                chunks.append((seq, chunk))
                budget -= chunk
                p = prefill_load(self.dep, chunk, seq.prefilled, samples=seq.prefilled + chunk >= seq.to_prefill)
                tokens += p.num_tokens
                logits += p.num_logits
                kv_full += p.kv_tokens_full
                kv_win += p.kv_tokens_window
                pairs_full += p.pairs_full
                pairs_win += p.pairs_window
            if chunks:
                duration = self._decode_seconds(0, (tokens, logits, kv_full, kv_win, pairs_full, pairs_win))
                self._plan = ("step", now_s, 1, duration, duration, chunks)
                return now_s + duration
        steps = self._nearest_finish() - self.v
        if max_steps is not None and steps > max_steps:
            steps = max_steps
        contexts = self.s_base + n_dec * (self.v + 1)
        first = self._decode_seconds(0) if self._window else self.table.decode_seconds(n_dec, contexts, 0.0)
        if steps > 1:
            free = self.kv.capacity_tokens - self.held_prefill - contexts + n_dec - n_dec * self._pad
            steps = max(1, min(steps, int(free // n_dec)))
        if steps == 1:
            self._plan = ("step", now_s, 1, first, first, [])
            return now_s + first
        last = self._decode_seconds(steps - 1) if self._window else self.table.decode_seconds(n_dec, contexts + n_dec * (steps - 1), 0.0)
        self._plan = ("step", now_s, steps, first, last, [])
        return now_s + _stretch_s(steps, first, last)

    def cut(self, now_s: float) -> float | None:
        """Make room at the next step boundary for a request that can be admitted now; returns the new end of the
        step in flight, or None when nothing changed.

        A decode stretch in progress keeps the steps done by `now_s` and the one under way; those are applied at
        once and the following step — which admits the request — is planned from their end. A step planned but not
        yet started is planned again with everything the queue now admits.
        """
        plan = self._plan
        if plan is None or plan[0] != "step":
            return None
        _, start, steps, first, last, _ = plan
        if start >= now_s:
            self._plan = None
            return self.start_step(start)
        if steps <= 1:
            return None
        # Smallest j with start + T(j) > now, T(j) = j a + c j (j - 1) / 2: the root of the quadratic, then adjusted.
        a, c, elapsed = first, (last - first) / (steps - 1), now_s - start
        if abs(c) > 1e-15 * a:
            b = a - c / 2
            j = int(max(0.0, (-b + math.sqrt(max(0.0, b * b + 2 * c * elapsed))) / c))
        else:
            j = int(elapsed / a)
        j = max(1, j)
        while j > 1 and _stretch_s(j - 1, a, last, steps) > elapsed:
            j -= 1
        while j < steps and _stretch_s(j, a, last, steps) <= elapsed:
            j += 1
        if j >= steps:
            return None
        boundary = start + _stretch_s(j, first, first + c * (j - 1))
        # The j steps end before the stretch's nearest completion and carry no prefill: only the counters move.
        self._plan = None
        self.busy_s += boundary - start
        self.concurrency_area += (boundary - start) * len(self.running)
        self.num_steps += j
        self.v += j
        return self.start_step(boundary)

    def finish_step(self, now_s: float) -> list[Seq]:
        """Apply the step (or stretch) in flight at its end time; returns the sequences that finished."""
        assert self._plan is not None, "finish_step without start_step"
        kind, start, steps, _, _, chunks = self._plan
        self._plan = None
        duration = now_s - start
        if kind == "jump":
            self._replay(now_s, steps)
            return []
        self.busy_s += duration
        if any(chunk for _, chunk in chunks):  # (a cache handed over whole samples its first token with no prompt work)
            self.prefill_busy_s += duration
        self.concurrency_area += duration * len(self.running)
        self.num_steps += steps
        self.v += steps
        done: list[Seq] = []
        heap = self._heap
        while heap and heap[0][0] <= self.v:
            finish_v, _, seq = heapq.heappop(heap)
            if seq.join_v >= 0 and seq.finish_v == finish_v and seq in self.running:
                seq.generated += self.v - seq.join_v
                self._remove_running(seq)
                done.append(seq)
        log = self.log.cols
        for seq, chunk in chunks:
            if seq not in self.running:
                continue
            seq.prefilled += chunk
            if seq.prefilled < seq.to_prefill:
                continue
            self.prefilling.remove(seq)
            self.held_prefill -= seq.held
            seq.generated += 1
            if seq.first_s < 0:
                seq.first_s = now_s
                log["first_token_s"][seq.rid] = now_s
            if seq.generated >= seq.output:
                del self.running[seq]
                self._running_by_job[seq.job] -= 1
                done.append(seq)
            else:
                self._join_decoders(seq)
        self.outstanding -= len(done)
        for seq in done:
            log["finished_s"][seq.rid] = now_s
            log["generated_tokens"][seq.rid] = seq.generated
        if done and self._has_runs:
            self._observe(now_s, done)
        return done

    # -- replaying saturated batch windows ------------------------------------------------------------------------

    def _steady_job(self) -> Run | None:
        """The batch run this replica is saturated with: the queue holds only its job's requests, ending with the
        run (so every admission refills the batch from it), and every running sequence comes from that job."""
        run = None if self.exact else self.queue.batch_run()
        if run is None:
            return None
        return run if self._running_by_job.get(run.job, 0) == len(self.running) else None

    def _observe(self, now_s: float, done: list[Seq]) -> None:
        """Record completions into windows of one generation each while the replica is saturated with one job."""
        if self._steady_job() is None:
            self._windows.clear()
            self._anchor = None
            return
        if self._anchor is None:
            self._anchor = (now_s, self.num_steps, self.busy_s, self.prefill_busy_s, self.concurrency_area, self.num_preemptions)
            self._pattern = []
            run = self._steady_job()
            assert run is not None
            least = max(MIN_WINDOW_GENERATIONS, math.ceil(MIN_WINDOW_SHARE * run.count / max(1, len(self.running))))
            self._generations = max(self._generations, min(MAX_WINDOW_GENERATIONS, least))
            return
        self._pattern.extend((s.admitted_s, s.first_s, now_s) for s in done)
        if len(self._pattern) < self._generations * len(self.running):
            return
        t0, steps0, busy0, prefill0, area0, pre0 = self._anchor
        self._windows.append(
            (
                now_s - t0,
                self.num_steps - steps0,
                self.busy_s - busy0,
                self.prefill_busy_s - prefill0,
                self.concurrency_area - area0,
                self.num_preemptions - pre0,
                self._pattern,
            )
        )
        del self._windows[:-4]
        if len(self._windows) == 2 and not _alike(*self._windows) and self._generations < MAX_WINDOW_GENERATIONS:
            self._generations *= 2
            self._windows.clear()
        self._anchor = (now_s, self.num_steps, self.busy_s, self.prefill_busy_s, self.concurrency_area, self.num_preemptions)
        self._pattern = []

    def _period(self) -> _Window | None:
        """The window that repeats: the last, when it agrees with the one before; the last two together, when windows
        alternate (each agrees with the one two before it, as when completions clump at the windows' edges and the
        windows' sizes alternate, which a window at MAX_WINDOW_GENERATIONS can no longer double away); else None."""
        w = self._windows
        if len(w) >= 2 and _alike(w[-2], w[-1]):
            return w[-1]
        if len(w) == 4 and _alike(w[0], w[2]) and _alike(w[1], w[3]):
            (d1, s1, b1, f1, a1, e1, p1), (d2, s2, b2, f2, a2, e2, p2) = w[-2], w[-1]
            return d1 + d2, s1 + s2, b1 + b2, f1 + f2, a1 + a2, e1 + e2, p1 + p2
        return None

    def _jump_windows(self, now_s: float, horizon_s: float) -> int:
        """How many whole periods (`_period`) can be replayed now (0 unless the windows repeat)."""
        if len(self._windows) < 2 or self._anchor is None or self._anchor[0] != now_s:
            return 0
        period = self._period()
        run = self._steady_job()
        if period is None or run is None:
            return 0
        self._replaying = period
        by_queue = run.count // len(period[6]) - JUMP_RESERVE_WINDOWS
        by_time = int((horizon_s - now_s) // period[0]) if math.isfinite(horizon_s) else by_queue
        return max(0, min(by_queue, by_time))

    def _replay(self, now_s: float, windows: int) -> None:
        """Serve `windows` windows of the run at the head of the queue with the last window's timing, shifted."""
        duration, steps, busy, prefill, area, preemptions, pattern = self._replaying
        run = self.queue.batch_run()
        assert run is not None
        n = windows * len(pattern)
        times = np.asarray(pattern, dtype=float)
        shifts = np.repeat(np.arange(1, windows + 1) * duration, len(pattern))
        rids = slice(run.first_rid, run.first_rid + n)
        cols = self.log.cols
        for k, name in enumerate(("admitted_s", "first_token_s", "finished_s")):
            cols[name][rids] = np.tile(times[:, k], windows) + shifts
        cols["generated_tokens"][rids] = run.output
        cols["outcome"][rids] = SERVED
        run.first_rid += n
        run.count -= n
        self.queued -= n
        self.outstanding -= n
        shift = windows * duration
        for seq in [*self.running, *self.queue.sequences()]:
            if seq.admitted_s < 0:
                continue
            seq.admitted_s += shift
            cols["admitted_s"][seq.rid] = seq.admitted_s
            if seq.first_s >= 0:
                seq.first_s += shift
                cols["first_token_s"][seq.rid] = seq.first_s
        self.busy_s += windows * busy
        self.prefill_busy_s += windows * prefill
        self.concurrency_area += windows * area
        self.num_steps += windows * steps
        self.num_preemptions += windows * preemptions
        self._windows.clear()
        self._anchor = None

    # -- replicas that would do the same ------------------------------------------------------------------------

    def twin_key(self) -> int | None:
        """What decides this replica's future when it is idle and nothing more arrives anywhere but one share of a
        batch: two idle replicas with the same key given the same share step alike (their step counters differ by a
        constant, which no step time reads; the key is the replay window's length, the one state a past batch
        leaves). None while it holds requests."""
        return None if self.outstanding or self._plan is not None else self._generations

    def counters(self) -> tuple[float, float, float, int, int]:
        """(busy s, prefill busy s, concurrency area, steps, preemptions) so far."""
        return self.busy_s, self.prefill_busy_s, self.concurrency_area, self.num_steps, self.num_preemptions

    def add_twin_work(self, twin: Replica, since: tuple[float, float, float, int, int]) -> None:
        """Count as done here what `twin` did since its counters read `since` (this replica's share, served alike)."""
        now = twin.counters()
        self.busy_s += now[0] - since[0]
        self.prefill_busy_s += now[1] - since[1]
        self.concurrency_area += now[2] - since[2]
        self.num_steps += now[3] - since[3]
        self.num_preemptions += now[4] - since[4]
        self.peak_running = max(self.peak_running, twin.peak_running)  # the fleet's peak (the max over replicas) is kept

    # -- the emulator's view ------------------------------------------------------------------------------------

    def generated(self, seq: Seq) -> int:
        """Tokens `seq` has generated so far."""
        return seq.generated + (self.v - seq.join_v if seq.join_v >= 0 else 0)


def _stretch_s(steps: int, first: float, last: float, of: int | None = None) -> float:
    """Duration of the first `steps` steps of a stretch of `of` steps (default `steps`) whose step time grows
    linearly from `first` to `last`: steps x first + (last - first) / (of - 1) x steps (steps - 1) / 2."""
    total = of or steps
    if total <= 1:
        return steps * first
    return steps * first + (last - first) / (total - 1) * steps * (steps - 1) / 2
