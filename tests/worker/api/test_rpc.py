"""The API's one mapping of Temporal client failures: the workflow's error type becomes the error's kind."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError, RPCStatusCode

from worker.api import rpc
from workflows.types.errors import ErrorType, NotFoundError, NotReadyError, RequestRejectedError


def refused(message: str, kind: str | None) -> WorkflowUpdateFailedError:
    return WorkflowUpdateFailedError(ApplicationError(message, type=kind))


def test_a_refused_update_carries_the_workflows_type() -> None:
    """``not_ready``: the message as the workflow wrote it, and its type as ``kind``."""
    err = rpc.not_ready(
        refused("the connect link expired: ask for a new one", ErrorType.CONSENT_STATE_EXPIRED)
    )
    assert (type(err), str(err), err.kind) == (
        NotReadyError,
        "the connect link expired: ask for a new one",
        ErrorType.CONSENT_STATE_EXPIRED,
    )


def test_a_type_that_is_not_ours_falls_back_to_the_default() -> None:
    """An unknown ``type`` string or a failure without one is ``TokenUnavailable``: never a raw string kind."""
    assert rpc.not_ready(refused("odd", "SomethingElse")).kind is ErrorType.TOKEN_UNAVAILABLE
    untyped = rpc.not_ready(WorkflowUpdateFailedError(CancelledError("cancelled")))
    assert (str(untyped), untyped.kind) == ("cancelled", ErrorType.TOKEN_UNAVAILABLE)


def test_a_refused_assertion_is_rejected_with_the_gateways_type() -> None:
    """``rejected``: prefixed with what was asked, the grant's own type kept (InvalidScope here)."""
    err = rpc.rejected(refused("scope not allowed", ErrorType.INVALID_SCOPE), "assertion token for urn:x")
    assert (type(err), str(err), err.kind) == (
        RequestRejectedError,
        "assertion token for urn:x: scope not allowed",
        ErrorType.INVALID_SCOPE,
    )


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ErrorType.REQUEST_REJECTED, (RequestRejectedError, ErrorType.REQUEST_REJECTED)),
        (ErrorType.UNAUTHORIZED, (NotReadyError, ErrorType.UNAUTHORIZED)),
        (ErrorType.TOKEN_UNAVAILABLE, (NotReadyError, ErrorType.TOKEN_UNAVAILABLE)),
        (ErrorType.ACTIVITY_FAILED, (NotReadyError, ErrorType.ACTIVITY_FAILED)),
    ],
)
def test_a_failed_workflow_maps_by_type(kind: ErrorType, expected: tuple[type, ErrorType]) -> None:
    """``failed``: refused input is the caller's to fix; anything else says the token is not usable (yet)."""
    err = rpc.failed(WorkflowFailureError(cause=ApplicationError("said", type=kind)))
    assert ((type(err), err.kind), str(err)) == (expected, "said")


def test_a_missing_workflow_is_not_found_and_other_rpc_errors_pass() -> None:
    """NOT_FOUND names the company and what to do; any other status is Temporal's own error, unchanged."""
    missing = rpc.rpc_error(RPCError("gone", RPCStatusCode.NOT_FOUND, b""), "acme")
    assert (type(missing), str(missing)) == (
        NotFoundError,
        "no onboarding workflow for company 'acme': run `remote-oauth onboard`",
    )
    assert isinstance(missing, NotFoundError)
    assert missing.kind is ErrorType.NOT_FOUND
    hinted = rpc.rpc_error(RPCError("gone", RPCStatusCode.NOT_FOUND, b""), "partner token p", "ask first")
    assert str(hinted) == "no workflow for partner token p: ask first"
    other = RPCError("busy", RPCStatusCode.UNAVAILABLE, b"")
    assert rpc.rpc_error(other, "acme") is other
