"""Companies: onboarding, consent, status, and the company-scoped tokens their workflows keep."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from worker.api.companies.checked import checked_metadata, checked_scope, pinned_company_id
from worker.api.fresh import FreshTokens
from worker.api.rpc import not_ready, rpc_error
from workflows.company import CompanyConsentWorkflow
from workflows.company_effects import COMPANY_ID_KEY, STATE_KEY, start_attributes
from workflows.io.connect_session import ConnectLinks
from workflows.io.telemetry import spans
from workflows.types.company import (
    WORKFLOW_ID_PREFIX,
    Callback,
    CallbackResult,
    CompanyInput,
    CompanySettings,
    CompanyStatus,
    ConnectLink,
    ConnectRequest,
    Offboard,
    Phase,
    RetryRequest,
    company_ref_from_state,
    company_workflow_id,
)
from workflows.types.connection import NarrowRequest, ReconnectRequest
from workflows.types.errors import ErrorType, NotFoundError
from workflows.types.kept_token import FreshnessRequest
from workflows.types.tokens import TokenGrant

__all__ = ["LIST_QUERY_TIMEOUT", "CompanyTokens", "Onboarding"]

LIST_QUERY_TIMEOUT = timedelta(seconds=5)
"""How long list() waits for one company's answer before showing what visibility knows instead."""

_Handle = WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]


@dataclass(frozen=True)
class Onboarding:
    """What ``onboard`` returns: the link to send to the company's admin, on the partner's own web app."""

    company_ref: str
    phase: Phase
    connect_url: str | None = field(repr=False)
    """``{public url}/connect/{ref}?session=...``: send it to the admin. None once the company is connected,
    or when no ``REMOTE_OAUTH_CONNECT_KEYS`` is configured."""
    expires_at: datetime | None
    """When ``connect_url`` stops working (``REMOTE_OAUTH_CONNECT_TTL``); onboard again for a new one."""
    authorize_url: str | None = field(default=None, repr=False)
    """Remote's consent page with this company's ``state``, where the web app redirects the admin. Sent to an
    admin directly it fails safely: the callback needs the browser binding that only the connect link sets."""


@dataclass(frozen=True)
class _CompanyToken:
    """A company's workflow as a ``TokenSource``: it exists only once onboarded (nothing here starts it)."""

    handle: _Handle
    company_ref: str

    async def current(self) -> TokenGrant | None:
        try:
            return await self.handle.query(CompanyConsentWorkflow.current_token)
        except RPCError as err:
            raise rpc_error(err, self.company_ref) from None

    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        try:
            return await self.handle.execute_update(CompanyConsentWorkflow.ensure_fresh, request)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, self.company_ref) from None


