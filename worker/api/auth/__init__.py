"""``httpx.Auth`` for Remote API calls: the bearer flows (``bearer``), how they wait out a 429
(``retry_after``), and how a sync ``httpx.Client`` reaches the event loop that fetches tokens (``sync_bridge``).
"""

from worker.api.auth.bearer import DEFAULT_MIN_TTL, AuthOptions, BearerAuth, CompanyAuth, utc_now
from worker.api.auth.retry_after import DEFAULT_RATE_LIMIT, RateLimitRetry, retry_after_seconds

__all__ = [
    "DEFAULT_MIN_TTL",
    "DEFAULT_RATE_LIMIT",
    "AuthOptions",
    "BearerAuth",
    "CompanyAuth",
    "RateLimitRetry",
    "retry_after_seconds",
    "utc_now",
]
