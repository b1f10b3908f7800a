"""How TokenActivities classify what the token endpoint answers: one ApplicationError type each, final or
retried with the gateway's delay, malformed bodies refused and gateway text kept untrusted (scripted gateway)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from tests.support.scripted_gateway import CLIENT_SECRET, ENV, NOW, TOKEN, fails, ok, run
from workflows.io.activities import ClientCredentialsInput, RefreshInput
from workflows.types.errors import ErrorType


def _oauth(status: int, error: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": "why"}, headers=headers)


HTTP_DATE = format_datetime(NOW + timedelta(seconds=120), usegmt=True)
"""Two minutes after the activities' fixed clock (NOW), so the expected delay is exact."""

CLASSIFICATION = [
    ("400 invalid_grant", _oauth(400, "invalid_grant"), ErrorType.INVALID_GRANT, True, None),
    ("400 invalid_client", _oauth(400, "invalid_client"), ErrorType.INVALID_CLIENT, True, None),
    ("401 without body", httpx.Response(401), ErrorType.INVALID_CLIENT, True, None),
    (
        "400 unauthorized_client",
        _oauth(400, "unauthorized_client"),
        ErrorType.UNAUTHORIZED_CLIENT,
        True,
        None,
    ),
    (
        "400 unsupported_grant_type",
        _oauth(400, "unsupported_grant_type"),
        ErrorType.UNSUPPORTED_GRANT_TYPE,
        True,
        None,
    ),
    ("400 invalid_scope", _oauth(400, "invalid_scope"), ErrorType.INVALID_SCOPE, True, None),
    ("400 invalid_request", _oauth(400, "invalid_request"), ErrorType.INVALID_REQUEST, True, None),
    ("404 html", httpx.Response(404, text="<html>"), ErrorType.INVALID_REQUEST, True, None),
    ("408", httpx.Response(408), ErrorType.SERVER_ERROR, False, None),
    (
        "429 Retry-After seconds",
        _oauth(429, "rate_limited", {"Retry-After": "7"}),
        ErrorType.RATE_LIMITED,
        False,
        7.0,
    ),
    (
        "429 x-ratelimit-reset ms",
        _oauth(429, "x", {"x-ratelimit-reset": "1500"}),
        ErrorType.RATE_LIMITED,
        False,
        1.5,
    ),
    (
        "429 Retry-After over the cap",
        httpx.Response(429, headers={"Retry-After": "86400"}),
        ErrorType.RATE_LIMITED,
        False,
        600.0,
    ),
    (
        "429 Retry-After HTTP date",
        httpx.Response(429, headers={"Retry-After": HTTP_DATE}),
        ErrorType.RATE_LIMITED,
        False,
        120.0,
    ),
    (
        "429 unparseable Retry-After",
        httpx.Response(429, headers={"Retry-After": "soon"}),
        ErrorType.RATE_LIMITED,
        False,
        None,
    ),
    ("500 html", httpx.Response(500, text="<html>"), ErrorType.SERVER_ERROR, False, None),
    ("500 server_error", _oauth(500, "server_error"), ErrorType.SERVER_ERROR, False, None),
    ("400 server_error", _oauth(400, "server_error"), ErrorType.SERVER_ERROR, False, None),
    ("502 truncated json", httpx.Response(502, text='{"error": "ser'), ErrorType.SERVER_ERROR, False, None),
    (
        "503 Retry-After",
        httpx.Response(503, headers={"Retry-After": "3"}),
        ErrorType.RATE_LIMITED,
        False,
        3.0,
    ),
    (
        "503 temporarily_unavailable",
        _oauth(503, "temporarily_unavailable", {"Retry-After": "2"}),
        ErrorType.TEMPORARILY_UNAVAILABLE,
        False,
        2.0,
    ),
    ("500 invalid_grant is still a 5xx", _oauth(500, "invalid_grant"), ErrorType.SERVER_ERROR, False, None),
    (
        "302 redirect",
        httpx.Response(302, headers={"Location": "https://evil.test/"}),
        ErrorType.MALFORMED_RESPONSE,
        False,
        None,
    ),
    ("200 html", httpx.Response(200, text="<html>"), ErrorType.MALFORMED_RESPONSE, False, None),
    (
        "200 bad company_id",
        ok({**TOKEN, "company_id": "not-a-uuid"}),
        ErrorType.MALFORMED_RESPONSE,
        False,
        None,
    ),
    ("transport", httpx.ConnectError("refused"), ErrorType.TRANSPORT, False, None),
    ("dropped", httpx.RemoteProtocolError("peer closed connection"), ErrorType.TRANSPORT, False, None),
    ("read timeout", httpx.ReadTimeout("slow"), ErrorType.TIMEOUT, False, None),
]


