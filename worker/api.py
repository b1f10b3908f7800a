"""The app-facing Python API: onboard companies, read their status, and take fresh tokens in one call.

Example::

    oauth = RemoteOAuth(temporal_client, task_queue="remote-oauth")
    link = await oauth.onboard("acme")            # send link.authorize_url to Acme's admin
    async with httpx.AsyncClient(auth=oauth.auth("acme")) as http:
        await http.get("https://gateway.remote.com/v1/companies")
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.company import CompanyConsentWorkflow
from workflows.company_effects import STATE_KEY
from workflows.consent import (
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
from workflows.errors import NotFoundError, NotReadyError
from workflows.tokens import TokenGrant

__all__ = ["CompanyAuth", "RemoteOAuth"]

DEFAULT_MIN_TTL = 60.0
"""Seconds a token must still be valid when handed out, so a request in flight does not expire."""


@dataclass(frozen=True)
class _Cached:
    token: TokenGrant


class RemoteOAuth:
    """Talks to the company workflows through a Temporal client (built with the payload codec)."""

    def __init__(
        self, client: Client, *, task_queue: str, company_settings: CompanySettings | None = None
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._company_settings = company_settings or CompanySettings()

    @property
    def client(self) -> Client:
        return self._client

    def _handle(self, company_ref: str) -> WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]:
        return self._client.get_workflow_handle_for(
            CompanyConsentWorkflow.run, company_workflow_id(company_ref)
        )

    async def onboard(
        self, company_ref: str, *, settings: CompanySettings | None = None, renew: bool = False
    ) -> ConnectLink:
        """Start (or join) the company's workflow and return its connect link; idempotent."""
        handle = await self._client.start_workflow(
            CompanyConsentWorkflow.run,
            CompanyInput(company_ref=company_ref, settings=settings or self._company_settings),
            id=company_workflow_id(company_ref),
            task_queue=self._task_queue,
            # Onboarding twice joins the running workflow: one company, one workflow, one link.
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        return await handle.execute_update(CompanyConsentWorkflow.connect_link, ConnectRequest(renew=renew))

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
            return await self._handle(ref).execute_update(CompanyConsentWorkflow.complete_consent, callback)
        except WorkflowUpdateFailedError as err:
            raise NotReadyError(_update_message(err)) from None
        except RPCError as err:
            raise _rpc_error(err, ref) from None

    async def status(self, company_ref: str) -> CompanyStatus:
        try:
            return await self._handle(company_ref).query(CompanyConsentWorkflow.status)
        except RPCError as err:
            raise _rpc_error(err, company_ref) from None

    async def list(self, phase: Phase | None = None) -> list[CompanyStatus]:
        """Every running company (optionally only those in ``phase``), via Temporal visibility."""
        query = "WorkflowType = 'CompanyConsent' AND ExecutionStatus = 'Running'"
        if phase is not None:
            query += f" AND {STATE_KEY.name} = '{Phase(phase)}'"
        refs = [
            wf.id.removeprefix("remote-oauth-company:") async for wf in self._client.list_workflows(query)
        ]
        return list(await asyncio.gather(*(self.status(ref) for ref in sorted(refs))))

    async def token(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> TokenGrant:
        """A token valid for at least ``min_ttl`` seconds.

        A query (no history written) serves the common case; only a stale token costs an update, and the
        workflow runs at most one refresh however many callers ask at once.
        """
        try:
            current = await self._handle(company_ref).query(CompanyConsentWorkflow.current_token)
        except RPCError as err:
            raise _rpc_error(err, company_ref) from None
        if current is not None and current.ttl(_now()) >= timedelta(seconds=min_ttl):
            return current
        return await self._ensure_fresh(company_ref, FreshnessRequest(min_ttl_seconds=min_ttl))

    async def _ensure_fresh(self, company_ref: str, request: FreshnessRequest) -> TokenGrant:
        try:
            return await self._handle(company_ref).execute_update(
                CompanyConsentWorkflow.ensure_fresh, request
            )
        except WorkflowUpdateFailedError as err:
            raise NotReadyError(_update_message(err)) from None
        except RPCError as err:
            raise _rpc_error(err, company_ref) from None

    async def token_after_rejection(self, company_ref: str, rejected: TokenGrant) -> TokenGrant:
        """A new token after a Remote API answered 401 to ``rejected`` (one refresh fleet-wide)."""
        digest = hashlib.sha256(rejected.access_token.encode()).hexdigest()
        return await self._ensure_fresh(company_ref, FreshnessRequest(rejected_token_sha256=digest))

    async def offboard(self, company_ref: str, *, reason: str = "") -> CompanyStatus:
        """Forget the company's tokens and end its workflow; returns its final status."""
        handle = self._handle(company_ref)
        try:
            await handle.signal(CompanyConsentWorkflow.offboard, Offboard(reason=reason))
            return await handle.result()
        except RPCError as err:
            raise _rpc_error(err, company_ref) from None

    async def retry(self, company_ref: str) -> None:
        """Ask a misconfigured company to try again now."""
        try:
            await self._handle(company_ref).signal(CompanyConsentWorkflow.retry, RetryRequest())
        except RPCError as err:
            raise _rpc_error(err, company_ref) from None

    def auth(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> CompanyAuth:
        """An ``httpx.Auth`` for an ``httpx.AsyncClient`` acting as this company."""
        return CompanyAuth(self, company_ref, min_ttl=min_ttl)


class CompanyAuth(httpx.Auth):
    """Adds the company's bearer token; caches it until near expiry; on a 401 refreshes once and retries."""

    def __init__(self, oauth: RemoteOAuth, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> None:
        self._oauth = oauth
        self._ref = company_ref
        self._min_ttl = timedelta(seconds=min_ttl)
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    async def _current(self) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.ttl(_now()) >= self._min_ttl:
                return cached.token
            token = await self._oauth.token(self._ref, min_ttl=self._min_ttl.total_seconds())
            self._cached = _Cached(token)
            return token

    async def _after_401(self, rejected: TokenGrant) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.access_token != rejected.access_token:
                return cached.token  # another request already replaced it
            token = await self._oauth.token_after_rejection(self._ref, rejected)
            self._cached = _Cached(token)
            return token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("CompanyAuth needs an httpx.AsyncClient: tokens come from Temporal asynchronously")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._after_401(token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request


def _now() -> datetime:
    return datetime.now(UTC)


def _update_message(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


def _rpc_error(err: RPCError, company_ref: str) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFoundError(
            f"no onboarding workflow for company {company_ref!r}: run `remote-oauth onboard`"
        )
    return err
