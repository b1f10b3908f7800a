"""The sandbox token endpoint: client authentication, codes, refresh rotation, partner tokens, errors."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from sandbox.contract import load_contract
from sandbox.state.store import SandboxStore
from sandbox.testing import FakeClock, asgi_client, connect_company

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()
REDIRECT = CONFIG.redirect_uris[0]


@dataclass
class Sandbox:
    """An in-process sandbox, its client and its clock."""

    client: httpx.AsyncClient
    clock: FakeClock
    store: SandboxStore


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A fresh default sandbox on a fake clock."""
    clock = FakeClock()
    app = create_app(CONFIG, clock=clock)
    async with asgi_client(app) as client:
        yield Sandbox(client, clock, app.state.sandbox)


def basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 section 2.3.1 Basic credentials: url-encode each part, then base64."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def form(**fields: str) -> dict[str, str]:
    """A token request authenticated with client_secret in the body."""
    return {"client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret, **fields}


async def code_for(client: httpx.AsyncClient, company_name: str = "Acme") -> str:
    """Consent as ``company_name`` and return the authorization code."""
    connected = await connect_company(client, company_name=company_name)
    assert connected.code is not None
    return connected.code


async def exchange(client: httpx.AsyncClient, code: str, **extra: str) -> httpx.Response:
    """Redeem ``code`` with the body secret."""
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, **extra}
    return await client.post(SPEC.token.path, data=form(**fields))


async def refresh(client: httpx.AsyncClient, refresh_token: str, **extra: str) -> httpx.Response:
    """Use a refresh token with the body secret."""
    fields = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    return await client.post(SPEC.token.path, data=form(**fields))


async def tokens(client: httpx.AsyncClient, company_name: str = "Acme") -> dict[str, Any]:
    """A company token response for a freshly consented company."""
    response = await exchange(client, await code_for(client, company_name))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def companies_status(client: httpx.AsyncClient, access_token: str) -> int:
    """The status ``GET /v1/companies`` answers for this token."""
    response = await client.get("/v1/companies", headers={"Authorization": f"Bearer {access_token}"})
    return response.status_code


# Authorization code


async def test_code_exchange_returns_a_company_token(sandbox: Sandbox) -> None:
    """A code becomes a bearer token with refresh token, company and admin user ids, and no-store headers."""
    response = await exchange(sandbox.client, await code_for(sandbox.client))
    body = response.json()
    company = next(iter(sandbox.store.companies.values()))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert body == {
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": DEFAULT_SCOPE,
        "company_id": company.id,
        "user_id": company.admin_user_id,
    }
    assert len(body["access_token"]) >= 40
    assert body["refresh_token"] != body["access_token"]


async def test_code_replay_is_invalid_grant_and_revokes_its_tokens(sandbox: Sandbox) -> None:
    """Using a code twice fails and kills the access and refresh tokens the first use issued."""
    code = await code_for(sandbox.client)
    first = (await exchange(sandbox.client, code)).json()
    replay = await exchange(sandbox.client, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert await companies_status(sandbox.client, first["access_token"]) == 401
    assert (await refresh(sandbox.client, first["refresh_token"])).json()["error"] == "invalid_grant"


async def test_code_expires_after_five_minutes(sandbox: Sandbox) -> None:
    """A code redeemed 300 seconds after it was issued is invalid_grant."""
    code = await code_for(sandbox.client)
    sandbox.clock.advance(300)
    response = await exchange(sandbox.client, code)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_code_is_bound_to_its_redirect_uri(sandbox: Sandbox) -> None:
    """A token request with a different redirect_uri than at authorize is invalid_grant."""
    code = await code_for(sandbox.client)
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT + "/other"}
    response = await sandbox.client.post(SPEC.token.path, data=form(**fields))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_token_type_and_ttl_follow_the_config() -> None:
    """``token_type`` Bearer and a custom ``token_ttl`` come back as configured."""
    app = create_app(SandboxConfig(token_type="Bearer", token_ttl=120), clock=FakeClock())
    async with asgi_client(app) as client:
        body = await tokens(client)
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 120)


