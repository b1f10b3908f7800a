"""Inputs and results of the token activities: frozen dataclasses, new fields always with defaults.

They cross the Temporal boundary (into history, encrypted by the payload codec), so reprs hide every token,
code and link: a dataclass printed in a log or an exception never carries a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ExchangeCodeInput:
    """An authorization code from the consent callback, to exchange for the company's tokens."""

    code: str = field(repr=False)
    expected_company_id: str | None = None
    """The Remote company the ref is pinned to: an answer for any other company is refused and dropped."""


@dataclass(frozen=True)
class RefreshInput:
    """The refresh token to renew with; ``scope`` narrows the new token (RFC 6749 section 6)."""

    refresh_token: str = field(repr=False)
    scope: str | None = None


@dataclass(frozen=True)
class ClientCredentialsInput:
    """A partner-scoped token request."""

    scope: str | None = None


@dataclass(frozen=True)
class AssertionInput:
    """A JWT-bearer token request acting as ``subject`` (see ``workflows.io.signing`` for its helpers)."""

    subject: str
    scope: str | None = None


@dataclass(frozen=True)
class MagicLinkInput:
    """A sign-in link request: exactly one of ``user_id`` (company admin) and ``employment_id`` (employee)."""

    access_token: str = field(repr=False)
    """A company-scoped token with ``magic_link:write``."""
    user_id: str | None = None
    employment_id: str | None = None
    path: str | None = None
    """Where the link lands (``/segment/segment``); the gateway's default (``/dashboard``) when None."""


@dataclass(frozen=True)
class MagicLinkResult:
    """The sign-in link; it signs someone in, so it is as secret as a token."""

    url: str = field(repr=False)


@dataclass(frozen=True)
class IssueStateInput:
    """Ask for a fresh consent ``state`` and the connect link that carries it."""

    company_ref: str = ""
    """The partner's reference of the company (for logs only; the state is random)."""
    scope: str | None = None
    """Scopes to ask for; ``REMOTE_OAUTH_SCOPES`` when None."""


@dataclass(frozen=True)
class IssuedState:
    """A single-use ``state`` (256 random bits) and the authorize URL that carries it."""

    state: str = field(repr=False)
    authorize_url: str = field(repr=False)
    ttl_seconds: int = 900
    """How long the workflow accepts this state (``REMOTE_OAUTH_STATE_TTL``); the workflow counts it on its
    own clock, so worker clock skew (or a time-skipping test server) cannot shorten it."""


@dataclass(frozen=True)
class NotifyInput:
    """A consent event for the partner's webhook (see ``workflows.io.notify.Notification``)."""

    event: str
    company_ref: str
    state: str
    occurred_at: datetime
    detail: str = ""
    connect_url: str | None = field(default=None, repr=False)
    """Histories before connect sessions carried the authorize URL here; no longer sent (see ``link_open``)."""
    remote_company_id: str | None = None
    link_open: bool = False
    """A connect link is open: the activity mints a signed one for the event (``REMOTE_OAUTH_CONNECT_KEYS``)."""
    metadata: dict[str, str] | None = None
    """The partner's metadata of the company, carried in the event (None: none, or histories before it)."""


@dataclass(frozen=True)
class NotifyResult:
    """Whether a webhook received the event (False: no webhook configured, only logged)."""

    delivered: bool


__all__ = [
    "AssertionInput",
    "ClientCredentialsInput",
    "ExchangeCodeInput",
    "IssueStateInput",
    "IssuedState",
    "MagicLinkInput",
    "MagicLinkResult",
    "NotifyInput",
    "NotifyResult",
    "RefreshInput",
]
