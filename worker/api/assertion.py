"""Assertion tokens (JWT bearer): acting as a company manager or an employee, one workflow per subject and
scope set, shared fleet-wide and reused until near expiry."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Unpack

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from worker.api import rpc
from worker.api.auth import AuthOptions, BearerAuth
from worker.api.fresh import FreshTokens
from workflows.assertion_tokens import (
    AssertionTokenInput,
    AssertionTokenSettings,
    AssertionTokenWorkflow,
    assertion_workflow_id,
)
from workflows.io.signing import company_manager_subject, employment_subject
from workflows.types.company import CompanyStatus
from workflows.types.errors import NotReadyError, RequestRejectedError
from workflows.types.kept_token import FreshnessRequest
from workflows.types.partner import normalise_scope
from workflows.types.tokens import TokenGrant

__all__ = ["AssertionTokens"]

_Key = tuple[str, str | None, str | None, str | None, str | None]


class _AssertionToken:
    """One subject's workflow as a ``TokenSource``; the subject is looked up once, on first use (a miss)."""

    def __init__(
        self,
        owner: AssertionTokens,
        company_ref: str | None,
        user_id: str | None,
        employment_id: str | None,
        scope: str | None,
    ) -> None:
        self._owner = owner
        self._who = (company_ref, user_id, employment_id)
        self._scope = scope
        self._subject: str | None = None

    async def _workflow_id(self) -> tuple[str, str]:
        if self._subject is None:
            company_ref, user_id, employment_id = self._who
            self._subject = await self._owner.subject(
                company_ref, user_id=user_id, employment_id=employment_id
            )
        return self._subject, assertion_workflow_id(self._subject, self._scope)

    async def current(self) -> TokenGrant | None:
        _, workflow_id = await self._workflow_id()
        handle = self._owner.client.get_workflow_handle_for(AssertionTokenWorkflow.run, workflow_id)
        return await rpc.query_or_none(handle.query(AssertionTokenWorkflow.current_token))

    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        subject, workflow_id = await self._workflow_id()
        for attempt in range(2):
            start = WithStartWorkflowOperation(
                AssertionTokenWorkflow.run,
                AssertionTokenInput(subject=subject, scope=self._scope, settings=self._owner.settings),
                id=workflow_id,
                task_queue=self._owner.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )
            try:
                return await self._owner.client.execute_update_with_start_workflow(
                    AssertionTokenWorkflow.ensure_fresh, request, start_workflow_operation=start
                )
            except WorkflowUpdateFailedError as err:
                raise rpc.rejected(err, f"assertion token for {subject}") from None
            except RPCError as err:
                # The entry ended for being idle between the start and the update: start a new one.
                if attempt or err.status != RPCStatusCode.NOT_FOUND:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class AssertionTokens:
    """Tokens acting as a subject at a company; ``status`` names a connected company's admin."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        settings: AssertionTokenSettings,
        tokens: FreshTokens,
        status: Callable[[str], Awaitable[CompanyStatus]],
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.settings = settings
        self._tokens = tokens
        self._status = status

    async def subject(
        self, company_ref: str | None, *, user_id: str | None, employment_id: str | None
    ) -> str:
        if user_id is not None and employment_id is not None:
            raise RequestRejectedError("give at most one of user_id and employment_id")
        try:
            if employment_id is not None:
                return employment_subject(employment_id)
            if user_id is None:
                if company_ref is None:
                    raise RequestRejectedError("give a company reference, a user_id or an employment_id")
                user_id = (await self._status(company_ref)).user_id
                if user_id is None:
                    raise NotReadyError(
                        f"company {company_ref} has no admin user yet: consent is not complete"
                    )
            return company_manager_subject(user_id)
        except ValueError as err:
            raise RequestRejectedError(str(err)) from None

    def _key(
        self, company_ref: str | None, user_id: str | None, employment_id: str | None, scope: str | None
    ) -> _Key:
        return ("assertion", company_ref, user_id, employment_id, normalise_scope(scope))

    async def token(
        self,
        company_ref: str | None,
        *,
        user_id: str | None,
        employment_id: str | None,
        scope: str | None,
        min_ttl: float,
    ) -> TokenGrant:
        key = self._key(company_ref, user_id, employment_id, scope)
        source = functools.partial(_AssertionToken, self, company_ref, user_id, employment_id, key[-1])
        return await self._tokens.token(key, min_ttl, source, group=company_ref)

    async def after_rejection(
        self,
        rejected: TokenGrant,
        company_ref: str | None,
        *,
        user_id: str | None,
        employment_id: str | None,
        scope: str | None,
    ) -> TokenGrant:
        key = self._key(company_ref, user_id, employment_id, scope)
        source = functools.partial(_AssertionToken, self, company_ref, user_id, employment_id, key[-1])
        return await self._tokens.after_rejection(key, rejected, source, group=company_ref)

    def auth(
        self,
        company_ref: str | None,
        *,
        user_id: str | None,
        employment_id: str | None,
        scope: str | None,
        **options: Unpack[AuthOptions],
    ) -> BearerAuth:
        return BearerAuth(
            lambda ttl: self.token(
                company_ref, user_id=user_id, employment_id=employment_id, scope=scope, min_ttl=ttl
            ),
            lambda rejected: self.after_rejection(
                rejected, company_ref, user_id=user_id, employment_id=employment_id, scope=scope
            ),
            **options,
        )