async def test_access_token_stops_working_at_expiry(sandbox: Sandbox) -> None:
    """An access token works until ``token_ttl`` seconds have passed, then gets 401."""
    body = await tokens(sandbox.client)
    sandbox.clock.advance(3599)
    assert await companies_status(sandbox.client, body["access_token"]) == 200
    sandbox.clock.advance(1)
    assert await companies_status(sandbox.client, body["access_token"]) == 401


# Client authentication


async def test_basic_auth_with_url_encoded_credentials_is_accepted() -> None:
    """Basic credentials are url-decoded after base64 decoding, so ``:`` and ``%`` survive."""
    config = SandboxConfig(client_id="partner app", client_secret="s:e/cr%t")
    app = create_app(config, clock=FakeClock())
    async with asgi_client(app) as client:
        response = await client.post(
            SPEC.token.path,
            data={"grant_type": "client_credentials"},
            headers=basic("partner app", "s:e/cr%t"),
        )
    assert response.status_code == 200
    assert "company_id" not in response.json()


async def test_basic_and_body_secret_together_is_invalid_request(sandbox: Sandbox) -> None:
    """One authentication method per request: Basic plus client_secret is invalid_request."""
    response = await sandbox.client.post(
        SPEC.token.path,
        data=form(grant_type="client_credentials"),
        headers=basic(CONFIG.client_id, CONFIG.client_secret),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_wrong_basic_secret_is_401_with_a_basic_challenge(sandbox: Sandbox) -> None:
    """A wrong secret over Basic is 401 invalid_client with ``WWW-Authenticate: Basic``."""
    response = await sandbox.client.post(
        SPEC.token.path, data={"grant_type": "client_credentials"}, headers=basic(CONFIG.client_id, "nope")
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"] == 'Basic realm="remote-oauth-sandbox"'


async def test_wrong_body_secret_is_401_without_a_challenge(sandbox: Sandbox) -> None:
    """A wrong secret in the body is 401 invalid_client and no Basic challenge."""
    data = {"grant_type": "client_credentials", "client_id": CONFIG.client_id, "client_secret": "nope"}
    response = await sandbox.client.post(SPEC.token.path, data=data)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert "www-authenticate" not in response.headers


async def test_unknown_client_id_is_401(sandbox: Sandbox) -> None:
    """A client id that is not registered is invalid_client even with the right secret."""
    data = {
        "grant_type": "client_credentials",
        "client_id": "stranger",
        "client_secret": CONFIG.client_secret,
    }
    response = await sandbox.client.post(SPEC.token.path, data=data)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_no_client_authentication_is_401(sandbox: Sandbox) -> None:
    """A request with neither Basic nor client_secret is 401 invalid_client."""
    data = {"grant_type": "client_credentials", "client_id": CONFIG.client_id}
    response = await sandbox.client.post(SPEC.token.path, data=data)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


async def test_body_client_id_must_match_basic(sandbox: Sandbox) -> None:
    """A body client_id that differs from the Basic id is invalid_request."""
    response = await sandbox.client.post(
        SPEC.token.path,
        data={"grant_type": "client_credentials", "client_id": "someone-else"},
        headers=basic(CONFIG.client_id, CONFIG.client_secret),
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


# Refresh


async def test_refresh_without_rotation_returns_the_same_refresh_token(sandbox: Sandbox) -> None:
    """Rotation off (Remote's behaviour): a new access token, the same refresh token, old access still valid."""
    first = await tokens(sandbox.client)
    second = (await refresh(sandbox.client, first["refresh_token"])).json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (second["company_id"], second["user_id"]) == (first["company_id"], first["user_id"])
    assert await companies_status(sandbox.client, first["access_token"]) == 200
    assert (await refresh(sandbox.client, first["refresh_token"])).status_code == 200


async def test_strict_rotation_kills_the_old_refresh_token_at_once() -> None:
    """Strict rotation: every refresh returns a new refresh token and the old one is invalid_grant."""
    app = create_app(SandboxConfig(refresh_rotation="strict"), clock=FakeClock())
    async with asgi_client(app) as client:
        first = await tokens(client)
        second = (await refresh(client, first["refresh_token"])).json()
        old = await refresh(client, first["refresh_token"])
        third = await refresh(client, second["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert (old.status_code, old.json()["error"]) == (400, "invalid_grant")
    assert third.status_code == 200


async def test_grace_rotation_keeps_the_old_token_for_the_grace_period() -> None:
    """Grace rotation: the old refresh token still works for rotation_grace_seconds, then dies."""
    clock = FakeClock()
    app = create_app(SandboxConfig(refresh_rotation="grace", rotation_grace_seconds=60), clock=clock)
    async with asgi_client(app) as client:
        first = await tokens(client)
        second = (await refresh(client, first["refresh_token"])).json()
        clock.advance(59)
        within = await refresh(client, first["refresh_token"])
        clock.advance(1)
        after = await refresh(client, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert within.status_code == 200
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


async def test_refresh_after_revoked_consent_is_invalid_grant(sandbox: Sandbox) -> None:
    """Once the company revokes consent its refresh token is invalid_grant."""
    body = await tokens(sandbox.client)
    await sandbox.client.post(f"/sandbox/companies/{body['company_id']}/revoke", json={})
    response = await refresh(sandbox.client, body["refresh_token"])
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")


async def test_refresh_may_narrow_but_not_widen_the_scope(sandbox: Sandbox) -> None:
    """A refresh may ask for fewer scopes than granted; asking for more is invalid_scope."""
    body = await tokens(sandbox.client)
    narrower = await refresh(sandbox.client, body["refresh_token"], scope="company:read")
    wider = await refresh(sandbox.client, body["refresh_token"], scope="company:read payroll:write")
    assert narrower.json()["scope"] == "company:read"
    assert (wider.status_code, wider.json()["error"]) == (400, "invalid_scope")


async def test_unknown_refresh_token_is_invalid_grant(sandbox: Sandbox) -> None:
    """A refresh token the sandbox never issued is invalid_grant."""
    response = await refresh(sandbox.client, "made-up")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "unknown refresh token"},
    )


# Client credentials


async def test_client_credentials_gives_a_partner_token(sandbox: Sandbox) -> None:
    """A partner token has no company_id, no user_id and no refresh_token."""
    response = await sandbox.client.post(SPEC.token.path, data=form(grant_type="client_credentials"))
    body = response.json()
    assert response.status_code == 200
    assert body == {
        "access_token": body["access_token"],
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "partner",
    }


# Request errors


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "authorization_code", "redirect_uri": REDIRECT}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "c"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer"}, "invalid_request"),
        ({"grant_type": "client_credentials", "scope": "Not A Scope"}, "invalid_scope"),
    ],
)
async def test_bad_requests_get_rfc_6749_errors(sandbox: Sandbox, fields: dict[str, str], error: str) -> None:
    """Unknown grants and missing parameters are 400 with the RFC 6749 error code."""
    response = await sandbox.client.post(SPEC.token.path, data=form(**fields))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}


async def test_a_repeated_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    """RFC 6749 forbids sending a parameter twice."""
    body = "grant_type=client_credentials&grant_type=refresh_token&client_id=remote-oauth-dev"
    response = await sandbox.client.post(
        SPEC.token.path, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_a_json_body_is_invalid_request(sandbox: Sandbox) -> None:
    """The token endpoint takes form bodies only, as the spec says."""
    response = await sandbox.client.post(SPEC.token.path, json=form(grant_type="client_credentials"))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
