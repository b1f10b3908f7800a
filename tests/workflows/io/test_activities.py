"""TokenActivities against httpx.MockTransport: request shapes, parsing, classification, input checks."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from httpcore._synchronization import current_async_library
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from sandbox.contract import load_contract
from workflows.io.activities import (
    AssertionInput,
    ClientCredentialsInput,
    ExchangeCodeInput,
    IssueStateInput,
    MagicLinkInput,
    MagicLinkResult,
    RefreshInput,
    TokenActivities,
)
from workflows.io.settings import Settings
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

NOW = datetime(2026, 5, 22, 12, 0, tzinfo=UTC)
CLIENT_SECRET = "s3cr:et/&+ with spaces"
COMPANY = "6f1c1e8a-3b0e-4c53-9f5e-2d7f3a9b8c10"
USER = "0b5a3c2e-1f4d-4e6a-9b7c-8d9e0f1a2b3c"
ENV = {
    "REMOTE_GATEWAY_URL": "https://gateway.test",
    "REMOTE_CLIENT_ID": "client:1",
    "REMOTE_CLIENT_SECRET": CLIENT_SECRET,
    "REMOTE_REDIRECT_URI": "https://partner.test/oauth/callback?tenant=a%2Fb",
    "REMOTE_HTTP_TIMEOUT": "0.5",
}
TOKEN = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "scope": "company:read"}

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Gateway:
    """A scripted gateway: answers in order, records what it was sent."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await request.aread()
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return await answer(request)
        return answer

    def form(self, index: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[index].content.decode()).items()}


async def run(
    method: str,
    arg: object,
    *responses: httpx.Response | Exception | Handler,
    env: dict[str, str] | None = None,
    attempt: int = 1,
    gateway: Gateway | None = None,
    beats: list[tuple[object, ...]] | None = None,
) -> tuple[Any, Gateway]:
    """Run one activity method in an ActivityEnvironment against a scripted gateway (heartbeats to ``beats``)."""
    gateway = gateway or Gateway(*responses)
    settings = Settings.from_env(ENV if env is None else env)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(gateway), base_url=settings.gateway_url, follow_redirects=False
    ) as http:
        acts = TokenActivities(settings, http, clock=lambda: NOW)
        activity_env = ActivityEnvironment()
        activity_env.info = dataclasses.replace(activity_env.info, attempt=attempt)
        if beats is not None:
            activity_env.on_heartbeat = lambda *details: beats.append(details)
        result = await activity_env.run(getattr(acts, method), arg)
    return result, gateway


async def fails(
    method: str, arg: object, *responses: httpx.Response | Exception | Handler, **kwargs: Any
) -> tuple[ApplicationError, Gateway]:
    """Run an activity that must fail; the error and what the gateway saw."""
    gateway = Gateway(*responses)
    with pytest.raises(ApplicationError) as err:
        await run(method, arg, gateway=gateway, **kwargs)
    return err.value, gateway


def ok(body: object = TOKEN, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


# -- request shapes -------------------------------------------------------------------------------------


async def test_exchange_code_posts_the_spec_form_with_client_secret_post() -> None:
    """client_secret_post: every credential in the form body, the redirect URI byte for byte, no header."""
    body = {**TOKEN, "refresh_token": "rt-1", "company_id": COMPANY, "user_id": USER, "extra": True}
    grant, gateway = await run("exchange_code", ExchangeCodeInput(code="code-1"), ok(body))
    request = gateway.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://gateway.test" + SPEC.token.path)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    assert gateway.form() == {
        "grant_type": "authorization_code",
        "client_id": "client:1",
        "client_secret": CLIENT_SECRET,
        "code": "code-1",
        "redirect_uri": "https://partner.test/oauth/callback?tenant=a%2Fb",
    }
    assert grant == TokenGrant(
        access_token="at-1",
        token_type="bearer",
        issued_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        refresh_token="rt-1",
        scope="company:read",
        company_id=COMPANY,
        user_id=USER,
    )


async def test_client_secret_basic_sends_one_method_and_keeps_client_id_in_the_body() -> None:
    """Basic base64(urlencode(id):urlencode(secret)); no client_secret in the body; client_id stays."""
    env = {**ENV, "REMOTE_TOKEN_AUTH_METHOD": "client_secret_basic"}
    _, gateway = await run("client_credentials", ClientCredentialsInput(scope="company:read"), ok(), env=env)
    header = gateway.requests[0].headers["authorization"]
    assert header == "Basic " + base64.b64encode(b"client%3A1:s3cr%3Aet%2F%26%2B%20with%20spaces").decode()
    assert gateway.form() == {
        "grant_type": "client_credentials",
        "client_id": "client:1",
        "scope": "company:read",
    }


