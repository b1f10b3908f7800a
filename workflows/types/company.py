"""Inputs, outputs and carried state of the company consent workflow (the Temporal boundary)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.schedule import RefreshTiming
from workflows.types.connection import validate_metadata
from workflows.types.kept_token import FreshnessRequest, KeptTokenMemory

_COMPANY_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}")
WORKFLOW_ID_PREFIX = "remote-oauth-company:"


class Phase(StrEnum):
    """Where a company is in its consent-to-token lifecycle."""

    AWAITING_CONSENT = "awaiting_consent"
    EXCHANGING = "exchanging"
    ACTIVE = "active"
    REFRESHING = "refreshing"
    CONSENT_DENIED = "consent_denied"
    CONSENT_REVOKED = "consent_revoked"
    MISCONFIGURED = "misconfigured"
    OFFBOARDED = "offboarded"
    EXPIRED = "expired"
    """Nobody consented within ``consent_wait_seconds``: the workflow ended; a later onboard starts afresh."""

    @property
    def wants_consent(self) -> bool:
        """A connect link is open and a callback may complete it."""
        return self in (Phase.AWAITING_CONSENT, Phase.CONSENT_DENIED, Phase.CONSENT_REVOKED)

    @property
    def has_token(self) -> bool:
        return self in (Phase.ACTIVE, Phase.REFRESHING)


class RefreshPolicy(StrEnum):
    """Proactive keeps every token fresh on a timer; on-demand refreshes only when a token is asked for."""

    PROACTIVE = "proactive"
    ON_DEMAND = "on_demand"


def validate_company_ref(ref: str) -> str:
    """The partner's own company reference: 1-128 characters of letters, digits and ``._@:-``.

    It becomes part of the workflow id and the connect URL path, so it stays printable and unambiguous.
    """
    if not _COMPANY_REF.fullmatch(ref):
        raise ValueError(
            f"invalid company reference {ref[:40]!r}: use 1-128 letters, digits or . _ @ : - "
            "(starting with a letter or digit)"
        )
    return ref


def company_ref_from_state(state: str) -> str | None:
    """The company a callback's ``state`` belongs to: states are ``<company_ref>.<random>``.

    The random part (URL-safe base64) never contains a dot, so the last dot splits them. The reference
    only routes the callback; the workflow still compares the whole state in constant time.
    """
    ref, dot, nonce = state.rpartition(".")
    if not dot or not nonce or not _COMPANY_REF.fullmatch(ref):
        return None
    return ref


def company_workflow_id(ref: str) -> str:
    """The one workflow id of a company, derived from the partner's reference."""
    return WORKFLOW_ID_PREFIX + validate_company_ref(ref)


@dataclass(frozen=True)
class PendingConsent:
    """A connect link that is waiting for its callback."""

    state: str
    """Single-use, unguessable, issued by an activity (so it reaches history only encrypted)."""
    authorize_url: str
    expires_at: datetime
    scope: str | None = None
    """The scopes a reconnect link asks for (None: the company's ``scope`` setting); what it becomes once consented."""


@dataclass(frozen=True)
class CompanySettings:
    """Per-company behaviour, chosen at onboarding and carried across continue-as-new."""

    scope: str | None = None
    """Scopes of the connect link; None uses REMOTE_OAUTH_SCOPES."""
    refresh_policy: RefreshPolicy = RefreshPolicy.PROACTIVE
    timing: RefreshTiming = field(default_factory=RefreshTiming)
    keepalive_seconds: float = 24 * 3600.0
    """On-demand policy: refresh at least this often, to notice revoked consent."""
    misconfigured_retry_seconds: float = 3600.0
    """How long a misconfigured company waits before trying again on its own."""
    failed_refresh_retry_seconds: float = 60.0
    """After a refresh whose retries ran out on transient errors, wait this long and try again."""
    consent_wait_seconds: float = 30 * 86400.0
    """How long a company that never consented waits before it ends as ``expired`` (no workflow forever)."""
    cycles_per_run: int = 100
    """Continue-as-new after this many refreshes, keeping each run's history bounded."""
    token_task_queue: str | None = None
    """Task queue of token-endpoint activities (rate limited fleet-wide); None: the workflow's own."""
    search_attributes: bool = True
    """Upsert RemoteOAuthState / RemoteCompanyId; off only where the server has none registered."""
    refresh_scope: str | None = None
    """Scopes each refresh asks for (RFC 6749 section 6: at most what was granted); None keeps the grant's."""


