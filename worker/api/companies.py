"""The app-facing Python API: onboard companies, read their status, and take fresh tokens in one call.

Example::

    oauth = RemoteOAuth(temporal_client, task_queue="remote-oauth")
    link = await oauth.onboard("acme")            # send link.connect_url to Acme's admin
    async with httpx.AsyncClient(auth=oauth.auth("acme")) as http:
        await http.get("https://gateway.remote.com/v1/companies")
"""

from __future__ import annotations

import asyncio
import functools
import uuid
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

from worker.api.auth import DEFAULT_MIN_TTL, BearerAuth, utc_now
from worker.api.partner import PartnerApi
from worker.api.rpc import digest, not_ready, rpc_error
from worker.api.token_cache import TokenCache
from workflows.assertion_tokens import (
    AssertionTokenSettings,
)
from workflows.company import CompanyConsentWorkflow
from workflows.company_effects import COMPANY_ID_KEY, STATE_KEY
from workflows.io.connect_session import ConnectLinks
from workflows.types.company import (
    WORKFLOW_ID_PREFIX,
    Callback,
    CallbackResult,
    CompanyInput,
    CompanySettings,
    CompanyStatus,
    ConnectLink,
    ConnectRequest,
    FreshnessRequest,
    Offboard,
    Phase,
    RetryRequest,
    company_ref_from_state,
    company_workflow_id,
)
from workflows.types.errors import ConfigurationError, ErrorType, NotFoundError
from workflows.types.partner import PartnerSettings
from workflows.types.tokens import TokenGrant

__all__ = ["BearerAuth", "CompanyAuth", "Onboarding", "RemoteOAuth"]

LIST_QUERY_TIMEOUT = timedelta(seconds=5)
"""How long list() waits for one company's answer before showing what visibility knows instead."""


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


def pinned_company_id(company_id: str | None) -> str | None:
    """A Remote company id to pin, in the canonical form the gateway's answers are compared in.

    Raises:
        ConfigurationError: not a UUID.
    """
    if company_id is None:
        return None
    try:
        return str(uuid.UUID(company_id))
    except ValueError:
        raise ConfigurationError(
            f"company id {company_id[:40]!r} is not a UUID (Remote company ids are)"
        ) from None


