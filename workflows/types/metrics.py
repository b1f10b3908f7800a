"""The names of our metrics (recorded by ``workflows.kept_token`` and ``workflows.io.telemetry``).

Every metric goes through the SDK runtime's meter (``workflow.metric_meter()``, ``activity.metric_meter()``,
``Runtime.metric_meter``), so it is exported wherever the runtime's Prometheus or OpenTelemetry export goes,
under these names (the SDK's ``temporal_`` prefix is for its own metrics); durations in milliseconds unless
the export says seconds. Labels are chosen from short fixed sets (a grant kind, an error type, a state, an
HTTP status): never a token, code, secret or company reference.
"""

from __future__ import annotations

COMPANIES = "remote_oauth_companies"
"""Gauge: running company workflows by ``state`` (the RemoteOAuthState search attribute), from visibility."""
GRANTS = "remote_oauth_grants"
"""Counter: token grants by ``kind`` (authorization_code, refresh_token, ...) and ``outcome`` (ok or an
``ErrorType``)."""
GATEWAY_LATENCY = "remote_oauth_gateway_latency"
"""Histogram (duration): one gateway request, by ``operation`` (a grant kind or magic_link) and ``status``."""
REFRESH_LEAD_TIME = "remote_oauth_refresh_lead_time"
"""Histogram (duration): how long before its expiry a company's token was renewed, by ``policy``."""
RATE_LIMIT_WAITS = "remote_oauth_rate_limit_waits"
"""Counter: HTTP 429 answers from the gateway, by ``operation``."""
RATE_LIMIT_WAIT = "remote_oauth_rate_limit_wait"
"""Histogram (duration): the wait a 429 imposed (Retry-After or x-ratelimit-reset), by ``operation``."""

NAMES = (COMPANIES, GRANTS, GATEWAY_LATENCY, REFRESH_LEAD_TIME, RATE_LIMIT_WAITS, RATE_LIMIT_WAIT)

__all__ = [
    "COMPANIES",
    "GATEWAY_LATENCY",
    "GRANTS",
    "NAMES",
    "RATE_LIMIT_WAIT",
    "RATE_LIMIT_WAITS",
    "REFRESH_LEAD_TIME",
]
