"""TokenActivities over real HTTP against the sandbox gateway: every grant, both client auth methods,
and every injected fault with the outcome it must have. A leak watch scans every log record (DEBUG, root
and httpx) and every error text for credentials the sandbox issued or was sent."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, asgi_client, running_sandbox
from workflows.io.activities import (
    AssertionInput,
    ClientCredentialsInput,
    ExchangeCodeInput,
    IssueStateInput,
    MagicLinkInput,
    RefreshInput,
    TokenActivities,
)
from workflows.io.settings import Settings
from workflows.io.signing import company_manager_subject
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant

CONFIG = SandboxConfig(auto_approve=True)
METHODS = ["client_secret_post", "client_secret_basic"]


class LeakWatch:
    """Collects credentials and texts during a test; ``check`` fails if any text holds any credential."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.texts: list[str] = []
        self.credentials: set[str] = {CONFIG.client_secret}
        self.sandboxes: list[RunningSandbox] = []

    def error(self, err: BaseException) -> None:
        """Remember an exception's texts, its whole cause chain included."""
        current: BaseException | None = err
        while current is not None:
            self.texts += [str(current), repr(current)]
            current = current.__cause__ or current.__context__

    def record_request(self, request: httpx.Request) -> None:
        """Learn the credentials a request carried (code, refresh token, assertion, bearer token)."""
        form = httpx.QueryParams(request.content.decode(errors="replace"))
        for name in ("code", "refresh_token", "assertion", "client_secret"):
            if form.get(name):
                self.credentials.add(form[name])
        bearer = request.headers.get("authorization", "")
        if bearer.startswith(("Bearer ", "Basic ")):
            self.credentials.add(bearer.split(" ", 1)[1])

    def check(self) -> None:
        for sandbox in self.sandboxes:
            store = sandbox.store
            self.credentials |= set(store.access_tokens) | set(store.refresh_tokens) | set(store.codes)
        texts = [*self.texts]
        records = [*self.caplog.get_records("setup"), *self.caplog.get_records("call"), *self.caplog.records]
        for record in records:
            texts.append(record.getMessage())
            if record.exc_text:
                texts.append(record.exc_text)
        assert texts, "the leak watch saw nothing: it would pass vacuously"
        leaks = [(c[:6], t[:80]) for c in self.credentials if len(c) >= 6 for t in texts if c in t]
        assert leaks == []


@pytest.fixture
def leaks(caplog: pytest.LogCaptureFixture) -> Iterator[LeakWatch]:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "workflows", "temporalio"):
        caplog.set_level(logging.DEBUG, logger=name)
    watch = LeakWatch(caplog)
    yield watch
    watch.check()


@pytest_asyncio.fixture
async def sandbox(leaks: LeakWatch) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(CONFIG) as running:
        leaks.sandboxes.append(running)
        yield running


def settings_for(sandbox: RunningSandbox, method: str = "client_secret_post", **env: str) -> Settings:
    return Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": CONFIG.client_id,
            "REMOTE_CLIENT_SECRET": CONFIG.client_secret,
            "REMOTE_REDIRECT_URI": CONFIG.redirect_uris[0],
            "REMOTE_TOKEN_AUTH_METHOD": method,
            "REMOTE_HTTP_TIMEOUT": "5",
            **env,
        }
    )


async def call(leaks: LeakWatch, settings: Settings, method: str, arg: object, *, attempt: int = 1) -> Any:
    """Run one activity method in an activity context, with the worker's own HTTP client."""
    async with TokenActivities.http_client(settings) as http:
        http.event_hooks["request"].append(_async(leaks.record_request))
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=attempt)
        try:
            return await env.run(getattr(TokenActivities(settings, http), method), arg)
        except ApplicationError as err:
            leaks.error(err)
            raise


def _async(hook: Any) -> Any:
    async def run(request: httpx.Request) -> None:
        hook(request)

    return run


async def admin(sandbox: RunningSandbox, method: str, path: str, body: object = None) -> Any:
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        # The admin API takes only JSON for changes: an empty object where there is nothing to say.
        response = await client.request(method, path, json={} if body is None and method != "GET" else body)
        response.raise_for_status()
        return response.json()


