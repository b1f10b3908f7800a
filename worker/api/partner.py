"""Partner tokens (client credentials), assertion tokens and magic links: the part of ``RemoteOAuth``
that acts for the partner itself or for a subject at a company.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from datetime import timedelta

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

from worker.api.auth import DEFAULT_MIN_TTL, BearerAuth, utc_now
from worker.api.rpc import digest as _digest
from worker.api.rpc import not_ready as _not_ready
from worker.api.rpc import query_or_none as _query_or_none
from worker.api.rpc import rpc_error as _rpc_error
from worker.api.rpc import update_message as _update_message
from worker.api.token_cache import TokenCache
from workflows.assertion_tokens import (
    AssertionTokenInput,
    AssertionTokenSettings,
    AssertionTokenWorkflow,
    assertion_workflow_id,
)
from workflows.io.magic_link_params import check_magic_link
from workflows.io.signing import company_manager_subject, employment_subject
from workflows.magic_link import WORKFLOW_ID_PREFIX as MAGIC_LINK_PREFIX
from workflows.magic_link import MagicLinkRequest, MagicLinkWorkflow
from workflows.partner import PartnerTokenWorkflow
from workflows.types.activity import MagicLinkInput
from workflows.types.company import CompanySettings, CompanyStatus, FreshnessRequest, RetryRequest
from workflows.types.errors import ConfigurationError, ErrorType, NotReadyError, RequestRejectedError
from workflows.types.partner import (
    PartnerInput,
    PartnerSettings,
    PartnerStatus,
    StopPartnerToken,
    normalise_scope,
    partner_key,
    partner_workflow_id,
)
from workflows.types.tokens import TokenGrant


class _UnauthorizedError(Exception):
    """A Remote API answered 401 to the token used."""


class PartnerApi:
    """Mixed into ``RemoteOAuth``, which provides the connection and the company-token calls below."""

    _client: Client
    _task_queue: str
    _client_id: str | None
    _partner_settings: PartnerSettings
    _company_settings: CompanySettings
    _assertion_settings: AssertionTokenSettings
    _tokens: TokenCache

    async def token(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> TokenGrant:
        raise NotImplementedError  # RemoteOAuth.token

    async def token_after_rejection(self, company_ref: str, rejected: TokenGrant) -> TokenGrant:
        raise NotImplementedError  # RemoteOAuth.token_after_rejection

    async def status(self, company_ref: str) -> CompanyStatus:
        raise NotImplementedError  # RemoteOAuth.status

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
        fetch = functools.partial(self._partner_current, scope, min_ttl)
        return await self._tokens.get(("partner", normalise_scope(scope)), min_ttl, fetch)

    async def _partner_current(self, scope: str | None, min_ttl: float) -> TokenGrant:
        _, handle = self._partner(scope)
        current = await _query_or_none(handle.query(PartnerTokenWorkflow.current_token))
        if current is not None and current.ttl(utc_now()) >= timedelta(seconds=min_ttl):
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
            raise _not_ready(err) from None

    async def partner_token_after_rejection(
        self, rejected: TokenGrant, scope: str | None = None
    ) -> TokenGrant:
        """A new partner token after a Remote API answered 401 to ``rejected`` (one grant fleet-wide)."""
        request = FreshnessRequest(rejected_token_sha256=_digest(rejected))
        fetch = functools.partial(self._partner_fresh, scope, request)
        return await self._tokens.replace(("partner", normalise_scope(scope)), rejected, fetch)

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

    async def partner_stop(self, scope: str | None = None) -> PartnerStatus:
        """Stop keeping this partner token fresh (its workflow ends); returns the final status.

        For a scope set no longer used: its workflow would otherwise run a grant every token lifetime, for
        ever. Asking for the token again later starts a new workflow.
        """
        _, handle = self._partner(scope)
        try:
            await handle.signal(PartnerTokenWorkflow.stop, StopPartnerToken())
            return await handle.result()
        except RPCError as err:
            raise _rpc_error(err, f"partner token {handle.id}", "ask for a partner token first") from None
        finally:
            self._tokens.evict(("partner", normalise_scope(scope)))

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

        A cache hit costs no call, not even the status query that names ``company_ref``'s admin.

        Raises:
            RequestRejectedError: the subject is invalid, or the gateway refused the assertion.
            NotReadyError: ``company_ref`` has not completed consent (no admin user is known).
        """
        key = ("assertion", company_ref, user_id, employment_id, normalise_scope(scope))
        request = FreshnessRequest(min_ttl_seconds=min_ttl)
        fetch = functools.partial(self._assertion_for, company_ref, user_id, employment_id, scope, request)
        return await self._tokens.get(key, min_ttl, fetch, group=company_ref)

    async def assertion_token_after_rejection(
        self,
        rejected: TokenGrant,
        company_ref: str | None = None,
        *,
        user_id: str | None = None,
        employment_id: str | None = None,
        scope: str | None = None,
    ) -> TokenGrant:
        """A new assertion token after a Remote API answered 401 to ``rejected`` (one mint fleet-wide)."""
        key = ("assertion", company_ref, user_id, employment_id, normalise_scope(scope))
        request = FreshnessRequest(rejected_token_sha256=_digest(rejected))
        fetch = functools.partial(self._assertion_for, company_ref, user_id, employment_id, scope, request)
        return await self._tokens.replace(key, rejected, fetch, group=company_ref)

    async def _assertion_for(
        self,
        company_ref: str | None,
        user_id: str | None,
        employment_id: str | None,
        scope: str | None,
        request: FreshnessRequest,
    ) -> TokenGrant:
        subject = await self.assertion_subject(company_ref, user_id=user_id, employment_id=employment_id)
        return await self._assertion(subject, normalise_scope(scope), request)

    async def _assertion(self, subject: str, scope: str | None, request: FreshnessRequest) -> TokenGrant:
        workflow_id = assertion_workflow_id(subject, scope)
        if request.rejected_token_sha256 is None:
            handle = self._client.get_workflow_handle_for(AssertionTokenWorkflow.run, workflow_id)
            current = await _query_or_none(handle.query(AssertionTokenWorkflow.current_token))
            if current is not None and current.ttl(utc_now()) >= timedelta(seconds=request.min_ttl_seconds):
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
        return BearerAuth(
            lambda ttl: self.assertion_token(
                company_ref, user_id=user_id, employment_id=employment_id, scope=scope, min_ttl=ttl
            ),
            lambda rejected: self.assertion_token_after_rejection(
                rejected, company_ref, user_id=user_id, employment_id=employment_id, scope=scope
            ),
            min_ttl=min_ttl,
        )

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
