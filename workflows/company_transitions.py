"""What a company does: the activities it runs and the state changes around them.

Workflow code (deterministic). ``CompanyConsentWorkflow`` inherits these transitions and adds the Temporal
surface (the run loop, updates, queries, signals); each transition runs while its caller holds the lock.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow

from workflows.company_effects import CompanyEffects
from workflows.company_state import CompanyState
from workflows.kept_token import SingleFlight, record_lead_time
from workflows.types.company import (
    Callback,
    CallbackResult,
    CompanyInput,
    PendingConsent,
    Phase,
    company_mismatch_message,
)
from workflows.types.errors import ErrorType
from workflows.types.kept_token import Failure, FailureKind, attempt
from workflows.types.tokens import TokenGrant
from workflows.types.untrusted import INVALID_CALLBACK, error_code

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import (
        ExchangeCodeInput,
        IssueStateInput,
        RefreshInput,
    )


class CompanyTransitions(CompanyState):
    """The consent and token-keeping transitions of one company, and what they publish and notify."""

    def __init__(self, start: CompanyInput) -> None:
        super().__init__(start)
        # One state-changing handler at a time: this is what makes refresh single-flight.
        self._flight = SingleFlight()
        self._effects = CompanyEffects(
            start.company_ref, search_attributes=start.settings.search_attributes, fresh=start.memory is None
        )

    async def _issue_link(self) -> None:
        self._pending = await self._new_link(self._settings.scope)

    async def _renew_reconnect(self, scope: str | None = None) -> PendingConsent:
        """A new state for a connected company's reconnect (``scope``: a new reconnect's, else the open one's)."""
        if scope is None and self._reconnect is not None:
            scope = self._reconnect.scope
        link = await self._new_link(scope or self._settings.scope)
        self._reconnect = dataclasses.replace(link, scope=scope)
        return link

    async def _new_link(self, scope: str | None) -> PendingConsent:
        issued = await workflow.execute_activity_method(
            TokenActivities.issue_state,
            IssueStateInput(company_ref=self._ref, scope=scope),
            **options.local_activity_kwargs(),
        )
        expires_at = workflow.now() + timedelta(seconds=issued.ttl_seconds)
        return PendingConsent(state=issued.state, authorize_url=issued.authorize_url, expires_at=expires_at)

    async def _on_denied(self, callback: Callback) -> CallbackResult:
        self._phase = Phase.CONSENT_DENIED
        # The browser brought this: only an RFC 6749 error code is kept, the description never.
        code = error_code(callback.error) or INVALID_CALLBACK
        detail = (
            "the admin denied access"
            if code == "access_denied"
            else f"the consent page answered error={code}"
        )
        self._kept.record(detail, code)
        await self._issue_link()
        self._publish()
        self._notify("denied", detail)
        return CallbackResult(phase=self._phase, message=f"consent was not given: {detail}", error_type=code)

    async def _exchange_code(self, code: str, pinned: str | None) -> TokenGrant | Failure:
        """The code exchange, refused by the activity when the grant names another company than ``pinned``."""
        return await attempt(
            workflow.execute_activity_method(
                TokenActivities.exchange_code,
                ExchangeCodeInput(code=code, expected_company_id=pinned),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        )

    async def _exchange(self, code: str) -> CallbackResult:
        previous = self._phase
        self._phase = Phase.EXCHANGING
        requested_at = workflow.now()
        pinned = self._company_id
        grant = await self._exchange_code(code, pinned)
        if isinstance(grant, Failure):
            self._phase = previous
            await self._on_failure(grant, refreshing=False)
            return self._callback_failed()
        if pinned is not None and grant.company_id != pinned:
            # The activity refuses this already; checked again so a worker of an older version cannot bind.
            self._phase = previous
            await self._on_mismatch(company_mismatch_message(pinned, grant.company_id))
            return self._callback_failed()
        self._take(grant, requested_at, refreshed=False)
        self._company_id = grant.company_id or self._company_id
        self._user_id = grant.user_id or self._user_id
        self._consent_deadline = None
        self._publish()
        if previous is Phase.CONSENT_REVOKED:
            self._notify("recovered", "consent given again")
        return CallbackResult(phase=self._phase, message="connected")

    async def _reconnected(self, code: str, link: PendingConsent) -> CallbackResult:
        """A connected company consented again: the new grant replaces the current one only once exchanged.

        The phase stays active throughout, so tokens keep being handed out; the exchange is pinned to the
        company already bound, and any failure leaves the current grant as it was.
        """
        requested_at = workflow.now()
        pinned = self._company_id
        grant = await self._exchange_code(code, pinned)
        if isinstance(grant, Failure):
            return self._reconnect_failed(
                f"{grant.message}; the current grant stays in use", grant.error_type
            )
        if pinned is not None and grant.company_id != pinned:
            message = company_mismatch_message(pinned, grant.company_id)
            return self._reconnect_failed(f"{message}; the current grant stays", ErrorType.COMPANY_MISMATCH)
        self._take(grant, requested_at, refreshed=False)
        self._company_id = grant.company_id or self._company_id
        self._user_id = grant.user_id or self._user_id
        scope = link.scope or self._settings.scope
        self._settings = dataclasses.replace(self._settings, scope=scope, refresh_scope=None)
        self._publish()
        self._notify("reconnected", f"consent given again; granted scope: {grant.scope or 'not named'}")
        return CallbackResult(phase=self._phase, message="reconnected")

    def _reconnect_failed(self, detail: str, error_type: str | None) -> CallbackResult:
        self._kept.record(detail, error_type)
        self._notify("reconnect_failed", detail)
        return CallbackResult(phase=self._phase, message=detail, error_type=error_type)

    def _reconnect_denied(self, callback: Callback) -> CallbackResult:
        code = error_code(callback.error) or INVALID_CALLBACK
        return self._reconnect_failed(
            f"the new consent was not given (error={code}); the current grant stays", code
        )

    async def _refresh(self) -> bool:
        """Run one refresh (asking for ``refresh_scope`` when narrowed); the caller holds the lock."""
        token = self._kept.token
        if token is None or token.refresh_token is None:
            self._to_revoked("the token has no refresh token to renew it with")
            self._publish()
            return False
        self._phase = Phase.REFRESHING
        requested_at = workflow.now()
        grant: TokenGrant | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.refresh,
                RefreshInput(refresh_token=token.refresh_token, scope=self._settings.refresh_scope),
                **options.token_endpoint_kwargs(self._settings.token_task_queue),
            )
        )
        if isinstance(grant, Failure):
            self._phase = Phase.ACTIVE
            await self._on_failure(grant, refreshing=True)
            return False
        if self._company_id is not None and grant.company_id not in (None, self._company_id):
            # Only an imported token can belong to another company than the bound one: never keep it.
            message = company_mismatch_message(self._company_id, grant.company_id)
            self._to_revoked(message)
            await self._on_mismatch(message)
            return False
        self._take(grant, requested_at, refreshed=True)
        if self._company_id is None and grant.company_id is not None:
            # An import that named no company: the first refresh binds the one the gateway names, for good.
            self._company_id, self._user_id = grant.company_id, self._user_id or grant.user_id
            self._publish()
        record_lead_time(token.expires_at, requested_at, policy=self._settings.refresh_policy)
        self._flight.land()
        return True

    async def _on_failure(self, failure: Failure, *, refreshing: bool) -> None:
        self._kept.fail(failure)
        kind, message = failure.kind, failure.message
        if kind is FailureKind.MISMATCH:
            await self._on_mismatch(message)
            return
        if kind is FailureKind.REVOKED and refreshing:
            self._to_revoked(message)
            self._publish()  # before the new link's activity: command order is part of replayed history
            await self._issue_link()
            self._notify("revoked", message)
        elif kind is FailureKind.REVOKED:
            # The code was spent or expired: the admin has to follow a new link.
            await self._issue_link()
        elif kind is FailureKind.CONFIGURATION:
            self._resume_phase = Phase.ACTIVE if refreshing else self._phase
            self._phase = Phase.MISCONFIGURED
            self._kept.retry_later(failure, workflow.now(), self._settings)
            self._notify("misconfigured", message)
        elif refreshing:
            # Transient errors outlasted the activity's retries: keep the token, try again soon.
            self._kept.retry_later(failure, workflow.now(), self._settings)
        else:
            await self._issue_link()
        self._rearm = True
        self._publish()

    async def _on_mismatch(self, message: str) -> None:
        """Consent came from another Remote company: nothing bound, a new link for the right admin, an event."""
        self._kept.record(message, ErrorType.COMPANY_MISMATCH)
        await self._issue_link()
        self._rearm = True
        self._publish()
        self._notify("company_mismatch", message)

    def _callback_failed(self) -> CallbackResult:
        return CallbackResult(
            phase=self._phase,
            message=self._kept.last_error or "exchange failed",
            error_type=self._kept.last_error_type,
        )

    async def _resume(self) -> None:
        """Leave ``misconfigured``: refresh again, or open a new connect link (then say so)."""
        if self._resume_phase is Phase.ACTIVE and self._kept.token is not None:
            await self._refresh()
            if self._phase is Phase.ACTIVE:
                self._notify("recovered", "the configuration works again; tokens are fresh")
            return
        await self._issue_link()  # before the phase changes, so no one sees a consent state without a link
        self._phase = self._resume_phase or Phase.AWAITING_CONSENT
        self._resume_phase = None
        self._kept.retry_at = None
        self._publish()
        self._notify("recovered", "the configuration works again; a new connect link is open")

    def _publish(self) -> None:
        self._effects.publish(self._phase, self._company_id)

    def _notify(self, event: str, detail: str) -> None:
        self._effects.notify(
            event,
            detail,
            phase=self._phase,
            occurred_at=workflow.now(),
            link_open=self._phase.wants_consent and self._pending is not None,
            company_id=self._company_id,
            metadata=self._metadata,
        )
