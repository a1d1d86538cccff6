"""The scenario file: pydantic models of what users write, and `load_scenario()`.

Unknown fields and sections are errors (extra="forbid"), so a typo is reported rather than silently dropped.
Errors name the file, the line and the dotted field: `team.yaml: line 4: workload.users: must be > 0`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import numpy as np
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tokenlane.errors import InputError, ScenarioError
from tokenlane.files import regular_file
from tokenlane.traces import CsvColumns, Trace, TraceFormat, read_trace
from tokenlane.units import S_PER_HOUR
from tokenlane.yaml_input import load_yaml

MAX_TOKENS_PER_REQUEST = 10_000_000
"""Most tokens one request may ask for (prompt or output): beyond every model's context."""
Pos = Annotated[float, Field(gt=0)]
Tokens = Annotated[float, Field(gt=0, le=MAX_TOKENS_PER_REQUEST)]
TokenCount = Annotated[int, Field(gt=0, le=MAX_TOKENS_PER_REQUEST)]
NonNeg = Annotated[float, Field(ge=0)]
PosInt = Annotated[int, Field(gt=0)]
Frac = Annotated[float, Field(ge=0, le=1)]
LN10 = math.log(10.0)
"""-ln(1 - 0.9): the Weibull 90th-percentile factor."""


def weibull_p90_over_mean(k: float) -> float:
    """p90 / mean of a Weibull with shape k: (ln 10)^(1/k) / Gamma(1 + 1/k).

    # Source: Weibull quantile and mean, NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.6.8.
    """
    return LN10 ** (1 / k) / math.gamma(1 + 1 / k)


WEIBULL_PEAK_SHAPE = max((k / 1000 for k in range(200, 2000)), key=weibull_p90_over_mean)
"""Shape at which p90/mean peaks (~0.56); shapes above it give every ratio in (1, max] once."""
MAX_P90_OVER_MEAN = weibull_p90_over_mean(WEIBULL_PEAK_SHAPE)


MAX_USERS = 1_000_000
"""Most users a workload may have (the simulator keeps per-user state)."""
MAX_REQUESTS_PER_DAY = 20_000_000
"""Most requests one simulated day may make, batch jobs included (about 60 bytes of log each)."""
MAX_INTERACTIVE_REQUESTS_PER_DAY = 2_000_000
"""Most interactive requests one process simulates in a day: each is stepped through the engine (~20 us of CPU), so
this keeps one day under a minute on a 2-core machine (batch jobs replay their steady windows and may be larger). A day
sharded by replica over a Ray cluster (`tokenlane simulate --ray`) may make up to MAX_REQUESTS_PER_DAY."""
MAX_REPLICAS = 1024
"""Most replicas an option may have or be sized to."""
MIN_CLOSED_LOOP_CYCLE_S = 1.0
"""A closed-loop user sends at most one request per (think time, at least this many seconds): the load-time
estimate of a closed-loop day's requests."""


JURISDICTIONS = ("on_prem", "eu", "us", "uk", "ch", "ca", "cn", "jp", "kr", "in", "sg", "au", "br")
"""Where prompts may be processed: on the organisation's own premises, or a jurisdiction (ISO-3166-style codes; `eu`
for the European Union). A specific cloud region is written `<jurisdiction>-<region>` (`eu-frankfurt`, `us-east-1`)."""


def jurisdiction_of(code: str) -> str | None:
    """The jurisdiction a place code belongs to (`us-east-1` -> `us`), or None when the code is not one."""
    if code in JURISDICTIONS:
        return code
    head = code.split("-", 1)[0]
    return head if head in JURISDICTIONS and head != "on_prem" and "-" in code else None


def _check_place(code: str) -> str:
    if jurisdiction_of(code) is None:
        raise ValueError(f"unknown jurisdiction '{code}'; use one of {', '.join(JURISDICTIONS)}, or <jurisdiction>-<region>")
    return code


Place = Annotated[str, AfterValidator(_check_place)]


TRACE_QUANTILES = (*(i / 20 for i in range(20)), 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0)
"""Probabilities of the quantile table a trace's token counts become: every 5%, then ever closer to the largest, so
the straight-line segment that reaches the maximum carries 0.01% of the requests and the table's mean stays within
about 1% of the log's. (The simulator replays a trace's own counts; the tables serve `{from: ...}`, `workload fit`
and the estimates made before simulating.)"""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False, strict=True)


class TraceColumns(_Model):
    """Column names of a generic CSV trace."""

    timestamp: Annotated[str, Field(min_length=1)]
    input: Annotated[str, Field(min_length=1)]
    output: Annotated[str, Field(min_length=1)]
    timestamp_unit: Literal["s", "ms"] = "s"
    """Unit of numeric timestamps (ISO dates and times are read as such)."""
    user: Annotated[str, Field(min_length=1)] | None = None
    """Column naming who sent the request (only counted, never copied)."""
    session: Annotated[str, Field(min_length=1)] | None = None
    """Column naming the conversation: a longer prompt in the same session resends the previous turn (cache hits)."""
    cached: Annotated[str, Field(min_length=1)] | None = None
    """Column of cached prompt tokens the log reports."""


class TraceFile(_Model):
    """A request log (formats in tokenlane/traces.py)."""

    path: Annotated[str, Field(min_length=1)]
    """The trace file, relative to the scenario file."""
    format: TraceFormat
    columns: TraceColumns | None = None
    """csv: which columns hold the timestamp and the input and output token counts."""

    @model_validator(mode="after")
    def _check_columns(self) -> TraceFile:
        if (self.format == "csv") != (self.columns is not None):
            raise ValueError("a csv trace needs `columns` {timestamp, input, output}, and only a csv trace takes them")
        return self

    def read(self) -> Trace:
        """The trace's requests (read once per process and kept; errors name the file, line and column)."""
        cols = self.columns
        csv_columns = (
            CsvColumns(cols.timestamp, cols.input, cols.output, cols.timestamp_unit == "ms", cols.user, cols.session, cols.cached)
            if cols
            else None
        )
        return read_trace(self.path, self.format, max_requests=MAX_INTERACTIVE_REQUESTS_PER_DAY, columns=csv_columns)

    def relative_to(self, folder: Path) -> Self:
        """This reference with its path as it is to be opened from `folder` (the scenario file's)."""
        return self.model_copy(update={"path": str(folder / self.path)})


class TraceSource(TraceFile):
    """A request log replayed as the day's interactive traffic."""

    start_hour: Annotated[float, Field(ge=0, lt=24)] = 0.0
    """Hour of the simulated day at which the trace's first request arrives."""
    rate_multiplier: Annotated[float, Field(gt=0, le=1000)] = 1.0
    """Replay this many times faster (arrival gaps divided by it); token counts are unchanged."""
    block_tokens: Annotated[int, Field(gt=0, le=1_000_000)] = 512
    """Prompt tokens per `hash_ids` block (Mooncake: 512)."""
    recorded_users: Annotated[int, Field(gt=0, le=MAX_USERS)] | None = None
    """People whose requests the trace holds (default: the distinct users it names, else the workload's `users`).
    The workload's `users` over this scales the traffic: more people send more copies of the trace's requests."""
    repeat_hours: Annotated[float, Field(gt=0, le=24)] | None = None
    """Repeat the trace to fill this many hours, each repetition's rate following the workload's `hourly_weights`
    (default: the office-day curve); without it the trace is replayed once."""

    def replay_plan(self, trace: Trace, users: int) -> TracePlan:
        """How the trace fills the day for `users` people: its period, repetitions and traffic scale."""
        period_s = trace.period_s / self.rate_multiplier
        tiles = max(1, round(self.repeat_hours * S_PER_HOUR / period_s)) if self.repeat_hours else 1
        recorded = self.recorded_users or trace.users or users
        return TracePlan(period_s=period_s, tiles=tiles, scale=users / recorded, recorded_users=recorded)


