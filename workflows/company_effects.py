"""What a company workflow tells the outside world: search attributes and webhook events.

Workflow code (deterministic); composed into ``CompanyConsentWorkflow`` so the state machine stays readable.
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError

from workflows.types.company import Phase

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import NotifyInput, NotifyResult

STATE_KEY = SearchAttributeKey.for_keyword("RemoteOAuthState")
COMPANY_ID_KEY = SearchAttributeKey.for_keyword("RemoteCompanyId")
SEARCH_ATTRIBUTES = (STATE_KEY, COMPANY_ID_KEY)
"""What a namespace must have registered (``remote-oauth dev`` does; a cluster operator does once)."""
# Transient phases are published as the stable phase they return to, so a refresh cycle writes no
# upsert events (history per cycle stays small).
_PUBLISHED = MappingProxyType({Phase.REFRESHING: Phase.ACTIVE, Phase.EXCHANGING: Phase.AWAITING_CONSENT})


def start_attributes(enabled: bool) -> TypedSearchAttributes:
    """The search attributes a new company's workflow starts with: its first state, so no upsert is needed."""
    if not enabled:
        return TypedSearchAttributes.empty
    return TypedSearchAttributes([SearchAttributePair(STATE_KEY, str(Phase.AWAITING_CONSENT))])


class CompanyEffects:
    """Search-attribute upserts (only on change) and background webhook notifications of one company."""

    def __init__(self, company_ref: str, *, search_attributes: bool, fresh: bool) -> None:
        self._ref = company_ref
        self._enabled = search_attributes
        self._published: tuple[str, str] | None = None
        if fresh:
            # Onboarding starts the workflow with its first state already set (``start_attributes``): that
            # saves an upsert. Only a fresh start: a continued run's inherited ones were always upserted again.
            given = workflow.info().typed_search_attributes
            state = given.get(STATE_KEY)
            self._published = (state, given.get(COMPANY_ID_KEY) or "") if state else None
        self._notifications: list[workflow.ActivityHandle[NotifyResult]] = []

    def publish(self, phase: Phase, company_id: str | None) -> None:
        """Upsert RemoteOAuthState / RemoteCompanyId if they changed (search attributes are not encrypted)."""
        if not self._enabled:
            return
        value = (str(_PUBLISHED.get(phase, phase)), company_id or "")
        if value == self._published:
            return
        self._published = value
        updates = [STATE_KEY.value_set(value[0])]
        if company_id:
            updates.append(COMPANY_ID_KEY.value_set(company_id))
        workflow.upsert_search_attributes(updates)

    def notify(
        self,
        event: str,
        detail: str,
        *,
        phase: Phase,
        occurred_at: datetime,
        link_open: bool,
        company_id: str | None,
        metadata: dict[str, str],
    ) -> None:
        """Start the webhook activity in the background: a slow receiver never delays a transition.

        ``link_open``: the event carries a fresh connect link, minted by the activity (the workflow holds no
        connect key, and the authorize URL it holds only works through one).
        """
        self._notifications.append(
            workflow.start_activity_method(
                TokenActivities.notify,
                NotifyInput(
                    event=event,
                    company_ref=self._ref,
                    state=str(phase),
                    occurred_at=occurred_at,
                    detail=detail,
                    link_open=link_open,
                    remote_company_id=company_id,
                    metadata=dict(metadata) or None,
                ),
                **options.notify_kwargs(),
            )
        )

    async def drain(self) -> None:
        """Wait for pending notifications (before continue-as-new or completion would abandon them)."""
        for handle in self._notifications:
            try:
                await handle
            except ActivityError:
                workflow.logger.warning("a webhook notification for %s was not delivered", self._ref)
        self._notifications.clear()
