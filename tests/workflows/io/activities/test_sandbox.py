"""TokenActivities over real HTTP against the sandbox gateway: every grant with both client auth methods,
refusals, the real rate limiter, and a gateway echoing requests. The leak watch (``leaks``) scans every log
record (DEBUG, root and httpx) and every error text for credentials the sandbox issued or was sent."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, quote_plus

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from sandbox.testing import RunningSandbox, asgi_client
from tests.support.sandbox_gateway import CONFIG, METHODS, LeakWatch, admin, call, connect, settings_for
from workflows.io.activities import (
    AssertionInput,
    ClientCredentialsInput,
    ExchangeCodeInput,
    IssueStateInput,
    MagicLinkInput,
    RefreshInput,
)
from workflows.io.settings import Settings
from workflows.io.signing import company_manager_subject
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant


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