@dataclass(frozen=True)
class TracePlan:
    """A trace laid over the day: `tiles` back-to-back repetitions of `period_s` seconds, each request sent by
    `scale` x its repetition's hourly weight people on average (whole copies, the fraction by thinning)."""

    period_s: float
    tiles: int
    scale: float
    recorded_users: int

    @property
    def hours(self) -> float:
        """Hours the replay spans."""
        return self.tiles * self.period_s / S_PER_HOUR


class TokenDistribution(_Model):
    """Token counts per request: a constant; {mean, p90} (a Weibull with that mean and p90); explicit values with
    weights; a quantile table {probability: tokens}; or {from: trace file}, the empirical distribution of a log."""

    mean: Tokens | None = None
    """Mean tokens."""
    p90: Tokens | None = None
    """90th-percentile tokens; with `mean` defines a Weibull distribution (p90 equal to the mean: a constant)."""
    values: Annotated[list[TokenCount], Field(min_length=1, max_length=10_000)] | None = None
    """Explicit token counts."""
    weights: Annotated[list[Pos], Field(min_length=1, max_length=10_000)] | None = None
    """Relative weights of `values` (default equal)."""
    quantiles: Annotated[dict[Annotated[float, Field(ge=0, le=1)], TokenCount], Field(min_length=2, max_length=10_000)] | None = None
    """Quantile table {probability: tokens} from 0 (the smallest) to 1 (the largest), straight lines between."""
    from_: TraceFile | None = Field(default=None, alias="from")
    """A request log whose counts of this field are the distribution (read when the scenario is loaded)."""

    @model_validator(mode="before")
    @classmethod
    def _from_number(cls, data: Any) -> Any:
        return {"mean": data} if isinstance(data, int | float) and not isinstance(data, bool) else data

    @model_validator(mode="after")
    def _check(self) -> TokenDistribution:
        given = [k for k, v in (("mean", self.mean), ("values", self.values), ("quantiles", self.quantiles), ("from", self.from_)) if v]
        if len(given) != 1:
            raise ValueError("give one of: a number, {mean, p90}, {values, weights}, {quantiles} or {from}")
        if self.weights is not None and (self.values is None or len(self.weights) != len(self.values)):
            raise ValueError("weights must have one entry per value")
        if self.p90 is not None and self.mean is None:
            raise ValueError("p90 needs a mean")
        if self.p90 is not None and self.mean is not None and not self.mean <= self.p90 <= self.mean * MAX_P90_OVER_MEAN:
            raise ValueError(
                f"p90 must be at least the mean and at most {MAX_P90_OVER_MEAN:.2f} x mean (the heaviest Weibull tail; any "
                "distribution has p90 < 10 x mean); for a heavier tail give a quantile table, e.g. "
                "{quantiles: {0: 20, 0.5: 300, 0.9: 4000, 1: 30000}}"
            )
        if self.quantiles is not None:
            probs = sorted(self.quantiles)
            if probs[0] != 0 or probs[-1] != 1:
                raise ValueError("quantiles must give the smallest (0) and the largest (1) count")
            counts = [self.quantiles[p] for p in probs]
            if any(b < a for a, b in itertools.pairwise(counts)):
                raise ValueError("quantiles' counts must not decrease as the probability grows")
        return self

    @classmethod
    def from_counts(cls, counts: np.ndarray) -> TokenDistribution:
        """The quantile table of observed counts at the probabilities `TRACE_QUANTILES`."""
        values = np.maximum(1, np.rint(np.quantile(counts, TRACE_QUANTILES))).astype(int)
        return cls(quantiles={round(p, 6): int(v) for p, v in zip(TRACE_QUANTILES, values.tolist(), strict=True)})

    @property
    def is_constant(self) -> bool:
        """A fixed count: a number, or p90 equal to the mean."""
        return self.mean is not None and (self.p90 is None or self.p90 == self.mean)

    @property
    def expected(self) -> float:
        """Mean tokens."""
        if self.values is not None:
            w = self.weights or [1.0] * len(self.values)
            return sum(v * x for v, x in zip(self.values, w, strict=True)) / sum(w)
        if self.quantiles is not None:
            probs = sorted(self.quantiles)
            return sum((b - a) * (self.quantiles[a] + self.quantiles[b]) / 2 for a, b in itertools.pairwise(probs))
        if self.mean is None:
            raise ScenarioError("a distribution {from: ...} is read when the scenario is loaded (load_scenario)")
        return self.mean

    def loaded(self, folder: Path, field: Literal["prompt_tokens", "output_tokens"]) -> TokenDistribution:
        """This distribution with a `from` log (path relative to `folder`) read into its quantile table of `field`."""
        if self.from_ is None:
            return self
        return TokenDistribution.from_counts(getattr(self.from_.relative_to(folder).read(), field))


class BatchJob(_Model):
    """Offline work submitted all at once at the start of its window."""

    name: str
    requests: PosInt
    prompt_tokens: TokenCount
    output_tokens: TokenCount
    window_hours: Pos
    """Hours within which the job must finish."""
    start_hour: NonNeg | None = None
    """Hour of the simulated day the job is submitted (default: right after the active hours)."""
    sensitive: bool = False
    """The job's data may run only where the residency rule for sensitive work allows
    (`constraints.sensitive_residency`, else `data_residency`)."""


Score = Annotated[float, Field(ge=0, le=100)]
"""A benchmark score, percent."""


class QualityBar(_Model):
    """The least score an option must reach on a catalog benchmark (`tokenlane catalog list benchmarks`)."""

    benchmark: Annotated[str, Field(min_length=1)]
    """Catalog benchmark id: gpqa-diamond, mmlu-pro, swe-bench-verified, aider-polyglot."""
    min_score: Score
    """Lowest acceptable score, percent (0-100)."""


class MeasuredScore(_Model):
    """A score you measured for a model at a quant on the bar's benchmark: it replaces the catalog's score x the quant's
    recovery for options that serve that model at that quant (and lets search propose that quant, even a 2-bit one)."""

    model: Annotated[str, Field(min_length=1)]
    """Catalog model id."""
    quant: Annotated[str, Field(min_length=1)]
    """Catalog quant id."""
    score: Score
    """Your measured score, percent."""
    source: str = "your own evaluation"
    """Where it was measured (a run, a report)."""


class WorkloadQuality(QualityBar):
    """The workload's quality bar, with any scores you measured yourself."""

    measured: list[MeasuredScore] = []


