"""The app-facing Python API: onboard companies, read their status, and take fresh tokens in one call.

Example::

    oauth = RemoteOAuth(temporal_client, task_queue="remote-oauth")
    link = await oauth.onboard("acme")            # send link.authorize_url to Acme's admin
    async with httpx.AsyncClient(auth=oauth.auth("acme")) as http:
        await http.get("https://gateway.remote.com/v1/companies")
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.activities import check_magic_link
from workflows.activity_types import MagicLinkInput
from workflows.assertion import company_manager_subject, employment_subject
from workflows.assertion_tokens import (
    AssertionTokenInput,
    AssertionTokenSettings,
    AssertionTokenWorkflow,
    assertion_workflow_id,
)
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
from workflows.errors import ConfigurationError, ErrorType, NotFoundError, NotReadyError, RequestRejectedError
from workflows.magic_link import WORKFLOW_ID_PREFIX as MAGIC_LINK_PREFIX
from workflows.magic_link import MagicLinkRequest, MagicLinkWorkflow
from workflows.partner import (
    PartnerInput,
    PartnerSettings,
    PartnerStatus,
    PartnerTokenWorkflow,
    normalise_scope,
    partner_key,
    partner_workflow_id,
)
from workflows.tokens import TokenGrant

__all__ = ["BearerAuth", "CompanyAuth", "RemoteOAuth"]

DEFAULT_MIN_TTL = 60.0
"""Seconds a token must still be valid when handed out, so a request in flight does not expire."""


@dataclass(frozen=True)
class _Cached:
    token: TokenGrant


class RemoteOAuth:
    """Talks to the token workflows through a Temporal client (built with the payload codec).

    ``client_id`` (settings' REMOTE_CLIENT_ID) keys the partner-token workflows; only a hash of it reaches
    Temporal.
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
    ) -> None:
        self._client = client
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
        return await self._ensure_fresh(
            company_ref, FreshnessRequest(rejected_token_sha256=_digest(rejected))
        )

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

    # -- partner tokens (client credentials) -----------------------------------------------------------

    def _partner(
        self, scope: str | None
    ) -> tuple[PartnerInput, WorkflowHandle[PartnerTokenWorkflow, PartnerStatus]]:
        if self._client_id is None:
            raise ConfigurationError("REMOTE_CLIENT_ID is not set: partner tokens are kept per client id")
        scope = normalise_scope(scope)
        start = PartnerInput(
            key=partner_key(self._client_id, scope), scope=scope, settings=self._partner_settings
        )
        handle = self._client.get_workflow_handle_for(
            PartnerTokenWorkflow.run, partner_workflow_id(start.key)
        )
        return start, handle

    async def partner_token(
        self, scope: str | None = None, *, min_ttl: float = DEFAULT_MIN_TTL
    ) -> TokenGrant:
        """A partner-scoped token valid for at least ``min_ttl`` seconds (starts its workflow if needed).

        Raises:
            ConfigurationError: no client id was given.
            NotReadyError: the token workflow is misconfigured or cannot get a token now.
        """
        _, handle = self._partner(scope)
        current = await _query_or_none(handle.query(PartnerTokenWorkflow.current_token))
        if current is not None and current.ttl(_now()) >= timedelta(seconds=min_ttl):
            return current
        return await self._partner_fresh(scope, FreshnessRequest(min_ttl_seconds=min_ttl))

    async def _partner_fresh(self, scope: str | None, request: FreshnessRequest) -> TokenGrant:
        start, handle = self._partner(scope)
        await self._client.start_workflow(
            PartnerTokenWorkflow.run,
            start,
            id=handle.id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            return await handle.execute_update(PartnerTokenWorkflow.ensure_fresh, request)
        except WorkflowUpdateFailedError as err:
            raise NotReadyError(_update_message(err)) from None

    async def partner_token_after_rejection(
        self, rejected: TokenGrant, scope: str | None = None
    ) -> TokenGrant:
        """A new partner token after a Remote API answered 401 to ``rejected`` (one grant fleet-wide)."""
        return await self._partner_fresh(scope, FreshnessRequest(rejected_token_sha256=_digest(rejected)))

    async def partner_status(self, scope: str | None = None) -> PartnerStatus:
        """The partner token's phase, expiry, next refresh and last error."""
        _, handle = self._partner(scope)
        try:
            return await handle.query(PartnerTokenWorkflow.status)
        except RPCError as err:
            raise _rpc_error(err, f"partner token {handle.id}", "ask for a partner token first") from None

    async def partner_retry(self, scope: str | None = None) -> None:
        """Ask a misconfigured partner token to try again now."""
        _, handle = self._partner(scope)
        try:
            await handle.signal(PartnerTokenWorkflow.retry, RetryRequest())
        except RPCError as err:
            raise _rpc_error(err, f"partner token {handle.id}", "ask for a partner token first") from None

    def partner_auth(self, scope: str | None = None, *, min_ttl: float = DEFAULT_MIN_TTL) -> BearerAuth:
        """An ``httpx.Auth`` carrying the partner token."""
        return BearerAuth(
            lambda ttl: self.partner_token(scope, min_ttl=ttl),
            lambda rejected: self.partner_token_after_rejection(rejected, scope),
            min_ttl=min_ttl,
        )

    # -- assertion tokens (acting as a company manager or an employee) --------------------------------

    async def assertion_subject(
        self, company_ref: str | None = None, *, user_id: str | None = None, employment_id: str | None = None
    ) -> str:
        """The ``sub`` to act as: an employment, a given user, or the admin who connected ``company_ref``."""
        if user_id is not None and employment_id is not None:
            raise RequestRejectedError("give at most one of user_id and employment_id")
        try:
            if employment_id is not None:
                return employment_subject(employment_id)
            if user_id is None:
                if company_ref is None:
                    raise RequestRejectedError("give a company reference, a user_id or an employment_id")
                user_id = (await self.status(company_ref)).user_id
                if user_id is None:
                    raise NotReadyError(
                        f"company {company_ref} has no admin user yet: consent is not complete"
                    )
            return company_manager_subject(user_id)
        except ValueError as err:
            raise RequestRejectedError(str(err)) from None

    async def assertion_token(
        self,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> TokenGrant:
        """A JWT-bearer token for a subject, shared fleet-wide and reused until near expiry.

        Raises:
            RequestRejectedError: the subject is invalid, or the gateway refused the assertion.
            NotReadyError: ``company_ref`` has not completed consent (no admin user is known).
        """
        subject = await self.assertion_subject(company_ref, user_id=user_id, employment_id=employment_id)
        return await self._assertion(
            subject, normalise_scope(scope), FreshnessRequest(min_ttl_seconds=min_ttl)
        )

    async def _assertion(self, subject: str, scope: str | None, request: FreshnessRequest) -> TokenGrant:
        workflow_id = assertion_workflow_id(subject, scope)
        if request.rejected_token_sha256 is None:
            handle = self._client.get_workflow_handle_for(AssertionTokenWorkflow.run, workflow_id)
            current = await _query_or_none(handle.query(AssertionTokenWorkflow.current_token))
            if current is not None and current.ttl(_now()) >= timedelta(seconds=request.min_ttl_seconds):
                return current
        for attempt in range(2):
            start = WithStartWorkflowOperation(
                AssertionTokenWorkflow.run,
                AssertionTokenInput(subject=subject, scope=scope, settings=self._assertion_settings),
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            try:
                return await self._client.execute_update_with_start_workflow(
                    AssertionTokenWorkflow.ensure_fresh, request, start_workflow_operation=start
                )
            except WorkflowUpdateFailedError as err:
                raise RequestRejectedError(f"assertion token for {subject}: {_update_message(err)}") from None
            except RPCError as err:
                # The entry ended for being idle between the start and the update: start a new one.
                if attempt or err.status != RPCStatusCode.NOT_FOUND:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def assertion_auth(
        self,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> BearerAuth:
        """An ``httpx.Auth`` acting as a subject (see ``assertion_token``); a 401 mints once and retries."""

        async def current(ttl: float) -> TokenGrant:
            subject = await self.assertion_subject(company_ref, user_id=user_id, employment_id=employment_id)
            return await self._assertion(
                subject, normalise_scope(scope), FreshnessRequest(min_ttl_seconds=ttl)
            )

        async def after_401(rejected: TokenGrant) -> TokenGrant:
            subject = await self.assertion_subject(company_ref, user_id=user_id, employment_id=employment_id)
            request = FreshnessRequest(rejected_token_sha256=_digest(rejected))
            return await self._assertion(subject, normalise_scope(scope), request)

        return BearerAuth(current, after_401, min_ttl=min_ttl)

    # -- magic links ---------------------------------------------------------------------------------

    async def magic_link(
        self,
        company_ref: str,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        path: str | None = None,
    ) -> str:
        """A passwordless sign-in URL for the company's admin (``user_id``) or an invited employee.

        Input is checked before anything is sent; a 401 refreshes the company's token once and retries.

        Raises:
            RequestRejectedError: invalid input, or the gateway refused it (422, 403: not enabled...).
            NotReadyError: the company has no usable token.
        """
        # The activity's own validator, before a token is even read: bad input never costs a request.
        link = MagicLinkInput(
            access_token="not-sent",  # noqa: S106 - a placeholder: the real token is read after the checks
            user_id=user_id,
            employment_id=employment_id,
            path=path,
        )
        try:
            check_magic_link(link)
        except ApplicationError as err:
            raise RequestRejectedError(err.message) from None
        token = await self.token(company_ref)
        try:
            return await self._magic_link(dataclasses.replace(link, access_token=token.access_token))
        except _UnauthorizedError:
            fresh = await self.token_after_rejection(company_ref, token)
        try:
            return await self._magic_link(dataclasses.replace(link, access_token=fresh.access_token))
        except _UnauthorizedError as err:
            raise NotReadyError(str(err)) from None

    async def _magic_link(self, link: MagicLinkInput) -> str:
        request = MagicLinkRequest(link=link, token_task_queue=self._company_settings.token_task_queue)
        try:
            result = await self._client.execute_workflow(
                MagicLinkWorkflow.run,
                request,
                id=MAGIC_LINK_PREFIX + str(uuid.uuid4()),
                task_queue=self._task_queue,
            )
        except WorkflowFailureError as err:
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else None
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
            if kind == ErrorType.UNAUTHORIZED:
                raise _UnauthorizedError(message) from None
            if kind == ErrorType.REQUEST_REJECTED:
                raise RequestRejectedError(message) from None
            raise NotReadyError(message) from None
        return result.url


class _UnauthorizedError(Exception):
    """A Remote API answered 401 to the token used."""


class BearerAuth(httpx.Auth):
    """Adds a bearer token from ``current``; caches it until near expiry; on a 401 calls ``after_401`` once
    (shared by every request that saw the same token) and retries."""

    def __init__(
        self,
        current: Callable[[float], Awaitable[TokenGrant]],
        after_401: Callable[[TokenGrant], Awaitable[TokenGrant]],
        *,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> None:
        self._fetch = current
        self._replace = after_401
        self._min_ttl = timedelta(seconds=min_ttl)
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    async def _current(self) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.ttl(_now()) >= self._min_ttl:
                return cached.token
            token = await self._fetch(self._min_ttl.total_seconds())
            self._cached = _Cached(token)
            return token

    async def _after_401(self, rejected: TokenGrant) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.access_token != rejected.access_token:
                return cached.token  # another request already replaced it
            token = await self._replace(rejected)
            self._cached = _Cached(token)
            return token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError(
            f"{type(self).__name__} needs an httpx.AsyncClient: tokens come from Temporal asynchronously"
        )

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._after_401(token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request


class CompanyAuth(BearerAuth):
    """``BearerAuth`` with the company's token; a 401 refreshes it once fleet-wide and retries."""

    def __init__(self, oauth: RemoteOAuth, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> None:
        super().__init__(
            lambda ttl: oauth.token(company_ref, min_ttl=ttl),
            lambda rejected: oauth.token_after_rejection(company_ref, rejected),
            min_ttl=min_ttl,
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _update_message(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


def _digest(token: TokenGrant) -> str:
    return hashlib.sha256(token.access_token.encode()).hexdigest()


async def _query_or_none(query: Awaitable[TokenGrant | None]) -> TokenGrant | None:
    """A token query's answer, or None when there is no such workflow yet."""
    try:
        return await query
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


def _rpc_error(err: RPCError, company_ref: str, hint: str | None = None) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        if hint is not None:
            return NotFoundError(f"no workflow for {company_ref}: {hint}")
        return NotFoundError(
            f"no onboarding workflow for company {company_ref!r}: run `remote-oauth onboard`"
        )
    return err
