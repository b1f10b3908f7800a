"""The sandbox's bearer-protected API (magic links, companies) and its per-client rate limit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import FakeClock, asgi_client, hs256_assertion
from tests.support.sandbox import connect

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()
SECRET_FORM = {"client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret}


@dataclass
class Sandbox:
    """An in-process sandbox with one connected company."""

    client: httpx.AsyncClient
    clock: FakeClock
    tokens: dict[str, Any]


async def partner_token(client: httpx.AsyncClient) -> str:
    """A client-credentials token."""
    data = {**SECRET_FORM, "grant_type": "client_credentials"}
    token: str = (await client.post(SPEC.token.path, data=data)).json()["access_token"]
    return token


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A default sandbox where ``Acme`` has connected."""
    clock = FakeClock()
    async with asgi_client(create_app(CONFIG, clock=clock)) as client:
        yield Sandbox(client, clock, await connect(client, "Acme"))


def bearer(token: str) -> dict[str, str]:
    """An Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def magic(sandbox: Sandbox, body: object, token: str | None = None) -> httpx.Response:
    """Ask for a magic link with the company token (or ``token``)."""
    headers = bearer(token or sandbox.tokens["access_token"])
    return await sandbox.client.post(SPEC.magic_link.path, json=body, headers=headers)


async def employment(sandbox: Sandbox, status: str) -> str:
    """Add an employment to Acme through the admin API."""
    response = await sandbox.client.post(
        f"/sandbox/companies/{sandbox.tokens['company_id']}/employments", json={"status": status}
    )
    employment_id: str = response.json()["employment_id"]
    return employment_id


# Magic links


async def test_magic_link_for_the_admin_user_defaults_to_the_dashboard(sandbox: Sandbox) -> None:
    """A company token with magic_link:write gets a URL for its admin user, landing on /dashboard."""
    response = await magic(sandbox, {"user_id": sandbox.tokens["user_id"]})
    assert response.status_code == 200
    assert set(response.json()) == {"data"}
    assert re.fullmatch(
        r"http://sandbox\.test/magic/[\w-]{32}\?path=%2Fdashboard", response.json()["data"]["url"]
    )
    assert (await sandbox.client.get("/sandbox/stats")).json()["magic_links"] == 1


async def test_magic_link_for_an_invited_employee_with_a_path(sandbox: Sandbox) -> None:
    """An invited employment gets a link to the requested path."""
    employment_id = await employment(sandbox, "invited")
    response = await magic(sandbox, {"employment_id": employment_id, "path": "/onboarding/step_2"})
    assert response.status_code == 200
    assert response.json()["data"]["url"].endswith("?path=%2Fonboarding%2Fstep_2")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="neither-id"),
        pytest.param({"user_id": "USER", "employment_id": "EMPLOYMENT"}, id="both-ids"),
        pytest.param({"user_id": "not-a-uuid"}, id="bad-uuid"),
        pytest.param({"user_id": "00000000-0000-0000-0000-000000000001"}, id="unknown-user"),
        pytest.param({"employment_id": "00000000-0000-0000-0000-000000000001"}, id="unknown-employment"),
        pytest.param({"user_id": "USER", "path": "/dashboard/"}, id="trailing-slash"),
        pytest.param({"user_id": "USER", "path": "dashboard"}, id="no-leading-slash"),
        pytest.param({"user_id": "USER", "path": "/a b"}, id="space-in-path"),
        pytest.param(["USER"], id="not-an-object"),
    ],
)
async def test_bad_magic_link_requests_are_422(sandbox: Sandbox, body: Any) -> None:
    """Invalid bodies and people the company does not have are 422 with a message or errors."""
    user_id = sandbox.tokens["user_id"]
    if isinstance(body, dict):
        body = {name: user_id if value == "USER" else value for name, value in body.items()}
    response = await magic(sandbox, body)
    assert response.status_code == 422
    assert set(response.json()) <= {"message", "errors"}
    assert response.json()


async def test_an_active_employee_gets_no_magic_link(sandbox: Sandbox) -> None:
    """Only invited employments can sign in by magic link."""
    response = await magic(sandbox, {"employment_id": await employment(sandbox, "active")})
    assert response.status_code == 422
    assert response.json() == {"message": "The employment is active; only invited employees get links."}


async def test_partner_and_assertion_tokens_are_403(sandbox: Sandbox) -> None:
    """Magic links need a company token from the code or refresh flow."""
    now = int(sandbox.clock())
    claims = {
        "iss": CONFIG.client_id,
        "aud": "http://sandbox.test/auth",
        "sub": f"urn:remote-api:company-manager:user:{sandbox.tokens['user_id']}",
        "iat": now,
        "exp": now + 60,
    }
    data = {
        **SECRET_FORM,
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": hs256_assertion(claims, CONFIG.client_secret),
    }
    assertion_token = (await sandbox.client.post(SPEC.token.path, data=data)).json()["access_token"]
    body = {"user_id": sandbox.tokens["user_id"]}
    assert (await magic(sandbox, body, await partner_token(sandbox.client))).status_code == 403
    assert (await magic(sandbox, body, assertion_token)).status_code == 403


async def test_a_token_without_magic_link_scope_is_403(sandbox: Sandbox) -> None:
    """A company token lacking magic_link:write is 403."""
    narrow = await connect(sandbox.client, "Globex", scope="company:read")
    response = await magic(sandbox, {"user_id": narrow["user_id"]}, narrow["access_token"])
    assert response.status_code == 403
    assert response.json() == {"message": "The token lacks the magic_link:write scope."}


async def test_disabled_magic_links_are_403(sandbox: Sandbox) -> None:
    """The admin toggle turns magic links off for the client."""
    await sandbox.client.post("/sandbox/settings", json={"magic_links_enabled": False})
    response = await magic(sandbox, {"user_id": sandbox.tokens["user_id"]})
    assert response.status_code == 403
    assert response.json() == {"message": "Magic links are not enabled for this integration."}


async def test_magic_link_without_a_valid_token_is_401(sandbox: Sandbox) -> None:
    """No token or an unknown one is 401 with a message."""
    no_token = await sandbox.client.post(SPEC.magic_link.path, json={"user_id": sandbox.tokens["user_id"]})
    unknown = await magic(sandbox, {"user_id": sandbox.tokens["user_id"]}, "made-up")
    assert (no_token.status_code, unknown.status_code) == (401, 401)
    assert set(no_token.json()) == {"message"}


# Companies


async def test_a_company_token_sees_its_own_company(sandbox: Sandbox) -> None:
    """``GET /v1/companies`` with a company token lists only that company."""
    await connect(sandbox.client, "Globex")
    response = await sandbox.client.get("/v1/companies", headers=bearer(sandbox.tokens["access_token"]))
    assert response.json() == {"data": {"companies": [{"id": sandbox.tokens["company_id"], "name": "Acme"}]}}


async def test_a_partner_token_sees_every_consenting_company(sandbox: Sandbox) -> None:
    """A partner token lists all companies that consented and did not revoke."""
    globex = await connect(sandbox.client, "Globex")
    initech = await connect(sandbox.client, "Initech")
    await sandbox.client.post(f"/sandbox/companies/{initech['company_id']}/revoke", json={})
    response = await sandbox.client.get("/v1/companies", headers=bearer(await partner_token(sandbox.client)))
    assert response.json()["data"]["companies"] == [
        {"id": sandbox.tokens["company_id"], "name": "Acme"},
        {"id": globex["company_id"], "name": "Globex"},
    ]


@pytest.mark.parametrize("case", ["missing", "unknown", "expired", "revoked", "admin-expired"])
async def test_dead_tokens_get_401_with_an_invalid_token_challenge(sandbox: Sandbox, case: str) -> None:
    """Missing, unknown, expired and revoked tokens are 401 with ``WWW-Authenticate: Bearer``."""
    company_id = sandbox.tokens["company_id"]
    headers = bearer("made-up" if case == "unknown" else sandbox.tokens["access_token"])
    if case == "missing":
        headers = {}
    elif case == "expired":
        sandbox.clock.advance(3600)
    elif case == "revoked":
        await sandbox.client.post(f"/sandbox/companies/{company_id}/revoke", json={})
    elif case == "admin-expired":
        await sandbox.client.post("/sandbox/access-tokens/expire", json={"company_id": company_id})
    response = await sandbox.client.get("/v1/companies", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert set(response.json()) == {"message"}


# Rate limit


async def test_token_requests_beyond_the_limit_get_429_until_the_window_resets() -> None:
    """With a limit of 3 the fourth request in a minute is 429 with Retry-After and x-ratelimit-* headers."""
    clock = FakeClock()
    async with asgi_client(create_app(SandboxConfig(rate_limit_per_minute=3), clock=clock)) as client:
        data = {**SECRET_FORM, "grant_type": "client_credentials"}
        passed = [await client.post(SPEC.token.path, data=data) for _ in range(3)]
        clock.advance(20)
        limited = await client.post(SPEC.token.path, data=data)
        clock.advance(40)
        again = await client.post(SPEC.token.path, data=data)
        stats = (await client.get("/sandbox/stats")).json()
    assert [r.headers["x-ratelimit-remaining"] for r in passed] == ["2", "1", "0"]
    assert passed[0].headers["x-ratelimit-limit"] == "3"
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert (limited.headers["retry-after"], limited.headers["x-ratelimit-reset"]) == ("40", "40000")
    assert (again.status_code, again.headers["x-ratelimit-remaining"]) == (200, "2")
    assert stats["rate_limited"] == 1


async def test_each_claimed_client_id_has_its_own_budget() -> None:
    """Requests claiming another client id do not use up the registered client's budget."""
    async with asgi_client(create_app(SandboxConfig(rate_limit_per_minute=1), clock=FakeClock())) as client:
        stranger = {"client_id": "stranger", "client_secret": "x", "grant_type": "client_credentials"}
        first_stranger = await client.post(SPEC.token.path, data=stranger)
        second_stranger = await client.post(SPEC.token.path, data=stranger)
        ours = await client.post(SPEC.token.path, data={**SECRET_FORM, "grant_type": "client_credentials"})
    assert [first_stranger.status_code, second_stranger.status_code, ours.status_code] == [401, 429, 200]