@dataclass(frozen=True, kw_only=True)
class CompanyMemory(KeptTokenMemory):
    """Everything a run hands to the next one through continue-as-new: the kept token's part, then consent's."""

    phase: Phase
    pending: PendingConsent | None = None
    company_id: str | None = None
    user_id: str | None = None
    resume_phase: Phase | None = None
    """Where a misconfigured company goes back to once fixed."""
    consent_deadline: datetime | None = None
    """When a company that never consented expires; None once it consented (or in histories before it)."""
    reconnect: PendingConsent | None = None
    """An open reconnect link of a connected company (its token stays in use until the new consent)."""
    metadata: dict[str, str] | None = None
    """The partner's own metadata (``validate_metadata``); None in histories before it."""


@dataclass(frozen=True)
class CompanyInput:
    """Start (or continue) a company's workflow."""

    company_ref: str
    settings: CompanySettings = field(default_factory=CompanySettings)
    memory: CompanyMemory | None = None
    """Set by continue-as-new, and by an import (an active company whose first refresh proves the token)."""
    metadata: dict[str, str] | None = None
    """The partner's metadata at onboarding; later runs carry it in ``memory``."""


@dataclass(frozen=True)
class ConnectRequest:
    """Ask for the company's connect link (issuing a new one if the last expired)."""

    renew: bool = False
    """Issue a new link even if the current one is still valid."""
    company_id: str | None = None
    """Pin the ref to this Remote company: consent given for any other company never binds."""
    metadata: dict[str, str] | None = None
    """Replace the partner's metadata of the company (None leaves it as it is)."""


@dataclass(frozen=True)
class ConnectLink:
    phase: Phase
    authorize_url: str | None
    """None once the company is connected: there is nothing to consent to."""
    expires_at: datetime | None


@dataclass(frozen=True)
class Callback:
    """What the OAuth redirect brought back to the partner's callback endpoint."""

    state: str
    code: str | None = None
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class CallbackResult:
    phase: Phase
    message: str
    """For the partner (logs, API); may quote the gateway, cleaned. Never shown to the customer's browser."""
    error_type: str | None = None
    """The ``ErrorType`` of a failed consent, the short reference the callback page shows."""


@dataclass(frozen=True)
class Offboard:
    reason: str = ""


@dataclass(frozen=True)
class RetryRequest:
    """Try a misconfigured company again now (after fixing its settings)."""

    reason: str = ""


@dataclass(frozen=True)
class CompanyStatus:
    """What a partner needs to see about one company."""

    company_ref: str
    phase: Phase
    company_id: str | None
    user_id: str | None
    expires_at: datetime | None
    last_refresh_at: datetime | None
    next_refresh_at: datetime | None
    refreshes: int
    last_error: str | None
    last_error_type: str | None
    authorize_url: str | None
    refresh_policy: RefreshPolicy
    consent_deadline: datetime | None = None
    """When a company that never consented expires (``REMOTE_OAUTH_CONSENT_WAIT``); None once connected."""
    scope: str | None = None
    """The scopes the company's token was granted (None without a token, or when the gateway named none)."""
    metadata: dict[str, str] = field(default_factory=dict)
    """The partner's own metadata; not a place for secrets (shown in status and webhook events)."""
    reconnect_expires_at: datetime | None = None
    """A reconnect is pending (until used, denied or refused): when its consent state expires (the connect
    link renews it when the admin opens it later). None when no reconnect is pending."""


def company_mismatch_message(expected: str, got: str | None) -> str:
    """Why an exchange was refused: consent came from another Remote company than the pinned one."""
    return (
        f"consent was given for Remote company {got or '(none named)'}, but this ref is pinned to {expected}: "
        "the tokens were dropped and nothing was bound; send a new connect link to the company's own admin"
    )


def unavailable_reason(company_ref: str, phase: Phase, last_error: str | None) -> str:
    """Why a company cannot hand out a token now, and what happens next; shown to API and CLI callers."""
    hint = {
        Phase.AWAITING_CONSENT: "waiting for an admin to follow the connect link",
        Phase.EXCHANGING: "exchanging the authorization code",
        Phase.CONSENT_DENIED: "the admin denied access; a new connect link is open",
        Phase.CONSENT_REVOKED: "consent was revoked; a new connect link is open",
        Phase.MISCONFIGURED: f"misconfigured ({last_error}); fix the settings and run `retry`",
        Phase.OFFBOARDED: "offboarded",
        Phase.EXPIRED: "nobody consented in time; run `onboard` again for a new link",
    }.get(phase, str(phase))
    return f"company {company_ref} has no token: {hint}"


__all__ = [
    "WORKFLOW_ID_PREFIX",
    "Callback",
    "CallbackResult",
    "CompanyInput",
    "CompanyMemory",
    "CompanySettings",
    "CompanyStatus",
    "ConnectLink",
    "ConnectRequest",
    "FreshnessRequest",
    "Offboard",
    "PendingConsent",
    "Phase",
    "RefreshPolicy",
    "RetryRequest",
    "company_mismatch_message",
    "company_ref_from_state",
    "company_workflow_id",
    "unavailable_reason",
    "validate_company_ref",
    "validate_metadata",
]