async def test_refresh_keeps_the_refresh_token_when_none_comes_back() -> None:
    """Remote does not rotate: the given refresh token stays the grant's."""
    grant, gateway = await run("refresh", RefreshInput(refresh_token="rt-old"), ok())
    assert grant.refresh_token == "rt-old"
    assert gateway.form() == {
        "grant_type": "refresh_token",
        "client_id": "client:1",
        "client_secret": CLIENT_SECRET,
        "refresh_token": "rt-old",
    }


async def test_refresh_takes_a_rotated_refresh_token() -> None:
    """A server that rotates: the new refresh token replaces the old."""
    grant, _ = await run(
        "refresh", RefreshInput(refresh_token="rt-old", scope="a"), ok({**TOKEN, "refresh_token": "rt-new"})
    )
    assert grant.refresh_token == "rt-new"


async def test_assertion_grant_sends_a_signed_jwt() -> None:
    """jwt-bearer: the assertion in the form, plus the client's own authentication."""
    grant, gateway = await run(
        "assertion", AssertionInput(subject=f"urn:remote-api:company-manager:user:{USER}"), ok()
    )
    form = gateway.form()
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["assertion"].count(".") == 2
    assert grant.refresh_token is None


async def test_missing_expires_in_is_defaulted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    """REMOTE_DEFAULT_TOKEN_LIFETIME applies, flagged, with a warning."""
    body = {k: v for k, v in TOKEN.items() if k != "expires_in"}
    grant, _ = await run("client_credentials", ClientCredentialsInput(), ok(body))
    assert (grant.expires_at, grant.expires_in_defaulted) == (NOW + timedelta(seconds=3600), True)
    assert any("no expires_in" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("method", "arg", "env_drop", "named"),
    [
        ("exchange_code", ExchangeCodeInput(code="c"), "REMOTE_REDIRECT_URI", "REMOTE_REDIRECT_URI"),
        ("refresh", RefreshInput(refresh_token="r"), "REMOTE_CLIENT_ID", "REMOTE_CLIENT_ID"),
        ("client_credentials", ClientCredentialsInput(), "REMOTE_CLIENT_SECRET", "REMOTE_CLIENT_SECRET"),
        (
            "assertion",
            AssertionInput(subject="urn:remote-api:x"),
            "REMOTE_CLIENT_SECRET",
            "REMOTE_CLIENT_SECRET",
        ),
        ("issue_state", IssueStateInput(), "REMOTE_REDIRECT_URI", "REMOTE_REDIRECT_URI"),
    ],
)
async def test_missing_settings_are_misconfigured(
    method: str, arg: object, env_drop: str, named: str
) -> None:
    """A missing credential fails the activity (final) naming the variable, before any request."""
    env = {k: v for k, v in ENV.items() if k != env_drop}
    err, _ = await fails(method, arg, env=env)
    assert (err.type, err.non_retryable) == (ErrorType.MISCONFIGURED, True)
    assert named in err.message


# -- classification -------------------------------------------------------------------------------------


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


# -- magic link -----------------------------------------------------------------------------------------


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


# -- state ----------------------------------------------------------------------------------------------


async def test_issue_state_builds_the_authorize_url() -> None:
    """A fresh 256-bit state; the authorize URL carries the spec's parameters, redirect URI exact."""
    issued, gateway = await run("issue_state", IssueStateInput(company_ref="acme", scope="company:read"))
    again, _ = await run("issue_state", IssueStateInput())
    assert gateway.requests == []
    assert len(issued.state) >= 43
    assert issued.state != again.state
    parts = urlsplit(issued.authorize_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "gateway.test", SPEC.authorize.path)
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "client:1",
        "response_type": "code",
        "redirect_uri": "https://partner.test/oauth/callback?tenant=a%2Fb",
        "scope": "company:read",
        "state": issued.state,
    }
    assert issued.ttl_seconds == 900
    assert parse_qs(urlsplit(again.authorize_url).query)["scope"] == [Settings.from_env({}).scopes]
    assert issued.state not in repr(issued)


async def test_httpcore_finds_sniffio_instead_of_failing_an_import_per_request() -> None:
    """httpcore asks sniffio which event loop runs on every connection-pool request; without the package
    each request pays a failed import (measured: a third of a loopback exchange). pyproject pins it."""
    before = sys.modules.pop("sniffio", None)
    try:
        assert current_async_library() == "asyncio"
        assert "sniffio" in sys.modules
    finally:
        if before is not None:
            sys.modules["sniffio"] = before


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


async def test_magic_link_refusal_echoing_the_bearer_hides_it() -> None:
    """A 422 that quotes the request's bearer token shows the reason with the token cut out."""
    access = "at-secret-bearer-value"
    answer = httpx.Response(422, json={"message": f"bad token {access}\x1b[2J for user"})
    with pytest.raises(ApplicationError) as err:
        await run("create_magic_link", MagicLinkInput(access_token=access, user_id=USER), answer)
    assert access not in err.value.message
    assert "[redacted]" in err.value.message
    assert "\x1b" not in err.value.message
