"""Temporal client failures turned into remote-oauth's own errors, and small shared helpers of the API."""

from __future__ import annotations

from collections.abc import Awaitable

from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.types.errors import NotFoundError, NotReadyError
from workflows.types.kept_token import token_digest
from workflows.types.tokens import TokenGrant


def update_message(err: WorkflowUpdateFailedError) -> str:
    cause = err.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or err)


def not_ready(err: WorkflowUpdateFailedError) -> NotReadyError:
    """The refusal of an update as ``NotReadyError``, with the workflow's error type when it gave one."""
    cause = err.cause
    return NotReadyError(
        update_message(err), kind=cause.type if isinstance(cause, ApplicationError) else None
    )


digest = token_digest
"""The kept-token core's digest of a token, for ``FreshnessRequest.rejected_token_sha256``."""


async def query_or_none(query: Awaitable[TokenGrant | None]) -> TokenGrant | None:
    """A token query's answer, or None when there is no such workflow yet."""
    try:
        return await query
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return None


def rpc_error(err: RPCError, company_ref: str, hint: str | None = None) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        if hint is not None:
            return NotFoundError(f"no workflow for {company_ref}: {hint}")
        return NotFoundError(
            f"no onboarding workflow for company {company_ref!r}: run `remote-oauth onboard`"
        )
    return err