class Slo(_Model):
    """Service-level objective each request should meet."""

    min_tok_s_per_user: NonNeg = 10.0
    """Lowest acceptable decode speed per stream, tok/s."""
    max_ttft_s: Pos = 3.0
    """Longest acceptable time to first token, s."""
    percentile: Annotated[float, Field(gt=0, le=100)] = 95.0
    """Share of requests (%) that must meet both."""


class Task(_Model):
    """A category of traffic with its own token profile and measured pass rates per model."""

    name: str
    share: Frac
    """Fraction of requests in this category."""
    prompt_tokens: TokenCount | None = None
    output_tokens: TokenCount | None = None
    pass_rates: dict[str, Frac] = {}
    """Option name -> pass rate measured on the user's own evals (0..1)."""
    min_pass_rate: Frac = 0.8
    """Quality bar: routing only sends this category to options that pass at least this often."""
    sensitive: bool = False
    """This category's data may run only where the residency rule for sensitive work allows
    (`constraints.sensitive_residency`, else `data_residency`): a hybrid runs it there and the rest on an API."""
    quality: QualityBar | None = None
    """This category's own quality bar (its measured `pass_rates` override the catalog's scores for it)."""


TRACE_DERIVED_FIELDS = ("active_hours", "requests_per_user_hour", "prompt_tokens", "output_tokens", "arrival", "hourly_weights")
"""Workload fields a trace determines: giving them as well is an error (think time and turns do not apply);
`hourly_weights` may be given with `repeat_hours` (they shape the repetitions)."""
TRACE_EXCLUDED_FIELDS = ("think_time_s", "turns_per_session", "shared_prefix_tokens", "cache_hit_rate")


class Workload(_Model):
    """Who uses the service, how often, and with what prompts."""

    users: Annotated[int, Field(gt=0, le=MAX_USERS)]
    """People who share the service."""
    active_hours: Annotated[float, Field(gt=0, le=24)] = 9.0
    """Length of the working day, hours."""
    requests_per_user_hour: NonNeg = 6.0
    """Requests per person per active hour."""
    prompt_tokens: TokenDistribution = TokenDistribution(mean=1500, p90=4000)
    output_tokens: TokenDistribution = TokenDistribution(mean=400, p90=900)
    shared_prefix_tokens: Annotated[int, Field(ge=0)] = 0
    """System prompt / tool definitions repeated at the start of every request, tokens."""
    cache_hit_rate: Frac = 0.9
    """Fraction of requests whose shared prefix is still cached (API prompt caching, engine prefix cache)."""
    arrival: Literal["poisson", "diurnal", "closed_loop"] | None = None
    """Arrival pattern; default closed_loop when think_time_s is set, else diurnal."""
    hourly_weights: Annotated[list[Pos], Field(min_length=1, max_length=24)] | None = None
    """Relative request rate per active hour (diurnal); default: morning ramp, lunch dip, afternoon peak."""
    think_time_s: NonNeg | None = None
    """Closed-loop users: mean seconds between a reply and the next request."""
    turns_per_session: PosInt = 1
    """Multi-turn conversations: each turn resends the conversation so far."""
    batch_jobs: list[BatchJob] = []
    slo: Slo = Slo()
    difficulty: Literal["narrow", "mixed", "hard"] = "mixed"
    """narrow: one well-defined task; mixed; hard: multi-step reasoning, ambiguous instructions, long context."""
    tasks: list[Task] = []
    """Optional split of traffic into categories (shares sum to 1)."""
    quality: WorkloadQuality | None = None
    """A quality bar every option must meet on a catalog benchmark: its published score x its quant's recovery
    (docs/quality.md). Without one, hard work keeps the frontier rule (docs/plan.md)."""
    trace: TraceSource | None = None
    """Replay a request log as the interactive traffic instead of drawing it (the fields it determines are derived
    from it when the scenario is loaded)."""

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> Workload:
        if self.trace is not None:
            derived = [f for f in TRACE_DERIVED_FIELDS if not (f == "hourly_weights" and self.trace.repeat_hours)]
            clash = [f for f in (*derived, *TRACE_EXCLUDED_FIELDS) if f in self.model_fields_set]
            if clash:
                raise ValueError(f"{', '.join(clash)} cannot be given with `trace` (the trace's requests are replayed as they are)")
        if self.tasks and abs(sum(t.share for t in self.tasks) - 1.0) > 1e-6:
            raise ValueError("tasks' shares must sum to 1")
        if self.hourly_weights is not None and self.arrival not in (None, "diurnal"):
            raise ValueError("hourly_weights only apply to arrival: diurnal")
        if self.trace is not None:
            return self  # the day's size is known once the trace is read: workload_from_trace checks it
        sharded = bool(info.context and info.context.get("sharded"))
        if not sharded and self.expected_interactive_requests_per_day > MAX_INTERACTIVE_REQUESTS_PER_DAY:
            raise ValueError(
                f"this workload makes about {self.expected_interactive_requests_per_day:,.0f} interactive requests a day; one process "
                f"simulates at most {MAX_INTERACTIVE_REQUESTS_PER_DAY:,} (docs/simulate.md): simulate a shorter period or fewer users, "
                "or shard the day by replica over a Ray cluster with `tokenlane simulate --ray` (each self-hosted option with "
                "`router: round_robin` or `session`)"
            )
        if self.expected_requests_per_day > MAX_REQUESTS_PER_DAY:
            raise ValueError(
                f"this workload makes about {self.expected_requests_per_day:,.0f} requests a day; one simulated day is limited "
                f"to {MAX_REQUESTS_PER_DAY:,} (docs/simulate.md): simulate a shorter period or fewer users"
            )
        return self

    @property
    def expected_interactive_requests_per_day(self) -> float:
        """Interactive requests the day will make, estimated before simulating (closed loop: at most one per think
        time, and at least `MIN_CLOSED_LOOP_CYCLE_S` apart, per user)."""
        if self.arrival_pattern == "closed_loop":
            return self.users * self.active_hours * 3600.0 / max(self.think_time_s or 0.0, MIN_CLOSED_LOOP_CYCLE_S)
        return self.users * self.requests_per_user_hour * self.active_hours

    @property
    def expected_requests_per_day(self) -> float:
        """Every request the day will make, batch jobs included."""
        return self.expected_interactive_requests_per_day + sum(job.requests for job in self.batch_jobs)

    @property
    def sensitive_share(self) -> float:
        """Share of interactive requests in tasks marked `sensitive`."""
        return sum(t.share for t in self.tasks if t.sensitive)

    @property
    def has_sensitive_work(self) -> bool:
        """A task or a batch job is marked `sensitive`."""
        return self.sensitive_share > 0 or any(job.sensitive for job in self.batch_jobs)

    @property
    def has_quality_bar(self) -> bool:
        """A quality bar is set, for the whole workload or for a task."""
        return self.quality is not None or any(t.quality for t in self.tasks)

    @property
    def arrival_pattern(self) -> str:
        """The arrival pattern in force."""
        return self.arrival or ("closed_loop" if self.think_time_s is not None else "diurnal")


