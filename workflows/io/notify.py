"""Signed webhook notifications that tell a partner a company's consent changed.

Receivers verify a delivery like this (``verify`` does exactly this)::

    signed    = X-Remote-OAuth-Timestamp header (unix seconds, ASCII digits) + b"." + raw request body
    expected  = "sha256=" + hex(HMAC-SHA256(key=webhook secret as UTF-8, msg=signed))
    accept if   constant_time_equal(expected, X-Remote-OAuth-Signature header)
            and the timestamp is within a few minutes of now (stops replays of old deliveries)

The body is compact JSON with sorted keys; verify the bytes as received, never a re-serialization.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from workflows.io.settings import is_secure_url
from workflows.types.errors import ConfigurationError
from workflows.types.untrusted import printable

log = logging.getLogger(__name__)

EVENTS = frozenset(
    {"revoked", "denied", "misconfigured", "recovered", "offboarded", "company_mismatch", "expired"}
)
"""The company events; others (``partner_misconfigured``...) are allowed for partner-level workflows."""
SIGNATURE_HEADER = "X-Remote-OAuth-Signature"
EVENT_HEADER = "X-Remote-OAuth-Event"
TIMESTAMP_HEADER = "X-Remote-OAuth-Timestamp"
DEFAULT_TOLERANCE = 300
"""Seconds a receiver accepts a delivery's timestamp away from its own clock."""

# Events go into a header: keep them to a safe token.
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class Notification:
    """What changed for one company, as the partner's webhook receives it."""

    event: str
    """``revoked``, ``denied``, ``misconfigured``, ``recovered``, ``offboarded``, or a partner-level event."""
    company_ref: str
    """The partner's own reference for the company."""
    state: str
    """The company workflow's state after the change (e.g. ``consent_revoked``)."""
    occurred_at: datetime
    """When the change happened (timezone-aware; sent as UTC ISO 8601)."""
    detail: str = ""
    """A human-readable reason; never contains a secret or token."""
    connect_url: str | None = None
    """Where the company's admin gives consent again, when consent is needed."""
    remote_company_id: str | None = None
    """Remote's id for the company, once known."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """The partner's own metadata of the company (``onboard --meta``); empty when it has none."""

    def __post_init__(self) -> None:
        if not _EVENT.fullmatch(self.event):
            raise ValueError(f"notification event {self.event!r} must be lower_snake_case")
        if self.occurred_at.tzinfo is None:
            raise ValueError("notification occurred_at must be timezone-aware")

    def body(self) -> bytes:
        """The JSON body: sorted keys, no spaces, every field present (null when unknown)."""
        document = {
            "company_ref": self.company_ref,
            "connect_url": self.connect_url,
            "detail": self.detail,
            "event": self.event,
            "metadata": dict(self.metadata),
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "remote_company_id": self.remote_company_id,
            "state": self.state,
        }
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_webhook_url(url: str) -> str:
    """Return ``url`` if it is https, or http to a loopback host (tests, the dev stack).

    Raises:
        ConfigurationError: any other scheme or host, so tokens' connect links never travel in clear.
    """
    if is_secure_url(urlsplit(url)):
        return url
    raise ConfigurationError(
        "REMOTE_OAUTH_WEBHOOK_URL must be an https:// URL (http:// only to localhost or 127.0.0.1)"
    )


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Remote-OAuth-Signature`` value for this timestamp and body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a delivery is authentic and fresh; for receivers (and tests).

    Args:
        secret: The shared webhook secret.
        timestamp: The ``X-Remote-OAuth-Timestamp`` header as received.
        body: The raw request body bytes.
        signature: The ``X-Remote-OAuth-Signature`` header as received.
        tolerance: Maximum seconds between the timestamp and ``now``; None skips the freshness check.
        now: The receiver's clock in unix seconds; ``time.time()`` when None.
    """
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - int(timestamp)) > tolerance:
            return False
    return hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode())


async def send(
    http: httpx.AsyncClient,
    url: str | None,
    secret: str | None,
    note: Notification,
    *,
    timestamp: int | None = None,
) -> bool:
    """POST ``note`` to the partner's webhook, signed; return False when no webhook is configured.

    With no URL the event is only logged, printable, without its connect link (a link lets its holder
    consent).

    Args:
        http: The client to send with (its timeouts apply; redirects are not followed).
        url: The webhook URL, or None for log-only.
        secret: The HMAC key; required with a URL.
        note: What to send.
        timestamp: Unix seconds to sign with; now when None (tests pin it).

    Raises:
        ConfigurationError: a URL without a secret, or a URL that is not https/loopback.
        httpx.HTTPStatusError: the receiver answered anything but 2xx; the calling activity retries.
        httpx.TransportError: the receiver could not be reached; the calling activity retries.
    """
    if url is None:
        log.info(
            "webhook not configured; notification %s for company %s (state %s): %s",
            note.event,
            note.company_ref,
            note.state,
            printable(note.detail, 300),
        )
        return False
    if not secret:
        raise ConfigurationError("REMOTE_OAUTH_WEBHOOK_URL is set but REMOTE_OAUTH_WEBHOOK_SECRET is not")
    check_webhook_url(url)
    body = note.body()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: note.event,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }
    response = await http.post(url, content=body, headers=headers, follow_redirects=False)
    response.raise_for_status()
    return True


__all__ = [
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Notification",
    "check_webhook_url",
    "send",
    "sign",
    "verify",
]