async def connect(leaks: LeakWatch, sandbox: RunningSandbox, settings: Settings) -> TokenGrant:
    """issue_state's authorize URL, approved by the sandbox, then exchange_code."""
    issued = await call(leaks, settings, "issue_state", IssueStateInput(company_ref="acme"))
    url = httpx.URL(issued.authorize_url).copy_add_param("company_name", "Acme")
    async with asgi_client(sandbox.app) as browser:  # in-process: no socket-level debug logs of the code
        response = await browser.get(url)
    assert response.status_code == 302
    back = httpx.URL(response.headers["location"])
    assert back.params["state"] == issued.state
    assert str(back.copy_with(query=None)) == CONFIG.redirect_uris[0]
    grant: TokenGrant = await call(
        leaks, settings, "exchange_code", ExchangeCodeInput(code=back.params["code"])
    )
    return grant


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("token_type", ["bearer", "Bearer"])
async def test_every_grant_succeeds(
    sandbox: RunningSandbox, leaks: LeakWatch, method: str, token_type: str
) -> None:
    """Code exchange, refresh, client credentials, assertion and a magic link, over real HTTP."""
    await admin(sandbox, "POST", "/sandbox/settings", {"token_type": token_type})
    settings = settings_for(sandbox, method)
    grant = await connect(leaks, sandbox, settings)
    assert grant.token_type == "bearer"
    assert grant.company_id is not None
    assert grant.user_id is not None
    assert grant.refresh_token is not None
    assert grant.expires_at - grant.issued_at == timedelta(seconds=3600)

    refreshed: TokenGrant = await call(
        leaks, settings, "refresh", RefreshInput(refresh_token=grant.refresh_token)
    )
    assert refreshed.refresh_token == grant.refresh_token  # rotation off, as Remote
    assert refreshed.access_token != grant.access_token

    partner: TokenGrant = await call(leaks, settings, "client_credentials", ClientCredentialsInput())
    assert partner.company_id is None
    acting: TokenGrant = await call(
        leaks, settings, "assertion", AssertionInput(subject=company_manager_subject(grant.user_id))
    )
    assert acting.company_id == grant.company_id
    assert acting.refresh_token is None

    link = await call(
        leaks,
        settings,
        "create_magic_link",
        MagicLinkInput(access_token=refreshed.access_token, user_id=grant.user_id),
    )
    assert link.url.startswith(f"{sandbox.url}/magic/")
    stats = await admin(sandbox, "GET", "/sandbox/stats")
    assert stats["token_requests"] == {
        "authorization_code": 1,
        "refresh_token": 1,
        "client_credentials": 1,
        "urn:ietf:params:oauth:grant-type:jwt-bearer": 1,
    }
    assert stats["magic_links"] == 1


@pytest.mark.parametrize("method", METHODS)
async def test_a_wrong_secret_is_invalid_client(
    sandbox: RunningSandbox, leaks: LeakWatch, method: str
) -> None:
    """401 from either auth method: final InvalidClient, and the message says what to check."""
    settings = settings_for(sandbox, method, REMOTE_CLIENT_SECRET="wrong-secret-value")
    leaks.credentials.add("wrong-secret-value")
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "client_credentials", ClientCredentialsInput())
    assert (err.value.type, err.value.non_retryable) == (ErrorType.INVALID_CLIENT, True)
    assert "REMOTE_CLIENT_SECRET" in err.value.message


async def test_a_spent_code_is_invalid_grant(sandbox: RunningSandbox, leaks: LeakWatch) -> None:
    """Replaying a code: final InvalidGrant (consent must be given again)."""
    settings = settings_for(sandbox)
    issued = await call(leaks, settings, "issue_state", IssueStateInput())
    async with asgi_client(sandbox.app) as browser:
        response = await browser.get(httpx.URL(issued.authorize_url).copy_add_param("company_name", "Acme"))
    code = httpx.URL(response.headers["location"]).params["code"]
    await call(leaks, settings, "exchange_code", ExchangeCodeInput(code=code))
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "exchange_code", ExchangeCodeInput(code=code))
    assert (err.value.type, err.value.non_retryable) == (ErrorType.INVALID_GRANT, True)


async def test_magic_link_refusals(sandbox: RunningSandbox, leaks: LeakWatch) -> None:
    """403 when magic links are off; 422 for an active employee carries the gateway's reason; 401 revoked."""
    settings = settings_for(sandbox)
    grant = await connect(leaks, sandbox, settings)
    employment = await admin(
        sandbox, "POST", f"/sandbox/companies/{grant.company_id}/employments", {"status": "active"}
    )
    request = MagicLinkInput(access_token=grant.access_token, employment_id=employment["employment_id"])
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "create_magic_link", request)
    assert (err.value.type, err.value.non_retryable) == (ErrorType.REQUEST_REJECTED, True)
    assert "only invited employees get links" in err.value.message
    await admin(sandbox, "POST", "/sandbox/settings", {"magic_links_enabled": False})
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "create_magic_link", request)
    assert err.value.type == ErrorType.REQUEST_REJECTED
    assert "not enabled" in err.value.message
    await admin(sandbox, "POST", f"/sandbox/companies/{grant.company_id}/revoke", {})  # JSON-only admin API
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "create_magic_link", request)
    assert (err.value.type, err.value.non_retryable) == (ErrorType.UNAUTHORIZED, True)