class CustomPrice(_Model):
    """A price for an API model the price library lacks, USD per million tokens."""

    input_usd_per_mtok: NonNeg
    output_usd_per_mtok: NonNeg
    cache_read_usd_per_mtok: NonNeg | None = None
    cache_write_usd_per_mtok: NonNeg | None = None


class FineTune(_Model):
    """A fine-tuning program on a self-hosted or rented option: what it costs to get the model there and keep it there
    (priced in cost/finetune.py; the pass rate it buys comes from the option's `pass_rates`)."""

    base_model: str | None = None
    """The model fine-tuned; when given it must be the option's `model` (the tuned weights are served as it)."""
    method: Literal["full", "lora", "qlora"] = "lora"
    train_tokens: Annotated[int, Field(gt=0, le=10**12)]
    """Tokens in one epoch of the training set."""
    epochs: Annotated[float, Field(gt=0, le=100)] = 1.0
    labelled_examples: Annotated[int, Field(ge=0, le=10**9)] = 0
    usd_per_label: NonNeg = 0.0
    """Cost of labelling one example, USD."""
    retrain_every_months: Annotated[float, Field(gt=0, le=60)] = 6.0
    """How often the model is fine-tuned again (new base model, drifting needs); one-off costs spread over it."""
    eval_runs: Annotated[int, Field(ge=0, le=10_000)] = 1
    usd_per_eval_run: NonNeg = 0.0
    """Cost of one evaluation run (graders, reviewers), USD."""
    target_score: Score | None = None
    """The score the tuned model reaches on your task, on the quality bar's benchmark scale (percent): it is judged
    against the bars in place of the base model's catalog score."""
    target_source: str = ""
    """Where `target_score` comes from (your eval run, a report)."""

    @model_validator(mode="after")
    def _check_target(self) -> FineTune:
        if self.target_source and self.target_score is None:
            raise ValueError("target_source needs target_score")
        return self


class ScaleTarget(_Model):
    """The signal an autoscaler holds each replica to, and its level."""

    signal: Literal["requests", "queue", "kv_cache"] = "requests"
    """`requests`: requests in flight per replica, averaged over the last interval (Knative's concurrency target);
    `queue`: requests waiting for admission per replica (KEDA on vLLM's `num_requests_waiting`); `kv_cache`: the share
    of the KV cache in use (Dynamo's planner, llm-d)."""
    value: Pos | None = None
    """The level per replica; default (docs/autoscale.md): `requests` 70% of the streams a replica serves at the SLO's
    speed, `queue` 1 request, `kv_cache` 0.7."""

    @model_validator(mode="after")
    def _check(self) -> ScaleTarget:
        if self.signal == "kv_cache" and self.value is not None and self.value > 1:
            raise ValueError("a kv_cache target is a share of the cache, in (0, 1]")
        return self


class Autoscale(_Model):
    """A fleet that follows the day: replicas are added as the load rises (each after its cold start) and released as
    it falls, and billed for the time they are held (simulate/scaling, docs/autoscale.md)."""

    min_replicas: Annotated[int, Field(ge=0, le=MAX_REPLICAS)] = 0
    """Replicas held at all times (0: scale to zero)."""
    max_replicas: Annotated[int, Field(gt=0, le=MAX_REPLICAS)] | None = None
    """The most replicas it may hold; default: the fewest whose scaled day carries the load (sized like a fixed fleet)."""
    policy: Literal["reactive", "scheduled"] = "reactive"
    """`reactive`: follow the target signal; `scheduled`: hold `schedule` replicas each active hour, each warmed up
    ahead of its hour."""
    target: ScaleTarget = ScaleTarget()
    interval_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """How often the autoscaler reads the signal, s."""
    scale_down_idle_s: Annotated[float, Field(ge=0, le=86400)] = 300.0
    """How long the load must need fewer replicas before one is released (it finishes its requests first), s."""
    cold_start_s: Annotated[float, Field(ge=0, le=86400)] | None = None
    """From asking for a replica to its first request, s; default: weights read at `load_gb_per_s` plus the engine's
    start-up (catalog `engines`)."""
    load_gb_per_s: Pos = 1.0
    """Rate the weights are read at when a replica starts, GB/s (docs/autoscale.md: network storage vs local NVMe)."""
    schedule: Annotated[list[Annotated[int, Field(ge=0, le=MAX_REPLICAS)]], Field(min_length=1, max_length=24)] | None = None
    """`scheduled`: replicas per active hour; default: the peak fleet scaled by the workload's hourly profile."""
    billing_increment_s: Annotated[float, Field(gt=0, le=3600)] = 1.0
    """Each held stretch is billed in multiples of this, s (per-second billing: 1; per-minute: 60; per-hour: 3600)."""
    billing_minimum_s: Annotated[float, Field(ge=0, le=86400)] = 60.0
    """The least billed for one held stretch, s."""
    spillover: str | None = None
    """An api option's name: requests that arrive while the fleet is short (no warm replica, or every warm one past
    its target while another warms up) go there and are billed there."""

    @model_validator(mode="after")
    def _check(self) -> Autoscale:
        if self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is more than max_replicas ({self.max_replicas})")
        if self.schedule is not None and self.policy != "scheduled":
            raise ValueError("`schedule` applies to policy: scheduled")
        return self


class Parallel(_Model):
    """How a replica's devices split the model, as SGLang's and vLLM's flags say it (docs/disaggregated.md): `tp`
    devices per tensor-parallel group, `pp` pipeline stages (one per server), `ep` devices the routed experts are
    spread over (MoE models), `dp_attention` attention groups the tensor-parallel devices form."""

    tp: Annotated[int, Field(gt=0, le=144)] | None = None
    """Default: the replica's devices / pp."""
    pp: Annotated[int, Field(gt=0, le=18)] = 1
    ep: Annotated[int, Field(gt=0, le=144)] = 1
    dp_attention: Annotated[int, Field(gt=0, le=144)] = 1


class Pool(_Model):
    """One pool of a disaggregated deployment: `count` replicas of `gpus` devices each (default: the hardware unit's)."""

    gpus: Annotated[int, Field(gt=0, le=144)] | None = None
    count: Annotated[int, Field(gt=0, le=MAX_REPLICAS)] = 1
    hardware: str | None = None
    """Default: the option's hardware (a pool may run on another kind)."""
    max_running_seqs: PosInt | None = None
    parallel: Parallel | None = None


class Disaggregated(_Model):
    """Prefill and decode on separate pools ("xPyD"); each prompt's KV cache moves from a prefill replica to a decode
    replica over `kv_link` (catalog `links`: nvlink, infiniband, ethernet)."""

    prefill: Pool
    decode: Pool
    kv_link: Annotated[str, Field(min_length=1)] = "infiniband"


