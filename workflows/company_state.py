"""The company workflow's state, and the decisions and transitions that only touch that state.

Workflow code (deterministic): no awaits and no side effects here. ``CompanyConsentWorkflow`` inherits it and
adds the handlers, activities and timers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.schedule import refresh_at
from workflows.types.company import (
    Callback,
    CompanyInput,
    CompanyMemory,
    CompanyStatus,
    FreshnessRequest,
    Offboard,
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
        self._token = memory.token
        self._pending = memory.pending
        self._company_id = memory.company_id
        self._user_id = memory.user_id
        self._last_refresh_at = memory.last_refresh_at
        self._last_error = memory.last_error
        self._last_error_type = memory.last_error_type
        self._refreshes = memory.refreshes
        self._resume_phase = memory.resume_phase
        self._cycles = 0
        # Always drawn (the random sequence of old histories stays the same), then restored if carried.
        self._jitter = workflow.random().random()
        if memory.jitter is not None:
            self._jitter = memory.jitter
        self._retry_at: datetime | None = memory.retry_at
        self._consent_deadline: datetime | None = memory.consent_deadline
        self._offboard: Offboard | None = None
        self._retry_requested = False
        self._rearm = False

    def _memory(self) -> CompanyMemory:
        return CompanyMemory(
            phase=self._phase,
            token=self._token,
            pending=self._pending,
            company_id=self._company_id,
            user_id=self._user_id,
            last_refresh_at=self._last_refresh_at,
            last_error=self._last_error,
            last_error_type=self._last_error_type,
            refreshes=self._refreshes,
            resume_phase=self._resume_phase,
            retry_at=self._retry_at,
            consent_deadline=self._consent_deadline,
            jitter=self._jitter,
        )

    def _status(self) -> CompanyStatus:
        pending = self._pending if self._phase.wants_consent else None
        return CompanyStatus(
            company_ref=self._ref,
            phase=self._phase,
            company_id=self._company_id,
            user_id=self._user_id,
            expires_at=self._token.expires_at if self._token and self._phase.has_token else None,
            last_refresh_at=self._last_refresh_at,
            next_refresh_at=self._next_wake() if self._phase.has_token else None,
            refreshes=self._refreshes,
            last_error=self._last_error,
            last_error_type=self._last_error_type,
            authorize_url=pending.authorize_url if pending else None,
            refresh_policy=self._settings.refresh_policy,
            consent_deadline=self._consent_deadline,
        )

    def _callback_problem(self, callback: Callback) -> ApplicationError | None:
        """Why a callback cannot be accepted (typed, so callers branch on the type), or None; checked
        before anything is written."""
        pending = self._pending
        if not self._phase.wants_consent or pending is None:
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
        token = self._token
        if token is None or not self._phase.has_token:
            return False
        if request.rejected_token_sha256 is not None:
            seen = hashlib.sha256(token.access_token.encode()).hexdigest()
            # Refresh only if the rejected token is still current: a 401 on an old token is already fixed.
            return hmac.compare_digest(seen, request.rejected_token_sha256)
        return token.ttl(workflow.now()) < timedelta(seconds=request.min_ttl_seconds)

    def _take(self, grant: TokenGrant, requested_at: datetime) -> None:
        # Re-anchor the lifetime on workflow time, from before the request was scheduled: deterministic,
        # immune to a worker's clock skew, and never later than the gateway meant.
        self._token = dataclasses.replace(
            grant, issued_at=requested_at, expires_at=requested_at + (grant.expires_at - grant.issued_at)
        )
        self._phase = Phase.ACTIVE
        self._last_refresh_at = workflow.now()
        self._retry_at = None
        self._jitter = workflow.random().random()
        self._last_error = self._last_error_type = None
        self._resume_phase = None
        self._rearm = True

    def _to_revoked(self, reason: str) -> None:
        self._phase = Phase.CONSENT_REVOKED
        self._token = None
        self._set_error(reason, ErrorType.INVALID_GRANT)

    def _set_error(self, message: str, kind: str | None) -> None:
        self._last_error, self._last_error_type = message, kind

    def _next_wake(self) -> datetime | None:
        if self._retry_at is not None and self._phase in (Phase.MISCONFIGURED, Phase.ACTIVE):
            return self._retry_at
        token = self._token
        if token is None or not self._phase.has_token:
            return self._consent_deadline if self._phase.wants_consent else None
        if self._settings.refresh_policy is RefreshPolicy.ON_DEMAND:
            base = self._last_refresh_at or token.issued_at
            return base + timedelta(seconds=self._settings.keepalive_seconds)
        return refresh_at(token.issued_at, token.expires_at, self._settings.timing, self._jitter)

    def _unavailable_reason(self) -> str:
        return unavailable_reason(self._ref, self._phase, self._last_error)


def _rejected(message: str, kind: ErrorType = ErrorType.CALLBACK_REJECTED) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)
