"""The CreateMagicLink activity against a scripted gateway: the spec's request, input checked before
sending, the Remote API's refusals classified, and the bearer token never quoted back."""

from __future__ import annotations

import json

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from sandbox.contract import load_contract
from tests.support.scripted_gateway import USER, fails, ok, run
from workflows.io.activities import MagicLinkInput, MagicLinkResult
from workflows.types.errors import ErrorType

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""


async def test_magic_link_sends_the_spec_body_with_the_bearer_token() -> None:
    """POST /v1/magic-link, JSON body, Authorization: Bearer; the url comes back."""
    answer = ok({"data": {"url": "https://gateway.test/magic/abc"}})
    result, gateway = await run(
        "create_magic_link",
        MagicLinkInput(access_token="at-1", user_id=USER.upper(), path="/a/b_c-1"),
        answer,
    )
    request = gateway.requests[0]
    assert (request.method, request.url.path) == ("POST", SPEC.magic_link.path)
    assert request.headers["authorization"] == "Bearer at-1"
    assert json.loads(request.content) == {"user_id": USER, "path": "/a/b_c-1"}
    assert result == MagicLinkResult(url="https://gateway.test/magic/abc")
    assert "magic/abc" not in repr(result)


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        (MagicLinkInput(access_token="t"), "exactly one"),
        (MagicLinkInput(access_token="t", user_id=USER, employment_id=USER), "exactly one"),
        (MagicLinkInput(access_token="t", user_id="nope"), "user_id must be a UUID"),
        (MagicLinkInput(access_token="t", employment_id="123"), "employment_id must be a UUID"),
        (MagicLinkInput(access_token="t", user_id=USER, path="dashboard"), "path"),
        (MagicLinkInput(access_token="t", user_id=USER, path="/dashboard/"), "path"),
        (MagicLinkInput(access_token="t", user_id=USER, path="/a//b"), "path"),
        (MagicLinkInput(access_token="t", user_id=USER, path="/a b"), "path"),
        (MagicLinkInput(access_token="t", user_id=USER, path="/"), "path"),
        (MagicLinkInput(access_token="", user_id=USER), "no access token"),
    ],
)
async def test_magic_link_input_is_checked_before_sending(arg: MagicLinkInput, problem: str) -> None:
    """Bad input: final RequestRejected, and no request reaches the gateway."""
    err, gateway = await fails("create_magic_link", arg)
    assert (err.type, err.non_retryable) == (ErrorType.REQUEST_REJECTED, True)
    assert problem in err.message
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("answer", "error_type", "final", "text"),
    [
        (httpx.Response(401, json={"message": "expired"}), ErrorType.UNAUTHORIZED, True, "refresh"),
        (
            httpx.Response(403, json={"message": "no scope"}),
            ErrorType.REQUEST_REJECTED,
            True,
            "magic_link:write",
        ),
        (
            httpx.Response(422, json={"message": "The employment is active"}),
            ErrorType.REQUEST_REJECTED,
            True,
            "The employment is active",
        ),
        (
            httpx.Response(422, json={"errors": {"path": ["is bad"]}}),
            ErrorType.REQUEST_REJECTED,
            True,
            "path: is bad",
        ),
        (httpx.Response(429, headers={"Retry-After": "4"}), ErrorType.RATE_LIMITED, False, "4 s"),
        (httpx.Response(503, text="<html>"), ErrorType.SERVER_ERROR, False, "503"),
        (ok({"data": {}}), ErrorType.MALFORMED_RESPONSE, False, "url"),
        (ok({"data": {"url": "javascript:alert(1)"}}), ErrorType.MALFORMED_RESPONSE, False, "http(s)"),
    ],
)
async def test_magic_link_classification(
    answer: httpx.Response, error_type: ErrorType, final: bool, text: str
) -> None:
    """401 asks for a refresh, 403 explains scope/enablement, 422 carries the gateway's message."""
    err, _ = await fails(
        "create_magic_link", MagicLinkInput(access_token="at-secret", employment_id=USER), answer
    )
    assert (err.type, err.non_retryable) == (error_type, final)
    assert text in err.message
    assert "at-secret" not in err.message


async def test_magic_link_refusal_echoing_the_bearer_hides_it() -> None:
    """A 422 that quotes the request's bearer token shows the reason with the token cut out."""
    access = "at-secret-bearer-value"
    answer = httpx.Response(422, json={"message": f"bad token {access}\x1b[2J for user"})
    with pytest.raises(ApplicationError) as err:
        await run("create_magic_link", MagicLinkInput(access_token=access, user_id=USER), answer)
    assert access not in err.value.message
    assert "[redacted]" in err.value.message
    assert "\x1b" not in err.value.message