class Speculative(_Model):
    """Speculative decoding on a self_host / cloud_gpu option: the model's own MTP head, an EAGLE head, or a separate
    draft model on the same devices. Its speed-up at one stream and how it shrinks under load come from the
    capacity model (docs/capacity.md)."""

    method: Literal["mtp", "eagle", "draft"]
    draft_tokens: Annotated[int, Field(ge=1, le=16)] | None = None
    """Tokens drafted per cycle (k); for mtp the catalog's published setting when left out."""
    acceptance_rate: Annotated[float, Field(ge=0, lt=1)] | None = None
    """Probability each drafted token is accepted (a), from your own runs or the method's paper; for mtp the
    catalog's published rate when left out."""
    draft_model: str | None = None
    """method draft: the draft model's catalog id."""
    draft_quant: str | None = None
    """method draft: the draft model's quant (default: the option's)."""

    @model_validator(mode="after")
    def _check(self) -> Speculative:
        if self.method == "draft" and not self.draft_model:
            raise ValueError("method draft needs draft_model")
        if self.method != "draft" and (self.draft_model or self.draft_quant):
            raise ValueError(f"draft_model and draft_quant apply only to method draft, not {self.method}")
        if self.method != "mtp" and (self.draft_tokens is None or self.acceptance_rate is None):
            raise ValueError(f"method {self.method} needs draft_tokens and acceptance_rate")
        return self


_COMMON_FIELDS = {"name", "kind", "model", "data_location", "processes_in"}
_BOX_FIELDS = {
    "speculative",
    "gguf",
    "nodes",
    "cross_server",
    "hardware",
    "quant",
    "kv_dtype",
    "engine",
    "gpus",
    "count",
    "speed_scale",
    "max_running_seqs",
    "context_tokens",
    "routing_skew",
    "max_units",
    "measured",
    "scheduler",
    "router",
    "finetune",
    "autoscale",
    "grid",
    "parallel",
    "disaggregated",
}
KIND_FIELDS = {
    "self_host": _COMMON_FIELDS | _BOX_FIELDS,
    "cloud_gpu": _COMMON_FIELDS | _BOX_FIELDS | {"usd_per_gpu_hour", "cloud_price", "rented_hours_per_day"},
    "api": _COMMON_FIELDS
    | {"provider", "price", "cache_ttl", "batch_api", "batch_discount", "ttft_s", "tok_s", "measured"}
    | {"retains_in", "zero_data_retention", "trains_on_prompts"},
}
"""Which option fields apply to which kind; a field given for another kind is an error, not silently ignored."""