@pytest.mark.parametrize(
    ("answer", "error_type", "final", "delay"),
    [case[1:] for case in CLASSIFICATION],
    ids=[case[0] for case in CLASSIFICATION],
)
async def test_token_endpoint_classification(
    answer: httpx.Response | Exception, error_type: ErrorType, final: bool, delay: float | None
) -> None:
    """Each answer becomes one ApplicationError type, final or retryable, with the gateway's delay."""
    err, _ = await fails("refresh", RefreshInput(refresh_token="rt-secret"), answer)
    assert (err.type, err.non_retryable) == (error_type, final)
    actual = None if err.next_retry_delay is None else err.next_retry_delay.total_seconds()
    if delay is None:
        assert actual is None
    else:
        assert actual == pytest.approx(delay, abs=2)
    assert "rt-secret" not in err.message
    assert CLIENT_SECRET not in err.message


@pytest.mark.parametrize(("attempt", "final"), [(1, False), (2, False), (3, True), (4, True)])
async def test_malformed_2xx_is_final_from_the_third_attempt(attempt: int, final: bool) -> None:
    """A glitch may pass; a gateway that keeps answering nonsense does not loop forever."""
    err, _ = await fails("client_credentials", ClientCredentialsInput(), ok([]), attempt=attempt)
    assert (err.type, err.non_retryable) == (ErrorType.MALFORMED_RESPONSE, final)


async def _endless(request: httpx.Request) -> httpx.Response:
    async def chunks() -> AsyncIterator[bytes]:
        while True:
            yield b" " * 4096

    return httpx.Response(200, content=chunks())


async def test_oversized_bodies_are_refused_without_reading_them_whole() -> None:
    """An endless stream stops at 64 KiB; a declared length over the cap is refused at once."""
    err, _ = await fails("client_credentials", ClientCredentialsInput(), _endless)
    assert err.type == ErrorType.MALFORMED_RESPONSE
    assert "64 KiB" in err.message
    big = httpx.Response(200, content=b"x" * 10, headers={"Content-Length": str(65 * 1024)})
    err, _ = await fails("client_credentials", ClientCredentialsInput(), big)
    assert "64 KiB" in err.message


async def test_a_request_that_outlives_the_http_timeout_is_a_timeout() -> None:
    """The whole-request deadline (REMOTE_HTTP_TIMEOUT) ends an attempt with our own Timeout error."""

    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return ok()

    env = {**ENV, "REMOTE_HTTP_TIMEOUT": "0.05"}
    err, _ = await fails("client_credentials", ClientCredentialsInput(), stall, env=env)
    assert (err.type, err.non_retryable) == (ErrorType.TIMEOUT, False)


async def test_error_description_is_untrusted_text() -> None:
    """Control characters removed, length capped at 200."""
    answer = httpx.Response(
        400, json={"error": "invalid_grant", "error_description": "bad\x1b[31m\nline" + "x" * 500}
    )
    err, _ = await fails("refresh", RefreshInput(refresh_token="r"), answer)
    said = err.message.split("gateway said: ", 1)[1]
    assert "\x1b" not in said
    assert "\n" not in said
    assert len(said) <= 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("access_token", "at-1\r\nX-Injected: yes"),
        ("access_token", "at 1"),
        ("refresh_token", "rt\n1"),
        ("refresh_token", "rt,1"),
    ],
)
async def test_tokens_outside_b64token_are_malformed(field: str, value: str) -> None:
    """An access or refresh token a header could not carry is a MalformedResponse naming the field, never
    the value (it would break, or inject into, every later Authorization header)."""
    body = {**TOKEN, "refresh_token": "rt-1", field: value}
    with pytest.raises(ApplicationError) as err:
        await run("client_credentials", ClientCredentialsInput(), httpx.Response(200, json=body))
    assert err.value.type == ErrorType.MALFORMED_RESPONSE
    assert field in err.value.message
    assert value.split(maxsplit=1)[0] not in err.value.message.replace(field, "")


@pytest.mark.parametrize(
    ("error", "expected_type", "final"),
    [
        ("server_error", ErrorType.SERVER_ERROR, False),
        ("temporarily_unavailable", ErrorType.TEMPORARILY_UNAVAILABLE, False),
        ("invalid_grant", ErrorType.INVALID_GRANT, True),
        ("invalid_client", ErrorType.INVALID_CLIENT, True),
    ],
)
async def test_a_2xx_carrying_an_error_is_classified_by_it(
    error: str, expected_type: ErrorType, final: bool
) -> None:
    """A 200 whose body says ``error`` is that error (retried when it is transient), not a missing token."""
    with pytest.raises(ApplicationError) as err:
        await run("client_credentials", ClientCredentialsInput(), httpx.Response(200, json={"error": error}))
    assert (err.value.type, err.value.non_retryable) == (expected_type, final)


async def test_json_nested_too_deep_is_a_typed_malformed_response() -> None:
    """A body nested deeper than the decoder recurses is a MalformedResponse, not a RecursionError."""
    body = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(ApplicationError) as err:
        await run(
            "client_credentials", ClientCredentialsInput(), httpx.Response(200, content=body[: 60 * 1024])
        )
    assert err.value.type == ErrorType.MALFORMED_RESPONSE
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ApplicationError) as err:
        await run("client_credentials", ClientCredentialsInput(), httpx.Response(200, content=deep[:60_000]))
    assert err.value.type == ErrorType.MALFORMED_RESPONSE
