"""How the ``httpx.Auth`` flows wait out a 429: ``Retry-After`` read as RFC 9110 says, within bounds."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

__all__ = ["DEFAULT_RATE_LIMIT", "RateLimitRetry", "retry_after_seconds"]

_DELTA_SECONDS = re.compile(r"[0-9]+")


def _http_date(value: str) -> datetime | None:
    """An HTTP-date in any of the three forms RFC 9110 section 5.6.7 has recipients accept, else None."""
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # asctime() dates carry no zone, and every HTTP-date is in GMT.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def retry_after_seconds(response: httpx.Response, *, now: Callable[[], datetime] = _utc_now) -> float | None:
    """Seconds ``response``'s ``Retry-After`` asks to wait (RFC 9110 section 10.2.3), or None without a usable one.

    Delta-seconds are taken as they are. An HTTP-date is measured from the response's own ``Date`` when it
    has a valid one, so a clock here that differs from the server's does not stretch or shorten the wait;
    a date already past means no wait.
    """
    value = response.headers.get("retry-after", "").strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    until = _http_date(value) if value else None
    if until is None:
        return None
    sent = _http_date(response.headers.get("date", ""))
    return max(0.0, (until - (sent or now())).total_seconds())


@dataclass(frozen=True)
class RateLimitRetry:
    """How an auth flow answers a 429 (Remote allows 250 requests a minute per client id).

    It waits as long as ``Retry-After`` asks and sends the request again, at most ``max_retries`` times; then
    the last 429 goes to the caller. A wait longer than ``max_wait`` is not slept: that 429 goes to the caller
    at once, to retry or queue as it sees fit. Requests whose body is a stream are never resent.
    """

    max_retries: int = 3
    """Retries after 429s per request; 0 hands every 429 straight back."""
    max_wait: float = 30.0
    """The longest wait slept for one retry, in seconds."""
    default_wait: float = 1.0
    """Seconds before the first retry when the 429 has no usable ``Retry-After``; doubled for each next one
    (never beyond ``max_wait``)."""
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False, compare=False)
    """How ``httpx.AsyncClient`` requests wait (tests pass one that records)."""
    sync_sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    """How ``httpx.Client`` requests wait."""

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_wait < 0 or self.default_wait < 0:
            raise ValueError("max_retries, max_wait and default_wait must be 0 or more")

    def wait_before_retry(self, response: httpx.Response, retried: int) -> float | None:
        """Seconds to wait before sending again after this 429 (``retried`` retries so far), or None to give
        the 429 to the caller now."""
        if retried >= self.max_retries:
            return None
        asked = retry_after_seconds(response)
        if asked is None:
            return min(self.default_wait * 2.0**retried, self.max_wait)
        return asked if asked <= self.max_wait else None


DEFAULT_RATE_LIMIT = RateLimitRetry()
"""Up to 3 retries, each waiting at most 30 seconds."""
