"""The grants through TokenActivities against a scripted gateway: the spec's token request (form, client
authentication, redirect URI byte for byte) and the grant read from the answer (``workflows.io.gateway.token_endpoint``)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from sandbox.contract import load_contract
from tests.support.scripted_gateway import CLIENT_SECRET, COMPANY, ENV, NOW, TOKEN, USER, fails, ok, run
from workflows.io.activities import (
    AssertionInput,
    ClientCredentialsInput,
    ExchangeCodeInput,
    IssueStateInput,
    RefreshInput,
)
from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""


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