class Option(_Model):
    """One way to serve the workload: bought hardware, rented GPUs, or an API."""

    name: str
    kind: Literal["self_host", "cloud_gpu", "api"]
    hardware: str | None = None
    model: str | None = None
    """Catalog model id (self_host, cloud_gpu) or the provider's model name (api)."""
    quant: str = "bf16"
    kv_dtype: str = "bf16"
    engine: str = "vllm"
    gpus: Annotated[int, Field(gt=0, le=144)] | None = None
    """Devices per replica (tensor parallel); default the hardware unit's."""
    nodes: Annotated[int, Field(gt=0, le=18)] | None = None
    """Servers per replica, each full of devices (gpus = nodes x the server's devices)."""
    cross_server: Literal["pipeline", "tensor"] = "pipeline"
    """How a replica spanning servers splits the model: pipeline stages, one per server (tensor parallel inside
    each), or one tensor-parallel group over the network."""
    count: Annotated[int, Field(gt=0, le=MAX_REPLICAS)] = 1
    """Replicas behind a least-outstanding-requests load balancer."""
    speed_scale: Annotated[float, Field(ge=0.1, le=10)] = 1.0
    """The box runs this many times as fast as the capacity model predicts (e.g. 0.85 where your own bench measured
    it 15% slower); `plan` also runs each self-hosted option at the ends of its prediction interval this way."""
    max_running_seqs: PosInt | None = None
    context_tokens: PosInt | None = None
    """Engine context per replica (llama.cpp -c), tokens."""
    routing_skew: Annotated[float, Field(ge=0, lt=4)] | None = None
    """MoE expert popularity (Zipf exponent; 0 = uniform); None: the model's measured value, else uniform."""
    speculative: Speculative | None = None
    """Speculative decoding (self_host, cloud_gpu)."""
    gguf: str | None = None
    """A GGUF file (path relative to the scenario): its tensors' real types are the quant, and without `model` its
    header is the model."""
    provider: str | None = None
    """API provider id as genai-prices knows it (anthropic, openai, google, ...)."""
    price: CustomPrice | None = None
    cache_ttl: Literal["5m", "1h"] = "5m"
    """Prompt-cache lifetime the API is asked for; cache writes are billed at that TTL's rate."""
    batch_api: bool = False
    """Bill batch jobs at the provider's batch discount."""
    batch_discount: Frac = 0.5
    """Fraction off list price for batch-API requests."""
    usd_per_gpu_hour: NonNeg | None = None
    """cloud_gpu: the rental price per device-hour you pay (a negotiated or reserved rate); replaces the catalog's."""
    cloud_price: Literal["typical", "low", "reserved"] = "typical"
    """cloud_gpu: which catalog quotes set the rate - typical (median on-demand), low (cheapest on-demand) or reserved
    (median reserved)."""
    rented_hours_per_day: Annotated[float, Field(gt=0, le=24)] = 24.0
    """cloud_gpu: hours a day the GPUs are rented (24 = always on)."""
    max_units: Annotated[int, Field(gt=0, le=MAX_REPLICAS)] = 64
    """Largest fleet (replicas) cost sizing may propose."""
    data_location: Literal["on_prem", "region", "external"] | None = None
    """Where prompts are processed, in the three-word form; default by kind (self_host on_prem, cloud_gpu region, api
    external). `processes_in` says it precisely."""
    processes_in: Place | None = None
    """The jurisdiction (or cloud region) where prompts are processed: self_host is on_prem; cloud_gpu states its
    region; api defaults to the provider's (catalog `api_providers`)."""
    retains_in: Place | None = None
    """api: where the provider retains prompts (default: where it processes them)."""
    zero_data_retention: bool = False
    """api: the organisation has zero-data-retention terms with the provider, so nothing is retained."""
    trains_on_prompts: bool | None = None
    """api: whether the provider may train on this option's prompts under your terms (default: the provider's
    published API terms in the catalog; unknown when the catalog has none)."""
    finetune: FineTune | None = None
    """self_host, cloud_gpu: the option runs a model fine-tuned for the workload (its cost is a line of its own)."""
    measured: str | None = None
    """Path to a `tokenlane bench` summary JSON: use its measured curve instead of the model."""
    scheduler: Literal["continuous", "slots", "serial", "priority"] | None = None
    """Scheduler policy of a self-hosted option (default: the engine's own); `priority` serves interactive
    requests before batch work."""
    router: Literal["least_outstanding", "round_robin", "session"] = "least_outstanding"
    """How a fixed fleet's replicas share the interactive requests: the replica with the fewest outstanding requests,
    each in turn, or by user (session affinity); batch jobs are spread by outstanding requests whatever the router
    (simulate/routers.py)."""
    grid: str | None = None
    """self_host, cloud_gpu: the electricity grid it draws from, for its emissions: a country code (`fr`, `pl`),
    `eu`, `world`, or a cloud region (`eu-frankfurt`); default: a rented option's `processes_in`, else `finance.grid`
    (docs/energy.md)."""
    autoscale: Autoscale | None = None
    """self_host, cloud_gpu: follow the day's load instead of holding `count` replicas all day (docs/autoscale.md)."""
    parallel: Parallel | None = None
    """How each replica's devices split the model: tensor, pipeline, expert parallelism, attention groups."""
    disaggregated: Disaggregated | None = None
    """Prefill and decode on separate pools; `count` then counts whole layouts (each `prefill.count` + `decode.count`
    replicas)."""
    ttft_s: Pos | None = None
    """api: time to first token, s (default in docs/simulate.md)."""
    tok_s: Pos | None = None
    """api: stream speed, tok/s (default in docs/simulate.md)."""

    @field_validator("data_location", mode="before")
    @classmethod
    def _location_word(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in ("on_prem", "region", "external") and jurisdiction_of(value) is not None:
            raise ValueError(f"takes on_prem, region or external; for a jurisdiction write `processes_in: {value}`")
        return value

    @model_validator(mode="after")
    def _check(self) -> Option:
        if self.kind == "api":
            if not self.model:
                raise ValueError("an api option needs `model`")
        elif not (self.hardware and (self.model or self.gguf)):
            raise ValueError(f"a {self.kind} option needs `hardware` and `model` (or a `gguf` file)")
        if self.gguf is not None and "quant" in self.model_fields_set:
            raise ValueError("`gguf` gives the quant (its tensors' types): leave out `quant`")
        stray = sorted(self.model_fields_set - KIND_FIELDS[self.kind])
        if stray:
            article = "an" if self.kind == "api" else "a"
            raise ValueError(
                f"{', '.join(f'`{f}`' for f in stray)} do{'es' if len(stray) == 1 else ''} not apply to {article} {self.kind} option"
            )
        clash = sorted({"count", "rented_hours_per_day"} & self.model_fields_set) if self.autoscale is not None else []
        if clash:
            raise ValueError(
                f"`{clash[0]}` holds a fixed fleet; with `autoscale` the day decides what is held (autoscale.min_replicas, max_replicas)"
            )
        if self.autoscale is not None and "router" in self.model_fields_set:
            raise ValueError("`router` applies to a fixed fleet: an autoscaled one sends each request to its least-loaded serving replica")
        if self.disaggregated is not None and self.autoscale is not None:
            raise ValueError("`autoscale` does not apply to a disaggregated option: size its pools with prefill.count and decode.count")
        if self.disaggregated is not None and {"gpus", "nodes", "parallel", "max_running_seqs"} & self.model_fields_set:
            raise ValueError(
                "a disaggregated option's replicas are its pools': give gpus, parallel and max_running_seqs under prefill and decode"
            )
        base = self.finetune.base_model if self.finetune else None
        if base is not None and base != self.model:
            raise ValueError(f"`finetune.base_model` is {base} but the option serves {self.model}; they must be the same model")
        return self

    @property
    def location(self) -> str:
        """Where prompts are processed."""
        return self.data_location or {"self_host": "on_prem", "cloud_gpu": "region", "api": "external"}[self.kind]


def unshardable(workload: Workload, option: Option) -> tuple[str, str] | None:
    """Why `option`'s day of `workload` cannot be simulated one replica at a time (simulate/shard.py), as (the field
    to change, the reason); None when it can: its replicas' shares then step alone and merge into the same day."""
    if option.kind == "api":
        return None  # an API's requests are not stepped through replicas: its day needs no shards
    if option.autoscale is not None:
        return "autoscale", "an autoscaled fleet routes each request by the replicas it holds and their load"
    if option.disaggregated is not None:
        return "disaggregated", "a disaggregated option's decode pool takes each cache by its replicas' load"
    if option.router == "least_outstanding":
        return "router", "the least-outstanding router reads every replica's load at each arrival: give `router: round_robin` or `session`"
    if workload.arrival_pattern == "closed_loop":
        return "arrival", "closed-loop users send their next request when an answer ends, on whichever replica served it"
    if workload.batch_jobs:
        return "batch_jobs", "batch jobs are spread over the replicas by their outstanding requests"
    return None


PRICES_AT_DEFAULT = date(2026, 11, 4)
"""The date API prices are read at unless a scenario says otherwise: the latest date genai-prices 0.2.3's bundled
data says its prices were checked on (its provider comments), so the same scenario bills the same on any day."""


class Finance(_Model):
    """Money assumptions; each default's source is in docs/scenario.md."""

    amortization_years: Pos = 3.0
    residual_fraction: Frac = 0.25
    electricity_usd_per_kwh: NonNeg = 0.15
    pue: Annotated[float, Field(ge=1)] = 1.4
    engineer_fte: NonNeg | None = None
    """Engineers running a bought deployment, FTE; default: its serving stack plus a share per machine (below)."""
    cloud_engineer_fte: NonNeg | None = None
    """Engineers running rented GPUs, FTE; default: the serving stack plus a share per rented server."""
    api_engineer_fte: NonNeg = 0.05
    """Engineers integrating and watching an API, FTE."""
    fte_stack_server: NonNeg = 0.2
    """A datacenter serving stack (engine, updates, monitoring, incidents), per deployment."""
    fte_stack_desk: NonNeg = 0.05
    """A desk-class deployment's stack (unified-memory boxes, workstation cards), per deployment: its owner's time."""
    fte_per_server: NonNeg = 0.05
    """Hardware care per bought datacenter server (repairs, firmware, racking)."""
    fte_per_desk_machine: NonNeg = 0.01
    """Hardware care per bought desk-class machine."""
    fte_per_rented_server: NonNeg = 0.01
    """Instance care per rented server (no purchase, racking or repairs)."""
    engineer_usd_per_year: NonNeg = 250000.0
    hosting_usd_per_month: NonNeg = 0.0
    """Colocation / rack space per unit, USD/month."""
    utilization: Frac | None = None
    """Average power draw over the month as a share of the rated draw; None (default): from the simulated day, step
    by step (docs/energy.md). Give it to override the energy model with a flat figure."""
    grid: str | None = None
    """The site's electricity grid (a country code such as `fr`, `eu`, `world`): self-hosted options draw from it
    unless they give their own `grid` (docs/energy.md)."""
    ml_team_fte: NonNeg = 0.5
    """Engineers who run a fine-tuning program (data, training, evaluation, redeployment), FTE."""
    training_mfu: Annotated[float, Field(gt=0, le=1)] = 0.35
    """Model FLOPs utilisation of fine-tuning runs: achieved / peak bf16 FLOP/s."""
    workdays_per_month: Annotated[float, Field(gt=0, le=31)] = 21.0
    """Working days per month: the simulated day happens this often."""
    prices_at: date = PRICES_AT_DEFAULT
    """API prices in force on this date are billed (default: the date of the bundled price data)."""


FINANCE_SOURCES = {
    "amortization_years": "straight-line over a GPU generation (~3 years); IRS Publication 946 for depreciation method",
    "residual_fraction": "used accelerator resale listings 2024-2026 (assumption)",
    "electricity_usd_per_kwh": "US EIA Electric Power Monthly, average commercial rate 2025 (~$0.13), rounded up",
    "pue": "Uptime Institute Global Data Center Survey 2024 (fleet average 1.56; modern sites 1.3-1.4)",
    "engineer_fte": "override of the stack + per-machine defaults below for bought hardware (unset: computed)",
    "cloud_engineer_fte": "override of the stack + per-server defaults for rented GPUs (unset: computed)",
    "api_engineer_fte": "assumption: integrating and watching an API (a few hours a week)",
    "fte_stack_server": "assumption: a datacenter serving stack (engine, updates, monitoring, incidents), about a day a week",
    "fte_stack_desk": "assumption: a desk-class box's stack is looked after by its owner, about 2 hours a week",
    "fte_per_server": "assumption: repairs, firmware and racking of one bought server, about 2 hours a week (16 servers: 1 FTE)",
    "fte_per_desk_machine": "assumption: a desk-class machine's hardware care, under half an hour a week",
    "fte_per_rented_server": "assumption: renting removes purchase, racking and repairs; instance care remains",
    "engineer_usd_per_year": "loaded cost of a US platform/ML engineer (salary ~$180k x 1.35 overhead)",
    "hosting_usd_per_month": "0 for an office box; colocation quotes otherwise",
    "utilization": "unset: derived from the simulated day's steps and the catalog's power profiles (docs/energy.md)",
    "grid": "unset: emissions are not computed for on-premises options without a grid",
    "workdays_per_month": "252 working days a year / 12",
    "ml_team_fte": "assumption: half an ML engineer keeps a fine-tuned model current (data, runs, evals, redeploys)",
    "training_mfu": "assumption: fine-tuning runs reach ~35% of peak bf16 FLOP/s (PaLM pre-training reached 46%, arXiv:2204.02311 sec. 4)",
    "prices_at": "latest price check date in genai-prices 0.2.3's bundled data (provider comments, 2026-11-04)",
}
"""Where each finance default comes from (docs/scenario.md repeats it)."""


class Residency(_Model):
    """The places prompts may be processed (and retained) in."""

    allowed: Annotated[list[Place], Field(min_length=1)]
    no_training: bool = False
    """Prompts must not be used to train a provider's models: an API whose terms allow it, or do not say, is out."""


ResidencyRule = Literal["none", "region", "on_prem"] | Residency
"""A residency constraint: a three-word rule or the places allowed."""


class Constraints(_Model):
    """What the organisation requires."""

    data_residency: ResidencyRule = "none"
    """`none`, `region` (on premises or the organisation's region), `on_prem`, or {allowed: [on_prem, eu, ...]}."""
    sensitive_residency: ResidencyRule | None = None
    """A stricter rule for the work marked `sensitive` (tasks and batch jobs), in the same forms; None: the same as
    `data_residency`. An option outside it may still serve the rest of the work, through a hybrid split."""
    ml_team: bool = False
    """An ML team that can fine-tune and maintain models."""
    max_budget_usd_per_month: NonNeg | None = None
    max_kgco2e_per_month: NonNeg | None = None
    """The most emissions an option may cause per month, operational and embodied, kg CO2e (docs/energy.md); an
    option whose emissions are not known (an API that publishes none, an on-premises box without a grid) cannot show
    it meets it."""
    accept_quality_risk: bool = False
    """Accept open-model quality on hard work without the user's own eval pass rates."""


class Subscription(_Model):
    """A per-seat tool the organisation pays for today."""

    name: str
    seats: PosInt
    usd_per_seat_month: NonNeg


class SpeedClaim(_Model):
    """A speed someone quoted for one of the options (a vendor sheet, a forum post, a colleague), checked in the
    plan's claims section against the capacity model at the same number of concurrent streams."""

    option: str
    tok_s: Annotated[list[Pos], Field(min_length=1, max_length=2)]
    """The quoted figure, tok/s: a number, or [low, high] for a range."""
    per: Literal["user", "total"] = "user"
    """Whether the figure is what each stream gets or the box's total."""
    users: Annotated[int, Field(gt=0, le=100_000)] = 1
    """Concurrent streams the figure is quoted at."""
    source: str = ""
    """Who quoted it."""

    @model_validator(mode="before")
    @classmethod
    def _one_number(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tok_s"), int | float) and not isinstance(data.get("tok_s"), bool):
            return {**data, "tok_s": [data["tok_s"]]}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> SpeedClaim:
        if len(self.tok_s) == 2 and self.tok_s[0] > self.tok_s[1]:
            raise ValueError("a range is [low, high]")
        return self


class Scenario(_Model):
    """A whole scenario file."""

    name: str
    workload: Workload
    options: list[Option] = Field(min_length=1)
    finance: Finance = Finance()
    constraints: Constraints = Constraints()
    subscriptions: list[Subscription] = []
    claims: list[SpeedClaim] = []
    """Speeds quoted for options, to check against the model."""
    catalog: list[str] = []
    """Catalog YAML files (paths relative to the scenario) layered over the built-in catalog, after any --catalog:
    a `tokenlane calibrate` overlay, your prices."""

    @model_validator(mode="after")
    def _unique_names(self) -> Scenario:
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise ValueError("option names must be unique")
        boxes = [o.name for o in self.options if o.kind != "api"]
        for i, claim in enumerate(self.claims):
            if claim.option not in boxes:
                raise ValueError(f"claims[{i}].option names no self_host or cloud_gpu option; those are {', '.join(boxes) or 'none'}")
        for task in self.workload.tasks:
            unknown = sorted(set(task.pass_rates) - set(names))
            if unknown:
                raise ValueError(
                    f"workload.tasks[{task.name}].pass_rates names no option {', '.join(unknown)}; options are {', '.join(names)}"
                )
        return self

    _source: tuple[str, Any] | None = PrivateAttr(default=None)
    """(file, composed YAML) the scenario was read from, for `locate`."""

    def locate(self, *loc: Any) -> tuple[str | None, str]:
        """(file, 'line N: dotted.field') of a place in the scenario, for errors found after loading."""
        path, root = self._source or (None, None)
        line = _line_of(root, loc) if root is not None else None
        data = {"options": [{"name": o.name} for o in self.options]}
        field = _field_name(data, loc)
        return path, field if line is None else f"line {line}: {field}"

    def option(self, name: str) -> Option:
        """The option called `name`."""
        for o in self.options:
            if o.name == name:
                return o
        raise ScenarioError(f"no option named '{name}'; options are {', '.join(o.name for o in self.options)}", field="--option")


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (the deepest that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == key), None)
            if nxt is None:
                nxt_key = next((k for k, _ in node.value if k.value == key), None)
                return nxt_key.start_mark.line + 1 if nxt_key is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


MAX_SCENARIO_BYTES = 1 << 20
"""Largest scenario (or config) file read, bytes: far beyond any real scenario, small enough to parse at once."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key '{key}' appears twice in one mapping", key_node.start_mark)
            if isinstance(key, str | int | float | bool):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_text_file(path: str | Path, *, what: str = "file", error: type[InputError] | None = None) -> str:
    """The text of a regular file of at most `MAX_SCENARIO_BYTES`, decoded as UTF-8 (a BOM allowed).

    FIFOs, devices and directories are refused before anything is read; errors name the file (and, for bad bytes,
    the byte offset).
    """
    cls = error or ScenarioError
    name = str(path)
    info = regular_file(path, what=what, error=cls)
    if info.st_size > MAX_SCENARIO_BYTES:
        raise cls(f"{info.st_size:,} bytes is larger than a {what} may be ({MAX_SCENARIO_BYTES:,} bytes)", path=name)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise cls(f"cannot read ({exc.strerror})", path=name) from exc
    if len(raw) > MAX_SCENARIO_BYTES:
        raise cls(f"larger than a {what} may be ({MAX_SCENARIO_BYTES:,} bytes)", path=name)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise cls(f"not UTF-8 text: byte {exc.start} is 0x{raw[exc.start]:02x} (save the file as UTF-8)", path=name) from exc


def _field_name(data: Any, loc: tuple[Any, ...]) -> str:
    """Dotted field with options named: `options[box].hardware` rather than `options.2.hardware`."""
    parts: list[str] = []
    for i, key in enumerate(loc):
        if isinstance(key, int) and i > 0 and loc[i - 1] == "options" and isinstance(data, dict):
            options = data.get("options")
            name = options[key].get("name") if isinstance(options, list) and key < len(options) and isinstance(options[key], dict) else None
            parts[-1] += f"[{name}]" if isinstance(name, str) else f"[{key}]"
        elif isinstance(key, int) and parts:
            parts[-1] += f"[{key}]"
        else:
            parts.append(str(key))
    return ".".join(parts) or "(top level)"


def parse_scenario(text: str, path: str = "<scenario>", *, sharded: bool = False) -> Scenario:
    """Validate scenario YAML text; every problem is reported, each naming the file, line and field. `sharded`: its
    days are to be sharded by replica (`--ray`), so a day may make more interactive requests than one process
    simulates (MAX_INTERACTIVE_REQUESTS_PER_DAY), provided every self-hosted option's day can be sharded."""
    data, root = load_yaml(text, path, error=ScenarioError, loader=_UniqueKeyLoader)
    if not isinstance(data, dict):
        raise ScenarioError("expected a mapping with name, workload and options", path=path)
    try:
        scenario = Scenario.model_validate(data, context={"sharded": sharded})
    except ValidationError as exc:
        problems: list[str] = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "int", "float", "bool", "str"))))
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (not part of the scenario format; see docs/scenario.md)"
            line = _line_of(root, loc)
            problem = f"{_field_name(data, loc)}: {msg}"
            problem = problem if line is None else f"line {line}: {problem}"
            if problem not in problems:
                problems.append(problem)
        raise ScenarioError(problems[0], path=path, more=problems[1:]) from exc
    scenario._source = (path, root)
    problems = []
    names = [o.name for o in scenario.options]
    for i, task in enumerate(scenario.workload.tasks):
        for unknown in sorted(set(task.pass_rates) - set(names)):
            _, where = scenario.locate("workload", "tasks", i, "pass_rates", unknown)
            problems.append(f"{where}: names no option (options are {', '.join(names)})")
    apis = [o.name for o in scenario.options if o.kind == "api"]
    large = scenario.workload.expected_interactive_requests_per_day > MAX_INTERACTIVE_REQUESTS_PER_DAY
    for i, option in enumerate(scenario.options):
        spill = option.autoscale.spillover if option.autoscale else None
        if spill is not None and spill not in apis:
            _, where = scenario.locate("options", i, "autoscale", "spillover")
            problems.append(f"{where}: '{spill}' names no api option (api options: {', '.join(apis) or 'none'})")
        refusal = unshardable(scenario.workload, option) if large else None
        if refusal is not None:
            field, why = refusal
            _, where = scenario.locate(*(("workload", field) if field in Workload.model_fields else ("options", i, field)))
            problems.append(
                f"{where}: a day of about {scenario.workload.expected_interactive_requests_per_day:,.0f} interactive requests is "
                f"sharded by replica (--ray), and this option's day cannot be: {why}"
            )
    if problems:
        raise ScenarioError(problems[0], path=path, more=problems[1:])
    return scenario


