"""API bills from genai-prices: every request priced on its own token counts.

Prices are linear in each token class within one context tier, and a tier applies to all of a request's tokens
once its total input exceeds the tier start (the "cliff" model genai-prices implements). So for each tier band
that the day's requests fall in, we ask genai-prices for the per-token rates at a real request of that band, then
bill every request with those rates; `tests/unit/test_api_bill.py` checks the result against `calc_price` called
request by request.
# Source: genai-prices TieredPrices docstring (genai_prices/types.py); provider price pages cited in its data.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import numpy as np
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import TieredPrices

from tokenlane.errors import InputError, UnknownIdError
from tokenlane.scenario import CustomPrice, Option
from tokenlane.simulate import RequestLog
from tokenlane.units import TOKENS_PER_MTOK


@dataclass(frozen=True)
class TokenBatch:
    """Token counts per request (parallel arrays).

    `input_tokens` is the whole prompt; `cache_read_tokens` of it were served from the provider's prompt cache and
    `cache_write_tokens` written to it (both included in `input_tokens`); `is_batch` marks batch-API requests.
    """

    input_tokens: np.ndarray
    output_tokens: np.ndarray
    cache_read_tokens: np.ndarray
    cache_write_tokens: np.ndarray
    is_batch: np.ndarray


@dataclass(frozen=True)
class Rates:
    """USD per token of each class, for one tier band."""

    input: float
    output: float
    cache_read: float
    cache_write: float


@dataclass(frozen=True)
class ApiBill:
    """What a batch of requests costs on one API, USD."""

    input_usd: float
    """Uncached input, cache reads and cache writes."""
    output_usd: float
    total_usd: float
    supports_caching: bool
    model_ref: str
    provider: str
    rates_usd_per_mtok: dict[str, float]
    """Base-tier list rates, USD per million tokens."""


def _lookup(option: Option, at: datetime) -> tuple[str, str]:
    """Validate provider and model against the price library; unknown ones raise with close matches."""
    snapshot = get_snapshot()
    assert option.model is not None
    if option.provider is None:
        raise InputError("an api option without `price` needs `provider`", field=f"options[{option.name}].provider")
    provider = next((p for p in snapshot.providers if p.id == option.provider), None)
    if provider is None:
        close = difflib.get_close_matches(option.provider, [p.id for p in snapshot.providers], n=3, cutoff=0.5)
        raise UnknownIdError("provider", option.provider, close_matches=close, field=f"options[{option.name}].provider")
    try:
        calc_price(Usage(input_tokens=1), option.model, provider_id=provider.id, genai_request_timestamp=at)
    except LookupError:
        close = difflib.get_close_matches(option.model, [m.id for m in provider.models], n=3, cutoff=0.5)
        raise UnknownIdError(f"{provider.id} model", option.model, close_matches=close, field=f"options[{option.name}].model") from None
    return provider.id, option.model


def _tier_starts(option: Option, at: datetime) -> list[int]:
    provider, model = _lookup(option, at)
    price = calc_price(Usage(input_tokens=1), model, provider_id=provider, genai_request_timestamp=at).model_price
    starts = {t.start for v in vars(price).values() if isinstance(v, TieredPrices) for t in v.tiers}
    return sorted(starts)


def _library_rates(provider: str, model: str, representative_input: int, cache_ttl: str, at: datetime) -> tuple[Rates, bool]:
    """Per-token rates in the band of `representative_input` on date `at`, measured through calc_price (writes at
    `cache_ttl`)."""
    n = max(1, representative_input)

    def usd(**kw: int) -> float:
        return float(calc_price(Usage(**kw), model, provider_id=provider, genai_request_timestamp=at).total_price)

    base = usd(input_tokens=n)
    price = calc_price(Usage(input_tokens=n), model, provider_id=provider, genai_request_timestamp=at).model_price
    caching = price.cache_read_mtok is not None
    # genai-prices counts 1-hour writes as a part of all cache writes, so both keys carry them.
    writes = {"cache_write_tokens": n, "cache_write_1h_tokens": n} if cache_ttl == "1h" else {"cache_write_tokens": n}
    write_price = price.cache_write_1h_mtok if cache_ttl == "1h" else price.cache_write_mtok
    return Rates(
        input=base / n,
        output=(usd(input_tokens=n, output_tokens=n) - base) / n,
        cache_read=usd(input_tokens=n, cache_read_tokens=n) / n if caching else base / n,
        cache_write=usd(input_tokens=n, **writes) / n if write_price is not None else base / n,
    ), caching


def _custom_rates(price: CustomPrice) -> Rates:
    per = 1.0 / TOKENS_PER_MTOK
    read = price.cache_read_usd_per_mtok if price.cache_read_usd_per_mtok is not None else price.input_usd_per_mtok
    write = price.cache_write_usd_per_mtok if price.cache_write_usd_per_mtok is not None else price.input_usd_per_mtok
    return Rates(price.input_usd_per_mtok * per, price.output_usd_per_mtok * per, read * per, write * per)


def request_time(prices_at: date) -> datetime:
    """The request timestamp genai-prices is asked for: noon UTC on `prices_at` (the library reads the clock when
    none is given, so the same scenario would bill differently next month)."""
    return datetime.combine(prices_at, time(12, 0), tzinfo=UTC)


def check_api_option(option: Option, prices_at: date) -> None:
    """Raise a clear error now if the option can never be priced (unknown provider/model, no price)."""
    if option.price is None:
        _lookup(option, request_time(prices_at))


def price_requests(option: Option, tokens: TokenBatch, *, prices_at: date) -> ApiBill:
    """Bill every request of `tokens` on the API `option` at the prices in force on `prices_at` (custom price, else
    genai-prices)."""
    at = request_time(prices_at)
    n_req = len(tokens.input_tokens)
    band = np.zeros(n_req, dtype=np.int64)
    if option.price is not None:
        rates_by_band = {0: _custom_rates(option.price)}
        caching = option.price.cache_read_usd_per_mtok is not None
        provider, model = option.provider or "custom", option.model or option.name
    else:
        provider, model = _lookup(option, at)
        starts = _tier_starts(option, at)
        band = np.searchsorted(np.asarray(starts, dtype=np.int64), tokens.input_tokens, side="left") if starts else band
        rates_by_band = {}
        caching = True
        for b in np.unique(band).tolist() or [0]:
            members = tokens.input_tokens[band == b]
            representative = int(members.min()) if len(members) else 1000
            rates_by_band[b], caching = _library_rates(provider, model, representative, option.cache_ttl, at)
    read = tokens.cache_read_tokens if caching else np.zeros_like(tokens.cache_read_tokens)
    write = tokens.cache_write_tokens if caching else np.zeros_like(tokens.cache_write_tokens)
    uncached = tokens.input_tokens - read - write
    bands = sorted(rates_by_band)
    position = np.searchsorted(np.asarray(bands), band)
    r_in, r_out, r_read, r_write = (
        np.asarray([getattr(rates_by_band[b], f) for b in bands])[position] for f in ("input", "output", "cache_read", "cache_write")
    )
    discount = np.where(tokens.is_batch & option.batch_api, 1.0 - option.batch_discount, 1.0)
    input_usd = float(np.sum((uncached * r_in + read * r_read + write * r_write) * discount))
    output_usd = float(np.sum(tokens.output_tokens * r_out * discount))
    base = rates_by_band[min(rates_by_band)]
    return ApiBill(
        input_usd=input_usd,
        output_usd=output_usd,
        total_usd=input_usd + output_usd,
        supports_caching=caching,
        model_ref=model,
        provider=provider,
        rates_usd_per_mtok={k: v * TOKENS_PER_MTOK for k, v in vars(base).items()},
    )


def priced_models() -> list[tuple[str, str]]:
    """(provider, model) of every model the price library prices, for pickers."""
    return [(p.id, m.id) for p in get_snapshot().providers for m in p.models]


def api_tokens(log: RequestLog, *, caching: bool) -> TokenBatch:
    """An API's view of a day's requests: cached prefix hits are cache reads, and the prefixes the day's producer
    wrote for later requests (a shared prefix missed, a trace's first sending of a reused block) are cache writes."""
    prompt = log.prompt_tokens.astype(np.int64)
    read = log.cached_tokens.astype(np.int64) if caching else np.zeros_like(prompt)
    write = log.cache_write_tokens.astype(np.int64) if caching else np.zeros_like(prompt)
    return TokenBatch(prompt, log.output_tokens.astype(np.int64), read, write, log.job >= 0)