class CompanyTokens:
    """One workflow per company reference: its consent, its status and its token (see ``RemoteOAuth``)."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        settings: CompanySettings,
        links: ConnectLinks | None,
        tokens: FreshTokens,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._settings = settings
        self._links = links
        self._tokens = tokens

    def handle(self, company_ref: str) -> _Handle:
        return self._client.get_workflow_handle_for(
            CompanyConsentWorkflow.run, company_workflow_id(company_ref)
        )

    def _kept(self, company_ref: str) -> _CompanyToken:
        return _CompanyToken(self.handle(company_ref), company_ref)

    async def onboard(
        self,
        company_ref: str,
        *,
        settings: CompanySettings | None,
        renew: bool,
        company_id: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> Onboarding:
        pin = pinned_company_id(company_id)
        meta = checked_metadata(metadata)
        chosen = settings or self._settings
        handle = await self._client.start_workflow(
            CompanyConsentWorkflow.run,
            CompanyInput(company_ref=company_ref, settings=chosen, metadata=meta),
            id=company_workflow_id(company_ref),
            task_queue=self._task_queue,
            search_attributes=start_attributes(chosen.search_attributes),
            # Onboarding twice joins the running workflow: one company, one workflow, one link.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            link = await handle.execute_update(
                CompanyConsentWorkflow.connect_link,
                ConnectRequest(renew=renew, company_id=pin, metadata=meta),
            )
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        self._tokens.evict_group(company_ref)  # a renewal or a pin may have changed the consent
        return self._onboarding(company_ref, link)

    def _onboarding(self, company_ref: str, link: ConnectLink) -> Onboarding:
        """The link to send: a signed connect link on the partner's web app for the open authorize URL."""
        connect_url, expires_at = None, None
        if link.authorize_url is not None and self._links is not None:
            connect_url, expires_at = self._links.link(company_ref)
        return Onboarding(
            company_ref=company_ref,
            phase=link.phase,
            connect_url=connect_url,
            expires_at=expires_at,
            authorize_url=link.authorize_url,
        )

    async def reconnect(self, company_ref: str, *, scope: str | None) -> Onboarding:
        request = ReconnectRequest(scope=checked_scope(scope) if scope is not None else None)
        try:
            link = await self.handle(company_ref).execute_update(CompanyConsentWorkflow.reconnect, request)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
        return self._onboarding(company_ref, link)

    async def narrow_scope(self, company_ref: str, scope: str) -> CompanyStatus:
        request = NarrowRequest(scope=checked_scope(scope))
        try:
            return await self.handle(company_ref).execute_update(CompanyConsentWorkflow.narrow_scope, request)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
        finally:
            self._tokens.evict_group(company_ref)  # the narrowed token replaces the wider one everywhere

    async def consent_page(self, company_ref: str) -> ConnectLink:
        try:
            return await self.handle(company_ref).execute_update(
                CompanyConsentWorkflow.connect_link, ConnectRequest()
            )
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    async def complete_consent(self, callback: Callback) -> CallbackResult:
        ref = company_ref_from_state(callback.state)
        if ref is None:
            raise NotFoundError("the callback's state was not issued by remote-oauth")
        try:
            result = await self.handle(ref).execute_update(CompanyConsentWorkflow.complete_consent, callback)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, ref) from None
        self._tokens.evict_group(ref)  # new consent: a new token, maybe a new admin for assertion tokens
        return result

    async def status(self, company_ref: str, *, rpc_timeout: timedelta | None = None) -> CompanyStatus:
        try:
            return await self.handle(company_ref).query(
                CompanyConsentWorkflow.status, rpc_timeout=rpc_timeout
            )
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    async def list(
        self, phase: Phase | None, metadata: Mapping[str, str] | None = None
    ) -> list[CompanyStatus]:
        query = f"WorkflowType = 'CompanyConsent' AND ExecutionStatus = 'Running' AND TaskQueue = '{self._task_queue}'"
        if phase is not None:
            query += f" AND {STATE_KEY.name} = '{Phase(phase)}'"
        found = [wf async for wf in self._client.list_workflows(query)]
        found.sort(key=lambda wf: wf.id)
        listed = await asyncio.gather(*(self._listed(wf) for wf in found))
        # Metadata is never in visibility (search attributes are stored in clear): filtered on the answers.
        wanted = set((checked_metadata(metadata) or {}).items())
        return [status for status in listed if wanted <= set(status.metadata.items())]

    async def _listed(self, wf: WorkflowExecution) -> CompanyStatus:
        ref = wf.id.removeprefix(WORKFLOW_ID_PREFIX)
        try:
            return await self.status(ref, rpc_timeout=LIST_QUERY_TIMEOUT)
        except RPCError as err:
            attributes = wf.typed_search_attributes
            shown = attributes.get(STATE_KEY) or ""
            return CompanyStatus(
                company_ref=ref,
                phase=Phase(shown) if shown in {p.value for p in Phase} else Phase.AWAITING_CONSENT,
                company_id=attributes.get(COMPANY_ID_KEY),
                user_id=None,
                expires_at=None,
                last_refresh_at=None,
                next_refresh_at=None,
                refreshes=0,
                last_error=f"status unavailable: {err.message}",
                last_error_type=ErrorType.STATUS_UNAVAILABLE,
                authorize_url=None,
                refresh_policy=self._settings.refresh_policy,
            )

    async def token(self, company_ref: str, *, min_ttl: float) -> TokenGrant:
        # Keyed by the ref itself (other kinds by tuples): the facade's hit path looks it up as is.
        source = functools.partial(self._kept, company_ref)
        # Past the facade's cache hit only: the parent of the query and update spans when tracing is on.
        with spans.span("remote_oauth.token", {"remote_oauth.company_ref": company_ref}):
            return await self._tokens.token(company_ref, min_ttl, source, group=company_ref)

    async def after_rejection(self, company_ref: str, rejected: TokenGrant) -> TokenGrant:
        source = functools.partial(self._kept, company_ref)
        return await self._tokens.after_rejection(company_ref, rejected, source, group=company_ref)

    async def ensure_fresh(self, company_ref: str, request: FreshnessRequest) -> TokenGrant:
        """The workflow's ``ensure_fresh`` update, past the cache (the bench forces refreshes with it)."""
        return await self._kept(company_ref).ensure_fresh(request)

    async def offboard(self, company_ref: str, *, reason: str) -> CompanyStatus:
        handle = self.handle(company_ref)
        try:
            await handle.signal(CompanyConsentWorkflow.offboard, Offboard(reason=reason))
            return await handle.result()
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
        finally:
            self._tokens.evict_group(company_ref)

    async def retry(self, company_ref: str) -> None:
        try:
            await self.handle(company_ref).signal(CompanyConsentWorkflow.retry, RetryRequest())
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
