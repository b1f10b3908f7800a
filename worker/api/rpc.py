"""Temporal client failures turned into remote-oauth's own errors: the API's one mapping, used by every client.

A refused update or a failed workflow carries the workflow's ``ErrorType``; that becomes the ``kind`` of the
error raised here, so callers branch on it. A missing workflow is ``NotFoundError``; any other RPC failure
is Temporal's own and passes through.
"""

from __future__ import annotations

from collections.abc import Awaitable

from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from workflows.types.errors import ErrorType, NotFoundError, NotReadyError, RequestRejectedError
from workflows.types.tokens import TokenGrant

__all__ = ["failed", "not_ready", "query_or_none", "rejected", "rpc_error"]


def _cause(err: WorkflowUpdateFailedError | WorkflowFailureError) -> tuple[str, ErrorType | None]:
    """The message and the ``ErrorType`` the workflow gave (None when its failure had no type of ours)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.message, ErrorType.known(cause.type)
    return str(cause or err), None


def not_ready(err: WorkflowUpdateFailedError | WorkflowFailureError) -> NotReadyError:
    """A refused update (or a failed workflow) as ``NotReadyError``, of the workflow's error type if it gave one."""
    message, kind = _cause(err)
    return NotReadyError(message, kind=kind)


def rejected(err: WorkflowUpdateFailedError, what: str) -> RequestRejectedError:
    """A refused update as ``RequestRejectedError`` (``what: message``), of the workflow's error type if any."""
    message, kind = _cause(err)
    return RequestRejectedError(f"{what}: {message}", kind=kind)


def failed(err: WorkflowFailureError) -> NotReadyError | RequestRejectedError:
    """A failed one-shot workflow: ``RequestRejectedError`` for refused input, else ``NotReadyError``."""
    message, kind = _cause(err)
    if kind is ErrorType.REQUEST_REJECTED:
        return RequestRejectedError(message)
    return NotReadyError(message, kind=kind)


def rpc_error(err: RPCError, company_ref: str, hint: str | None = None) -> Exception:
    """``NotFoundError`` for a missing workflow (``hint`` says what to do, else: onboard), else ``err``."""
    if err.status == RPCStatusCode.NOT_FOUND:
        if hint is not None:
            return NotFoundError(f"no workflow for {company_ref}: {hint}")
        return NotFoundError(
            f"no onboarding workflow for company {company_ref!r}: run `remote-oauth onboard`"
        )
    return err


async def query_or_none(query: Awaitable[TokenGrant | None]) -> TokenGrant | None:
    """A token query's answer, or None when there is no such workflow yet."""
    try:
        return await query
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return None
