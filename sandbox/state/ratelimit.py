"""Remote's per-client request budget: a fixed 60-second window on the injected clock."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["WINDOW_SECONDS", "RateDecision", "RateLimiter"]

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class RateDecision:
    """Whether one request may pass, and what the ``x-ratelimit-*`` headers say about it."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int
    """Milliseconds until the window resets, as Remote's ``x-ratelimit-reset`` counts them."""

    def headers(self) -> dict[str, str]:
        """The headers sent with every counted response; a 429 adds ``Retry-After``."""
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_ms),
        }
        if not self.allowed:
            # Whole seconds, rounded up, so a client that waits exactly this long is let through.
            headers["Retry-After"] = str(max(1, math.ceil(self.reset_ms / 1000)))
        return headers


@dataclass(slots=True)
class _Window:
    started: float
    count: int


class RateLimiter:
    """Counts requests per client id; a fixed window is what makes ``x-ratelimit-reset`` exact."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def hit(self, client_id: str, limit: int) -> RateDecision:
        """Count one request for ``client_id`` and say whether it is within ``limit``."""
        now = self._clock()
        window = self._windows.get(client_id)
        if window is None or now >= window.started + WINDOW_SECONDS:
            window = self._windows[client_id] = _Window(started=now, count=0)
        reset_ms = max(0, math.ceil((window.started + WINDOW_SECONDS - now) * 1000))
        if window.count >= limit:
            return RateDecision(allowed=False, limit=limit, remaining=0, reset_ms=reset_ms)
        window.count += 1
        return RateDecision(allowed=True, limit=limit, remaining=limit - window.count, reset_ms=reset_ms)

    def clear(self) -> None:
        """Forget every window (``/sandbox/reset``)."""
        self._windows.clear()