def load_scenario(path: str | Path, *, sharded: bool = False) -> Scenario:
    """Read and validate a scenario file (a regular UTF-8 file of at most 1 MiB); a workload `trace` and token counts
    `{from: ...}` are read now, relative to the file, and the workload fields a trace determines are derived from it.
    `sharded`: see `parse_scenario`."""
    text = read_text_file(path, what="scenario")
    return read_referenced_files(parse_scenario(text, str(path), sharded=sharded), Path(path).parent)


def referenced_files(scenario: Scenario) -> list[TraceFile]:
    """The request logs a scenario names (its `trace`, token counts `{from: ...}`), paths as written."""
    workload = scenario.workload
    found = [d.from_ for d in (workload.prompt_tokens, workload.output_tokens) if d.from_ is not None]
    return found + ([workload.trace] if workload.trace is not None else [])


def read_referenced_files(scenario: Scenario, folder: Path) -> Scenario:
    """`scenario` with the logs it names read (paths relative to `folder`): `{from: ...}` counts become quantile
    tables and a `trace` sets the workload fields it determines."""
    workload = scenario.workload
    workload = workload.model_copy(
        update={
            "prompt_tokens": workload.prompt_tokens.loaded(folder, "prompt_tokens"),
            "output_tokens": workload.output_tokens.loaded(folder, "output_tokens"),
        }
    )
    if workload.trace is not None:
        workload = workload_from_trace(workload, workload.trace.relative_to(folder))
    return scenario.model_copy(update={"workload": workload})


