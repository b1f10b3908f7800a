"""The company workflow's state, and the decisions and transitions that only touch that state.

Workflow code (deterministic): no awaits and no side effects here. ``CompanyTransitions`` inherits it and adds
the activities and effects, ``CompanyConsentWorkflow`` the handlers and timers; the token itself is a
``KeptToken``.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kept_token import KeptToken
from workflows.types.company import (
    Callback,
    CompanyInput,
    CompanyMemory,
    CompanyStatus,
    FreshnessRequest,
    Offboard,
    PendingConsent,
    Phase,
    RefreshPolicy,
    unavailable_reason,
)
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant


class CompanyState:
    """Everything a company workflow knows; carried across continue-as-new as ``CompanyMemory``."""

    def __init__(self, start: CompanyInput) -> None:
        memory = start.memory or CompanyMemory(phase=Phase.AWAITING_CONSENT)
        self._ref = start.company_ref
        self._settings = start.settings
        self._phase = memory.phase
        # Always drawn (the random sequence of old histories stays the same), then restored if carried.
        self._kept = KeptToken.from_memory(memory, jitter=workflow.random().random())
        self._pending = memory.pending
        self._company_id = memory.company_id
        self._user_id = memory.user_id
        self._resume_phase = memory.resume_phase
        self._consent_deadline: datetime | None = memory.consent_deadline
        self._reconnect = memory.reconnect
        self._metadata = dict(memory.metadata if memory.metadata is not None else start.metadata or {})
        self._offboard: Offboard | None = None
        self._retry_requested = False
        self._rearm = False

    def _memory(self) -> CompanyMemory:
        return self._kept.memory_as(
            CompanyMemory,
            phase=self._phase,
            pending=self._pending,
            company_id=self._company_id,
            user_id=self._user_id,
            resume_phase=self._resume_phase,
            consent_deadline=self._consent_deadline,
            reconnect=self._reconnect,
            metadata=self._metadata or None,
        )

    def _status(self) -> CompanyStatus:
        pending = self._pending if self._phase.wants_consent else None
        reconnect = self._reconnect if self._phase.has_token else None
        kept = self._kept
        return CompanyStatus(
            company_ref=self._ref,
            phase=self._phase,
            company_id=self._company_id,
            user_id=self._user_id,
            expires_at=kept.token.expires_at if kept.token and self._phase.has_token else None,
            last_refresh_at=kept.last_refresh_at,
            next_refresh_at=self._next_wake() if self._phase.has_token else None,
            refreshes=kept.refreshes,
            last_error=kept.last_error,
            last_error_type=kept.last_error_type,
            authorize_url=pending.authorize_url if pending else None,
            refresh_policy=self._settings.refresh_policy,
            consent_deadline=self._consent_deadline,
            scope=kept.token.scope if kept.token and self._phase.has_token else None,
            metadata=dict(self._metadata),
            reconnect_expires_at=reconnect.expires_at if reconnect else None,
        )

    def _open_consent(self) -> PendingConsent | None:
        """The link a callback may complete: the consent link, or a connected company's reconnect link."""
        if self._phase.wants_consent:
            return self._pending
        return self._open_reconnect()

    def _open_reconnect(self) -> PendingConsent | None:
        reconnect = self._reconnect if self._phase.has_token else None
        return reconnect if reconnect is not None and workflow.now() < reconnect.expires_at else None

    def _callback_problem(self, callback: Callback) -> ApplicationError | None:
        """Why a callback cannot be accepted (typed, so callers branch on the type), or None; checked
        before anything is written."""
        pending = self._reconnect if self._phase.has_token else self._pending
        if pending is None or not (self._phase.wants_consent or self._phase.has_token):
            return _rejected(f"company is {self._phase}: it is not waiting for consent")
        if not hmac.compare_digest(callback.state.encode(), pending.state.encode()):
            return _rejected(
                "state does not match this company's open connect link (wrong, reused or replaced)"
            )
        if workflow.now() >= pending.expires_at:
            return _rejected("the connect link expired: ask for a new one", ErrorType.CONSENT_STATE_EXPIRED)
        if callback.error is None and not callback.code:
            return _rejected("the callback carries neither a code nor an error")
        return None

    def _needs_refresh(self, request: FreshnessRequest) -> bool:
        """A kept token that does not answer ``request``; without one only a new consent helps."""
        has_token = self._phase.has_token and self._kept.token is not None
        return has_token and self._kept.needs_refresh(request, workflow.now())

    def _take(self, grant: TokenGrant, requested_at: datetime, *, refreshed: bool) -> None:
        """Keep a grant (an exchange's, or a refresh's, which counts as a cycle)."""
        now, jitter = workflow.now(), workflow.random().random()
        self._kept.take(grant, requested_at=requested_at, now=now, jitter=jitter, counted=refreshed)
        self._phase = Phase.ACTIVE
        self._resume_phase = None
        self._rearm = True

    def _to_revoked(self, reason: str) -> None:
        self._phase = Phase.CONSENT_REVOKED
        self._kept.drop()
        self._reconnect = None
        self._kept.record(reason, ErrorType.INVALID_GRANT)

    def _next_wake(self) -> datetime | None:
        kept = self._kept
        if kept.retry_at is not None and self._phase in (Phase.MISCONFIGURED, Phase.ACTIVE):
            return kept.retry_at
        token = kept.token
        if token is None or not self._phase.has_token:
            return self._consent_deadline if self._phase.wants_consent else None
        if self._settings.refresh_policy is RefreshPolicy.ON_DEMAND:
            base = kept.last_refresh_at or token.issued_at
            return base + timedelta(seconds=self._settings.keepalive_seconds)
        return kept.refresh_at(self._settings.timing)

    def _woken(self) -> bool:
        """Something the run loop must look at happened: a new wake time, a retry, an offboarding."""
        return self._rearm or self._retry_requested or self._offboard is not None

    def _unavailable_reason(self) -> str:
        return unavailable_reason(self._ref, self._phase, self._kept.last_error)


def _rejected(message: str, kind: ErrorType = ErrorType.CALLBACK_REJECTED) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)
