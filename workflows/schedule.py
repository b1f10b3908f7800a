"""When to refresh a token: the pure arithmetic under ``workflows.kept_token`` (and ``RefreshTiming``, its knobs).

The idea is botocore's advisory/mandatory refresh: refresh ahead of expiry by a window that scales with
the token's lifetime (never more than half of it, so a 10-minute token is not refreshed every minute), with
random jitter so a fleet of companies that connected together does not refresh together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_WINDOW = timedelta(minutes=15)
"""Refresh at most this long before expiry; min(15 min, half the lifetime) is the issue's rule."""


@dataclass(frozen=True)
class RefreshTiming:
    """Knobs of the refresh-ahead policy; defaults suit Remote's one-hour tokens."""

    max_window_seconds: float = MAX_WINDOW.total_seconds()
    """Upper bound of the refresh-ahead window."""
    max_jitter_seconds: float = 60.0
    """Up to this much earlier, drawn per cycle from ``workflow.random()``; 0 makes timing exact."""
    min_delay_seconds: float = 1.0
    """Never schedule a refresh sooner than this, so a token that is born stale cannot spin."""


def refresh_window(lifetime: timedelta, timing: RefreshTiming) -> timedelta:
    """How long before expiry a token counts as due: min(max window, half its lifetime)."""
    return min(timedelta(seconds=timing.max_window_seconds), lifetime / 2)


def refresh_at(
    issued_at: datetime, expires_at: datetime, timing: RefreshTiming, jitter_fraction: float
) -> datetime:
    """The moment to refresh a token, given a random ``jitter_fraction`` in [0, 1)."""
    lifetime = expires_at - issued_at
    jitter = timedelta(seconds=timing.max_jitter_seconds * jitter_fraction)
    # Jitter never eats more than a quarter of the window, so a short token still refreshes in time.
    jitter = min(jitter, refresh_window(lifetime, timing) / 4)
    return expires_at - refresh_window(lifetime, timing) - jitter


def delay_until(moment: datetime, now: datetime, timing: RefreshTiming) -> timedelta:
    """The timer to start at ``now`` to wake at ``moment``, never shorter than the minimum delay."""
    return max(moment - now, timedelta(seconds=timing.min_delay_seconds))