def workload_from_trace(workload: Workload, source: TraceSource) -> Workload:
    """`workload` with the trace at `source` (path as it is to be opened) and the fields the trace determines: the
    active hours its replay spans, its rate per user, and quantile tables of its token counts."""
    trace = source.read()
    plan = source.replay_plan(trace, workload.users)
    hours = max(plan.hours, 1.0 / 60.0)
    if source.start_hour + hours > 24.0:
        raise ScenarioError(f"the trace lasts {hours:.1f} h from hour {source.start_hour:g}: past the end of the day", path=source.path)
    requests = len(trace) * plan.tiles * plan.scale
    if requests > MAX_INTERACTIVE_REQUESTS_PER_DAY:
        raise ScenarioError(
            f"replayed for {workload.users:,} users ({plan.scale:.3g} x the trace's {plan.recorded_users:,}) over {plan.tiles} "
            f"repetition(s), the trace makes about {requests:,.0f} requests; one simulated day is limited to "
            f"{MAX_INTERACTIVE_REQUESTS_PER_DAY:,} (docs/simulate.md)",
            path=source.path,
        )
    if requests + sum(job.requests for job in workload.batch_jobs) > MAX_REQUESTS_PER_DAY:
        raise ScenarioError(
            f"the trace's {requests:,.0f} requests and the batch jobs exceed one simulated day's {MAX_REQUESTS_PER_DAY:,} requests",
            path=source.path,
        )
    return workload.model_copy(
        update={
            "trace": source,
            "active_hours": hours,
            "requests_per_user_hour": requests / workload.users / hours,
            "arrival": "poisson",
            "prompt_tokens": TokenDistribution.from_counts(trace.prompt_tokens),
            "output_tokens": TokenDistribution.from_counts(trace.output_tokens),
        }
    )