class RemoteOAuth(PartnerApi):
    """Talks to the token workflows through a Temporal client (built with the payload codec).

    ``client_id`` (settings' REMOTE_CLIENT_ID) keys the partner-token workflows; only a hash of it reaches
    Temporal. ``token_cache`` holds every token this instance hands out (one instance per process).
    """

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        company_settings: CompanySettings | None = None,
        client_id: str | None = None,
        partner_settings: PartnerSettings | None = None,
        assertion_settings: AssertionTokenSettings | None = None,
        links: ConnectLinks | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self._client = client
        self._tokens = TokenCache() if token_cache is None else token_cache
        self._links = links
        self._task_queue = task_queue
        self._company_settings = company_settings or CompanySettings()
        self._client_id = client_id
        queue = self._company_settings.token_task_queue
        self._partner_settings = partner_settings or PartnerSettings(token_task_queue=queue)
        self._assertion_settings = assertion_settings or AssertionTokenSettings(token_task_queue=queue)

    @property
    def client(self) -> Client:
        return self._client

    def _handle(self, company_ref: str) -> WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]:
        return self._client.get_workflow_handle_for(
            CompanyConsentWorkflow.run, company_workflow_id(company_ref)
        )

    @property
    def links(self) -> ConnectLinks | None:
        """Connect-link minting and checking (None without ``REMOTE_OAUTH_CONNECT_KEYS``)."""
        return self._links

    async def onboard(
        self,
        company_ref: str,
        *,
        settings: CompanySettings | None = None,
        renew: bool = False,
        company_id: str | None = None,
    ) -> Onboarding:
        """Start (or join) the company's workflow and return a fresh connect link for its admin; idempotent.

        ``company_id`` pins the ref to that Remote company before anyone consents: consent given for any
        other company is then refused and dropped.

        Raises:
            ConfigurationError: ``company_id`` is not a UUID.
            NotReadyError: the ref is already bound to another Remote company than ``company_id``.
        """
        pin = pinned_company_id(company_id)
        handle = await self._client.start_workflow(
            CompanyConsentWorkflow.run,
            CompanyInput(company_ref=company_ref, settings=settings or self._company_settings),
            id=company_workflow_id(company_ref),
            task_queue=self._task_queue,
            # Onboarding twice joins the running workflow: one company, one workflow, one link.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            link = await handle.execute_update(
                CompanyConsentWorkflow.connect_link, ConnectRequest(renew=renew, company_id=pin)
            )
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        self._tokens.evict_group(company_ref)  # a renewal or a pin may have changed the consent
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

    async def consent_page(self, company_ref: str) -> ConnectLink:
        """Where a valid connect link sends the browser: the open consent link of a running company.

        Starts nothing: only ``onboard`` starts workflows.

        Raises:
            NotFoundError: no running workflow for the ref (offboarded, expired, never onboarded).
            NotReadyError: the workflow refuses (being offboarded).
        """
        try:
            return await self._handle(company_ref).execute_update(
                CompanyConsentWorkflow.connect_link, ConnectRequest()
            )
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    async def complete_consent(self, callback: Callback) -> CallbackResult:
        """Deliver an OAuth callback to the workflow that issued its ``state``.

        Raises:
            NotFoundError: the state names no running company workflow.
            NotReadyError: the workflow rejected the callback (wrong, reused or expired state...).
        """
        ref = company_ref_from_state(callback.state)
        if ref is None:
            raise NotFoundError("the callback's state was not issued by remote-oauth")
        try:
            result = await self._handle(ref).execute_update(CompanyConsentWorkflow.complete_consent, callback)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, ref) from None
        self._tokens.evict_group(ref)  # new consent: a new token, maybe a new admin for assertion tokens
        return result

    async def status(self, company_ref: str, *, rpc_timeout: timedelta | None = None) -> CompanyStatus:
        """The company's state, expiry, next refresh, last error and Remote ids (a query: no history)."""
        try:
            return await self._handle(company_ref).query(
                CompanyConsentWorkflow.status, rpc_timeout=rpc_timeout
            )
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    async def list(self, phase: Phase | None = None) -> list[CompanyStatus]:
        """Every running company of this task queue (optionally only those in ``phase``), via visibility.

        A company whose workflow cannot answer now (no worker polling, say) is listed from its search
        attributes, with the reason in ``last_error``, instead of failing the whole list.
        """
        query = f"WorkflowType = 'CompanyConsent' AND ExecutionStatus = 'Running' AND TaskQueue = '{self._task_queue}'"
        if phase is not None:
            query += f" AND {STATE_KEY.name} = '{Phase(phase)}'"
        found = [wf async for wf in self._client.list_workflows(query)]
        found.sort(key=lambda wf: wf.id)
        return list(await asyncio.gather(*(self._listed(wf) for wf in found)))

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
                refresh_policy=self._company_settings.refresh_policy,
            )

    async def token(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> TokenGrant:
        """A token valid for at least ``min_ttl`` seconds.

        From this process's token cache when it holds one valid that long (no Temporal call); else one query
        (no history written) shared by every caller that missed, and only a stale token costs an update:
        the workflow runs at most one refresh however many callers ask at once.
        """
        # The hit path is what a read costs: keyed by the ref itself (other tokens by tuples), and no lambda
        # here, whose closure cells would be made on every call.
        cached = self._tokens.fresh(company_ref, min_ttl)
        if cached is not None:
            return cached
        fetch = functools.partial(self._current_token, company_ref, min_ttl)
        return await self._tokens.get(company_ref, min_ttl, fetch, group=company_ref)

    async def _current_token(self, company_ref: str, min_ttl: float) -> TokenGrant:
        try:
            current = await self._handle(company_ref).query(CompanyConsentWorkflow.current_token)
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
        if current is not None and current.ttl(utc_now()) >= timedelta(seconds=min_ttl):
            return current
        return await self._ensure_fresh(company_ref, FreshnessRequest(min_ttl_seconds=min_ttl))

    async def _ensure_fresh(self, company_ref: str, request: FreshnessRequest) -> TokenGrant:
        try:
            return await self._handle(company_ref).execute_update(
                CompanyConsentWorkflow.ensure_fresh, request
            )
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    async def token_after_rejection(self, company_ref: str, rejected: TokenGrant) -> TokenGrant:
        """A new token after a Remote API answered 401 to ``rejected`` (one refresh fleet-wide).

        Evicts exactly ``rejected`` from the token cache; if another caller already replaced it, that
        token comes back without a Temporal call.
        """
        request = FreshnessRequest(rejected_token_sha256=digest(rejected))
        fetch = functools.partial(self._ensure_fresh, company_ref, request)
        return await self._tokens.replace(company_ref, rejected, fetch, group=company_ref)

    async def offboard(self, company_ref: str, *, reason: str = "") -> CompanyStatus:
        """Forget the company's tokens and end its workflow; returns its final status."""
        handle = self._handle(company_ref)
        try:
            await handle.signal(CompanyConsentWorkflow.offboard, Offboard(reason=reason))
            return await handle.result()
        except RPCError as err:
            raise rpc_error(err, company_ref) from None
        finally:
            self._tokens.evict_group(company_ref)

    async def retry(self, company_ref: str) -> None:
        """Ask a misconfigured company to try again now."""
        try:
            await self._handle(company_ref).signal(CompanyConsentWorkflow.retry, RetryRequest())
        except RPCError as err:
            raise rpc_error(err, company_ref) from None

    def auth(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> CompanyAuth:
        """An ``httpx.Auth`` for an ``httpx.AsyncClient`` acting as this company."""
        return CompanyAuth(self, company_ref, min_ttl=min_ttl)


class CompanyAuth(BearerAuth):
    """``BearerAuth`` with the company's token; a 401 refreshes it once fleet-wide and retries."""

    def __init__(self, oauth: RemoteOAuth, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> None:
        super().__init__(
            lambda ttl: oauth.token(company_ref, min_ttl=ttl),
            lambda rejected: oauth.token_after_rejection(company_ref, rejected),
            min_ttl=min_ttl,
        )
