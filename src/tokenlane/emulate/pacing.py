"""Run the simulator's engine in real time: each step lasts what the capacity model says, then its tokens go out.

The scheduling (continuous batching, slots, one at a time) is the simulator's `Replica` with the engine's own
scheduler policy, stepped one step at a time on the wall clock, so every stream's pace depends on how many others
are running, as on the real box.
Steps are scheduled against absolute deadlines (monotonic clock), so sleep overshoot does not accumulate.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from tokenlane.capacity import Deployment
from tokenlane.simulate.entities import Seq
from tokenlane.simulate.log import REJECTED, DiscardLog
from tokenlane.simulate.replica import Replica
from tokenlane.simulate.schedulers import scheduler_for

MAX_CACHED_BLOCKS = 1_000_000
"""Block hashes the emulated prefix cache keeps (about 100 MB); the oldest go first."""


class PrefixCache:
    """Which leading blocks of a prompt the server has seen, by hash of the text up to each block's end (a prompt's
    i-th block is cached when an earlier prompt had the same first i blocks), as vLLM's automatic prefix caching
    does with token blocks. Text is cut at `bytes_per_token` x `block_tokens` bytes per block (the engine's KV block).
    """

    def __init__(self, bytes_per_token: int, block_tokens: int) -> None:
        self._block_tokens = block_tokens
        self._block_bytes = bytes_per_token * block_tokens
        self._seen: dict[int, None] = {}

    def lookup(self, text: str) -> int:
        """Prompt tokens of `text` found in the cache (whole blocks); the prompt's blocks are then remembered."""
        data = text.encode()
        hits, chain, found = 0, 0, True
        for end in range(self._block_bytes, len(data) + 1, self._block_bytes):
            chain = hash((chain, data[end - self._block_bytes : end]))
            if found and chain in self._seen:
                hits += 1
            else:
                found = False
                self._seen[chain] = None
        while len(self._seen) > MAX_CACHED_BLOCKS:
            del self._seen[next(iter(self._seen))]
        return hits * self._block_tokens


@dataclass
class Stream:
    """One request's token queue; `None` ends it."""

    seq: Seq
    queue: asyncio.Queue[int | None] = field(default_factory=asyncio.Queue)
    rejected: bool = False
    sent: int = 0
    """Tokens already put on the queue."""


class PacedEngine:
    """A simulator replica driven by a background task on the asyncio clock."""

    def __init__(self, dep: Deployment) -> None:
        self.engine = Replica(dep, scheduler_for(dep), DiscardLog())
        self.streams: dict[int, Stream] = {}
        self._ids = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.tokens_generated = 0
        self.steps = 0

    @property
    def context_limit(self) -> int:
        """Most tokens (prompt + output) one request may have on this engine."""
        return self.engine.context_limit

    @property
    def active(self) -> int:
        """Requests admitted or waiting."""
        return self.engine.outstanding

    def start(self) -> None:
        """Start the stepping task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def submit(self, prompt_tokens: int, max_tokens: int, cached_tokens: int = 0) -> Stream:
        """Queue a request (`cached_tokens` of its prompt already in the prefix cache); the returned stream yields one
        int per generated token, then None."""
        prompt, output = max(1, prompt_tokens), max(1, max_tokens)
        code, fits = self.engine.check(prompt, output)
        cached = min(cached_tokens, prompt - 1)
        seq = Seq(next(self._ids), prompt=prompt, output=max(1, fits), cached=cached, arrival_s=0.0, job=-1)
        stream = Stream(seq)
        if code in REJECTED:
            stream.rejected = True
            stream.queue.put_nowait(None)
            return stream
        self.engine.submit(seq)
        self.streams[seq.rid] = stream
        self._wake.set()
        return stream

    def abort(self, stream: Stream) -> None:
        """Stop generating for a stream whose client disconnected."""
        if self.streams.pop(stream.seq.rid, None) is not None:
            self.engine.abort(stream.seq)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        clock = loop.time()
        while True:
            if not self.engine.outstanding:
                self._wake.clear()
                await self._wake.wait()
                clock = loop.time()
            end = self.engine.start_step(clock, max_steps=1)
            if end is None:
                self._wake.clear()
                await self._wake.wait()
                clock = loop.time()
                continue
            delay = end - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            clock = end
            done = self.engine.finish_step(end)
            self.steps += 1
            for stream in self.streams.values():
                count = self.engine.generated(stream.seq) - stream.sent
                for _ in range(count):
                    stream.queue.put_nowait(1)
                stream.sent += count
                self.tokens_generated += count
            for seq in done:
                stream = self.streams.pop(seq.rid, None)
                if stream is not None:
                    stream.queue.put_nowait(None)

    async def tokens(self, stream: Stream) -> AsyncIterator[int]:
        """Yield a token index each time the engine produces one for this stream."""
        index = 0
        while (item := await stream.queue.get()) is not None:
            yield index
            index += item