def _in(seconds: int) -> str:
    """A Retry-After HTTP date, resolved when the test runs (collection happens long before)."""
    return f"http-date+{seconds}"


def _resolve(fault: dict[str, Any]) -> dict[str, Any]:
    retry_after = fault.get("retry_after", "")
    if not retry_after.startswith("http-date+"):
        return fault
    when = datetime.now(UTC) + timedelta(seconds=int(retry_after.removeprefix("http-date+")))
    return {**fault, "retry_after": format_datetime(when, usegmt=True)}


OK = "ok"
# name, fault (POST /sandbox/faults, count 1 unless given), env overrides, attempt,
# expected: OK or (ErrorType, final, next_retry_delay seconds or None)
FAULTS: list[tuple[str, dict[str, Any], dict[str, str], int, Any]] = [
    ("latency under the timeout", {"kind": "latency", "delay_seconds": 0.05}, {}, 1, OK),
    (
        "latency over the timeout",
        {"kind": "latency", "delay_seconds": 1.0},
        {"REMOTE_HTTP_TIMEOUT": "0.3"},
        1,
        (ErrorType.TIMEOUT, False, None),
    ),
    ("http_500", {"kind": "http_500"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    ("http_502", {"kind": "http_502"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    ("http_503 html", {"kind": "http_503"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    (
        "http_503 Retry-After seconds",
        {"kind": "http_503", "retry_after": "5"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 5),
    ),
    (
        "http_503 Retry-After HTTP date",
        {"kind": "http_503", "retry_after": _in(90)},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 90),
    ),
    (
        "rate_limited default Retry-After 7",
        {"kind": "rate_limited"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 7),
    ),
    (
        "rate_limited Retry-After HTTP date",
        {"kind": "rate_limited", "retry_after": _in(45)},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 45),
    ),
    (
        "rate_limited Retry-After capped",
        {"kind": "rate_limited", "retry_after": "86400"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, 600),
    ),
    (
        "rate_limited Retry-After garbage",
        {"kind": "rate_limited", "retry_after": "later"},
        {},
        1,
        (ErrorType.RATE_LIMITED, False, None),
    ),
    ("truncated_json", {"kind": "truncated_json"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    (
        "truncated_json third attempt",
        {"kind": "truncated_json"},
        {},
        3,
        (ErrorType.MALFORMED_RESPONSE, True, None),
    ),
    ("json_array", {"kind": "json_array"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    (
        "missing_access_token",
        {"kind": "missing_access_token"},
        {},
        2,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    ("expires_in_string accepted", {"kind": "expires_in_string"}, {}, 1, OK),
    (
        "expires_in_negative",
        {"kind": "expires_in_negative"},
        {},
        1,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    (
        "expires_in_missing defaulted",
        {"kind": "expires_in_missing"},
        {"REMOTE_DEFAULT_TOKEN_LIFETIME": "1200"},
        1,
        OK,
    ),
    (
        "unknown_token_type",
        {"kind": "unknown_token_type"},
        {},
        1,
        (ErrorType.MALFORMED_RESPONSE, False, None),
    ),
    ("oversized_body", {"kind": "oversized_body"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    ("redirect not followed", {"kind": "redirect"}, {}, 1, (ErrorType.MALFORMED_RESPONSE, False, None)),
    ("redirect third attempt", {"kind": "redirect"}, {}, 3, (ErrorType.MALFORMED_RESPONSE, True, None)),
    ("commit_then_drop", {"kind": "commit_then_drop"}, {}, 1, (ErrorType.TRANSPORT, False, None)),
    ("invalid_grant", {"kind": "invalid_grant"}, {}, 1, (ErrorType.INVALID_GRANT, True, None)),
    ("server_error_json", {"kind": "server_error_json"}, {}, 1, (ErrorType.SERVER_ERROR, False, None)),
    (
        "temporarily_unavailable",
        {"kind": "temporarily_unavailable"},
        {},
        1,
        (ErrorType.TEMPORARILY_UNAVAILABLE, False, None),
    ),
    (
        "temporarily_unavailable Retry-After",
        {"kind": "temporarily_unavailable", "retry_after": "3"},
        {},
        1,
        (ErrorType.TEMPORARILY_UNAVAILABLE, False, 3),
    ),
    (
        "401 wrong secret",
        {},
        {"REMOTE_CLIENT_SECRET": "not-the-secret"},
        1,
        (ErrorType.INVALID_CLIENT, True, None),
    ),
    ("fault for another grant type passes", {"kind": "http_500", "grant_type": "refresh_token"}, {}, 1, OK),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("fault", "env", "attempt", "expected"), [case[1:] for case in FAULTS], ids=[case[0] for case in FAULTS]
)
async def test_injected_faults(  # noqa: PLR0917 - pytest passes parameters positionally
    sandbox: RunningSandbox,
    leaks: LeakWatch,
    method: str,
    fault: dict[str, Any],
    env: dict[str, str],
    attempt: int,
    expected: Any,
) -> None:
    """Each fault of the sandbox ends in exactly the outcome the table names."""
    if fault:
        await admin(sandbox, "POST", "/sandbox/faults", {"count": 1, **_resolve(fault)})
    settings = settings_for(sandbox, method, **env)
    if expected == OK:
        grant: TokenGrant = await call(leaks, settings, "client_credentials", ClientCredentialsInput())
        lifetime = int(env.get("REMOTE_DEFAULT_TOKEN_LIFETIME", "3600"))
        assert grant.expires_at - grant.issued_at == timedelta(seconds=lifetime)
        assert grant.expires_in_defaulted is (fault.get("kind") == "expires_in_missing")
        return
    error_type, final, delay = expected
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "client_credentials", ClientCredentialsInput(), attempt=attempt)
    assert (err.value.type, err.value.non_retryable) == (error_type, final)
    actual = err.value.next_retry_delay
    if delay is None:
        assert actual is None
    else:
        assert actual is not None
        assert actual.total_seconds() == pytest.approx(delay, abs=2)
    if fault.get("kind") == "commit_then_drop":
        stats = await admin(sandbox, "GET", "/sandbox/stats")
        assert stats["dropped_connections"] == 1


async def test_the_real_rate_limiter(sandbox: RunningSandbox, leaks: LeakWatch) -> None:
    """Over the per-client budget: RateLimited, waiting what Retry-After (and x-ratelimit-reset) say."""
    await admin(sandbox, "POST", "/sandbox/settings", {"rate_limit_per_minute": 1})
    settings = settings_for(sandbox)
    await call(leaks, settings, "client_credentials", ClientCredentialsInput())
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "client_credentials", ClientCredentialsInput())
    assert (err.value.type, err.value.non_retryable) == (ErrorType.RATE_LIMITED, False)
    assert err.value.next_retry_delay is not None
    assert 55 <= err.value.next_retry_delay.total_seconds() <= 60


async def test_connection_refused_is_transport(leaks: LeakWatch) -> None:
    """Nothing listening: a retryable Transport error."""
    settings = Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": "http://127.0.0.1:9",
            "REMOTE_CLIENT_ID": "c",
            "REMOTE_CLIENT_SECRET": "s-value",
        }
    )
    with pytest.raises(ApplicationError) as err:
        await call(leaks, settings, "client_credentials", ClientCredentialsInput())
    assert (err.value.type, err.value.non_retryable) == (ErrorType.TRANSPORT, False)


@pytest.mark.parametrize("method", METHODS)
async def test_a_gateway_echoing_the_request_leaks_no_secret(
    sandbox: RunningSandbox, leaks: LeakWatch, method: str
) -> None:
    """A gateway that echoes each request (body, Basic credential, a forged log line) in its error text:
    every grant's error names the problem with the secrets cut out, in no form, and no control character."""
    settings = settings_for(sandbox, method)
    grant = await connect(leaks, sandbox, settings)
    assert grant.refresh_token is not None
    assert grant.user_id is not None
    issued = await call(leaks, settings, "issue_state", IssueStateInput(company_ref="acme"))
    url = httpx.URL(issued.authorize_url).copy_add_param("company_name", "Acme")
    async with asgi_client(sandbox.app) as browser:
        code = httpx.URL((await browser.get(url)).headers["location"]).params["code"]
    requests: list[tuple[str, object]] = [
        ("exchange_code", ExchangeCodeInput(code=code)),
        ("refresh", RefreshInput(refresh_token=grant.refresh_token)),
        ("client_credentials", ClientCredentialsInput()),
        ("assertion", AssertionInput(subject=company_manager_subject(grant.user_id))),
    ]
    secrets = {CONFIG.client_secret, code, grant.refresh_token}
    for activity_name, argument in requests:
        await admin(sandbox, "POST", "/sandbox/faults", {"kind": "echo_request", "count": 1})
        with pytest.raises(ApplicationError) as err:
            await call(leaks, settings, activity_name, argument)
        message = err.value.message
        assert err.value.type == ErrorType.INVALID_REQUEST, message
        assert "[redacted]" in message
        assert "forged line" in message  # the gateway's words are kept, minus secrets and control characters
        assert all(ch.isprintable() for ch in message), message
        for secret in secrets:
            for form in (secret, quote(secret, safe=""), quote_plus(secret)):
                assert form not in message, activity_name
    # Every credential sent (assertions and the Basic credential included) was recorded and is absent.
    assert any(c.count(".") == 2 for c in leaks.credentials), "no assertion was recorded"