async def test_api_requests_count_against_the_tokens_client() -> None:
    """API calls spend the same per-client budget as token requests."""
    async with asgi_client(create_app(SandboxConfig(rate_limit_per_minute=2), clock=FakeClock())) as client:
        token = await partner_token(client)
        ok = await client.get("/v1/companies", headers=bearer(token))
        limited = await client.get("/v1/companies", headers=bearer(token))
    assert (ok.status_code, ok.headers["x-ratelimit-remaining"]) == (200, "0")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"


# Faults of the API


async def test_an_api_fault_answers_429_with_the_chosen_retry_after(sandbox: Sandbox) -> None:
    """A ``rate_limited`` fault for the ``api`` target answers the next API request 429 with its Retry-After,
    shaped like the API's own; the request after it is served."""
    fault = {"kind": "rate_limited", "count": 1, "target": "api", "retry_after": "2"}
    assert (await sandbox.client.post("/sandbox/faults", json=fault)).status_code == 200
    headers = bearer(sandbox.tokens["access_token"])
    limited = await sandbox.client.get("/v1/companies", headers=headers)
    served = await sandbox.client.get("/v1/companies", headers=headers)
    assert (limited.status_code, limited.json()["error"]) == (429, "rate_limited")
    assert {name: limited.headers[name] for name in ("retry-after", "x-ratelimit-remaining")} == {
        "retry-after": "2",
        "x-ratelimit-remaining": "0",
    }
    assert served.status_code == 200
    assert (await sandbox.client.get("/sandbox/faults")).json() == {"faults": []}


async def test_an_api_fault_waits_for_a_live_bearer(sandbox: Sandbox) -> None:
    """A request with a dead token still gets its 401 and leaves the fault for the next live one."""
    await sandbox.client.post("/sandbox/faults", json={"kind": "http_503", "count": 1, "target": "api"})
    dead = await sandbox.client.get("/v1/companies", headers=bearer("made-up"))
    limited = await magic(sandbox, {"user_id": sandbox.tokens["user_id"]})
    assert (dead.status_code, limited.status_code) == (401, 503)
    assert limited.headers["content-type"].startswith("text/html")
