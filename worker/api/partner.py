"""Partner tokens (client credentials): one workflow per client id and scope set, started on first use."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Unpack

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from worker.api.auth import AuthOptions, BearerAuth
from worker.api.fresh import FreshTokens
from worker.api.rpc import not_ready, query_or_none, rpc_error
from workflows.partner import PartnerTokenWorkflow
from workflows.types.company import RetryRequest
from workflows.types.errors import ConfigurationError
from workflows.types.kept_token import FreshnessRequest
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

__all__ = ["PartnerTokens"]

_NOT_STARTED = "ask for a partner token first"
_Handle = WorkflowHandle[PartnerTokenWorkflow, PartnerStatus]


@dataclass(frozen=True)
class _PartnerToken:
    """A partner token's workflow as a ``TokenSource``: the update starts it when it is not running."""

    client: Client
    task_queue: str
    start: PartnerInput
    handle: _Handle

    async def current(self) -> TokenGrant | None:
        return await query_or_none(self.handle.query(PartnerTokenWorkflow.current_token))

    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        await self.client.start_workflow(
            PartnerTokenWorkflow.run,
            self.start,
            id=self.handle.id,
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        try:
            return await self.handle.execute_update(PartnerTokenWorkflow.ensure_fresh, request)
        except WorkflowUpdateFailedError as err:
            raise not_ready(err) from None


class PartnerTokens:
    """Tokens that act for the partner itself, keyed by the client id (only its hash reaches Temporal)."""

    def __init__(
        self,
        client: Client,
        *,
        task_queue: str,
        client_id: str | None,
        settings: PartnerSettings,
        tokens: FreshTokens,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._client_id = client_id
        self._settings = settings
        self._tokens = tokens

    def _kept(self, scope: str | None) -> _PartnerToken:
        if self._client_id is None:
            raise ConfigurationError("REMOTE_CLIENT_ID is not set: partner tokens are kept per client id")
        scope = normalise_scope(scope)
        start = PartnerInput(key=partner_key(self._client_id, scope), scope=scope, settings=self._settings)
        handle = self._client.get_workflow_handle_for(
            PartnerTokenWorkflow.run, partner_workflow_id(start.key)
        )
        return _PartnerToken(self._client, self._task_queue, start, handle)

    async def token(self, scope: str | None, *, min_ttl: float) -> TokenGrant:
        source = functools.partial(self._kept, scope)
        return await self._tokens.token(("partner", normalise_scope(scope)), min_ttl, source)

    async def after_rejection(self, rejected: TokenGrant, scope: str | None) -> TokenGrant:
        source = functools.partial(self._kept, scope)
        return await self._tokens.after_rejection(("partner", normalise_scope(scope)), rejected, source)

    async def status(self, scope: str | None) -> PartnerStatus:
        handle = self._kept(scope).handle
        try:
            return await handle.query(PartnerTokenWorkflow.status)
        except RPCError as err:
            raise rpc_error(err, f"partner token {handle.id}", _NOT_STARTED) from None

    async def retry(self, scope: str | None) -> None:
        handle = self._kept(scope).handle
        try:
            await handle.signal(PartnerTokenWorkflow.retry, RetryRequest())
        except RPCError as err:
            raise rpc_error(err, f"partner token {handle.id}", _NOT_STARTED) from None

    async def stop(self, scope: str | None) -> PartnerStatus:
        handle = self._kept(scope).handle
        try:
            await handle.signal(PartnerTokenWorkflow.stop, StopPartnerToken())
            return await handle.result()
        except RPCError as err:
            raise rpc_error(err, f"partner token {handle.id}", _NOT_STARTED) from None
        finally:
            self._tokens.evict(("partner", normalise_scope(scope)))

    def auth(self, scope: str | None, **options: Unpack[AuthOptions]) -> BearerAuth:
        return BearerAuth(
            lambda ttl: self.token(scope, min_ttl=ttl),
            lambda rejected: self.after_rejection(rejected, scope),
            **options,
        )
