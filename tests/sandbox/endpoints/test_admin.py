"""The sandbox admin API under ``/sandbox/``: companies, grants, stats, introspection, settings, reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import FakeClock, asgi_client
from tests.support.sandbox import connect, refresh

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()


@dataclass
class Sandbox:
    """An in-process sandbox and its clock."""

    client: httpx.AsyncClient
    clock: FakeClock


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A fresh default sandbox."""
    clock = FakeClock()
    async with asgi_client(create_app(CONFIG, clock=clock)) as client:
        yield Sandbox(client, clock)


async def test_stats_count_requests_by_grant_type_and_responses_by_status(sandbox: Sandbox) -> None:
    """One code exchange and one refresh (one failing) are counted exactly, failures included."""
    tokens = await connect(sandbox.client)
    await refresh(sandbox.client, tokens["refresh_token"])
    await refresh(sandbox.client, "made-up")
    await sandbox.client.post(SPEC.token.path, data={"grant_type": "password"})
    stats = (await sandbox.client.get("/sandbox/stats")).json()
    assert stats == {
        "token_requests": {
            "authorization_code": 1,
            "refresh_token": 2,
            "client_credentials": 0,
            "urn:ietf:params:oauth:grant-type:jwt-bearer": 0,
            "other": 1,
        },
        "token_responses": {"200": 2, "400": 2},
        "rate_limited": 0,
        "magic_links": 0,
        "dropped_connections": 0,
    }


async def test_grants_show_issued_tokens_and_rotation() -> None:
    """A grant lists its company, user, access tokens issued, refreshes and rotation generation."""
    async with asgi_client(create_app(SandboxConfig(refresh_rotation="strict"), clock=FakeClock())) as client:
        tokens = await connect(client)
        second = (await refresh(client, tokens["refresh_token"])).json()
        await refresh(client, second["refresh_token"])
        grants = (await client.get("/sandbox/grants")).json()["grants"]
    assert grants == [
        {
            "grant_id": grants[0]["grant_id"],
            "company_id": tokens["company_id"],
            "user_id": tokens["user_id"],
            "scope": tokens["scope"],
            "access_tokens_issued": 3,
            "refresh_requests": 2,
            "refresh_tokens_issued": 3,
            "rotation_generation": 2,
            "revoked": False,
        }
    ]


async def test_revoking_a_company_shows_in_companies_and_grants(sandbox: Sandbox) -> None:
    """Revocation marks the company and its grants revoked; unknown companies are 404."""
    tokens = await connect(sandbox.client)
    revoked = await sandbox.client.post(f"/sandbox/companies/{tokens['company_id']}/revoke", json={})
    unknown = await sandbox.client.post("/sandbox/companies/nope/revoke", json={})
    companies = (await sandbox.client.get("/sandbox/companies")).json()["companies"]
    grants = (await sandbox.client.get("/sandbox/grants")).json()["grants"]
    assert revoked.json() == {"company_id": tokens["company_id"], "revoked": True}
    assert unknown.status_code == 404
    assert [(c["id"], c["revoked"]) for c in companies] == [(tokens["company_id"], True)]
    assert [g["revoked"] for g in grants] == [True]


async def test_reconsent_after_revocation_issues_a_working_grant(sandbox: Sandbox) -> None:
    """The same company consenting again gets new tokens; the old refresh token stays dead."""
    old = await connect(sandbox.client)
    await sandbox.client.post(f"/sandbox/companies/{old['company_id']}/revoke", json={})
    new = await connect(sandbox.client)
    assert new["company_id"] == old["company_id"]
    assert (await refresh(sandbox.client, new["refresh_token"])).status_code == 200
    assert (await refresh(sandbox.client, old["refresh_token"])).status_code == 400


async def test_employments_are_added_and_listed(sandbox: Sandbox) -> None:
    """An employment gets a uuid and shows under its company with its status."""
    tokens = await connect(sandbox.client)
    added = (
        await sandbox.client.post(
            f"/sandbox/companies/{tokens['company_id']}/employments", json={"status": "active"}
        )
    ).json()
    bad = await sandbox.client.post(
        f"/sandbox/companies/{tokens['company_id']}/employments", json={"status": "x"}
    )
    companies = (await sandbox.client.get("/sandbox/companies")).json()["companies"]
    assert companies[0]["employments"] == [{"id": added["employment_id"], "status": "active"}]
    assert companies[0]["user_ids"] == [tokens["user_id"]]
    assert bad.status_code == 422


async def test_introspection_describes_access_and_refresh_tokens(sandbox: Sandbox) -> None:
    """Introspection reports kind, company, user, scope, expiry and client; unknown tokens are inactive."""
    tokens = await connect(sandbox.client)
    access = (await sandbox.client.post("/sandbox/introspect", json={"token": tokens["access_token"]})).json()
    refresh_info = (
        await sandbox.client.post("/sandbox/introspect", json={"token": tokens["refresh_token"]})
    ).json()
    unknown = (await sandbox.client.post("/sandbox/introspect", json={"token": "nope"})).json()
    assert access == {
        "active": True,
        "kind": "company",
        "company_id": tokens["company_id"],
        "user_id": tokens["user_id"],
        "employment_id": None,
        "scope": tokens["scope"],
        "exp": int(sandbox.clock()) + 3600,
        "client_id": CONFIG.client_id,
    }
    assert (refresh_info["active"], refresh_info["kind"]) == (True, "refresh")
    assert unknown == {"active": False}


async def test_expiring_a_companys_access_tokens_forces_a_refresh(sandbox: Sandbox) -> None:
    """After the admin expires them, access tokens get 401 and a refresh brings a working one."""
    tokens = await connect(sandbox.client)
    expired = await sandbox.client.post(
        "/sandbox/access-tokens/expire", json={"company_id": tokens["company_id"]}
    )
    old = await sandbox.client.get(
        "/v1/companies", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    fresh = (await refresh(sandbox.client, tokens["refresh_token"])).json()
    new = await sandbox.client.get(
        "/v1/companies", headers={"Authorization": f"Bearer {fresh['access_token']}"}
    )
    assert expired.json() == {"expired": 1}
    assert (old.status_code, new.status_code) == (401, 200)


async def test_settings_change_at_run_time(sandbox: Sandbox) -> None:
    """Changed settings apply to the next token response."""
    changed = await sandbox.client.post(
        "/sandbox/settings", json={"token_ttl": 60, "token_type": "Bearer", "refresh_rotation": "strict"}
    )
    tokens = await connect(sandbox.client)
    rotated = (await refresh(sandbox.client, tokens["refresh_token"])).json()
    assert changed.json() == {
        "token_ttl": 60,
        "token_type": "Bearer",
        "refresh_rotation": "strict",
        "rotation_grace_seconds": 60,
        "rate_limit_per_minute": 250,
        "magic_links_enabled": True,
        "auto_approve": False,
    }
    assert (tokens["expires_in"], tokens["token_type"]) == (60, "Bearer")
    assert rotated["refresh_token"] != tokens["refresh_token"]


@pytest.mark.parametrize(
    "body",
    [{"token_type": "mac"}, {"refresh_rotation": "sometimes"}, {"token_ttl": "60"}, {"colour": "blue"}],
)
async def test_impossible_settings_are_422(sandbox: Sandbox, body: dict[str, Any]) -> None:
    """Unknown settings, wrong JSON types and values the config rejects are 422 and change nothing."""
    response = await sandbox.client.post("/sandbox/settings", json=body)
    assert response.status_code == 422
    assert (await sandbox.client.get("/sandbox/settings")).json()["token_type"] == "bearer"


async def test_reset_forgets_everything(sandbox: Sandbox) -> None:
    """Reset clears companies, grants, counters, faults and settings."""
    await connect(sandbox.client)
    await sandbox.client.post("/sandbox/settings", json={"token_ttl": 5})
    await sandbox.client.post("/sandbox/faults", json={"kind": "http_500", "count": 1})
    await sandbox.client.post("/sandbox/reset", json={})
    assert (await sandbox.client.get("/sandbox/companies")).json() == {"companies": []}
    assert (await sandbox.client.get("/sandbox/grants")).json() == {"grants": []}
    assert (await sandbox.client.get("/sandbox/faults")).json() == {"faults": []}
    assert (await sandbox.client.get("/sandbox/settings")).json()["token_ttl"] == 3600
    assert (await sandbox.client.get("/sandbox/stats")).json()["token_responses"] == {}


async def test_admin_changes_accept_only_json(sandbox: Sandbox) -> None:
    """A cross-site page can send a form or text/plain POST without asking; the admin API refuses both
    (415), so no web page can switch on auto-approve, revoke or reset; JSON works as before."""
    attempts = [
        await sandbox.client.post(
            "/sandbox/settings", content='{"auto_approve": true}', headers={"Content-Type": "text/plain"}
        ),
        await sandbox.client.post("/sandbox/settings", data={"auto_approve": "true"}),
        await sandbox.client.post("/sandbox/reset"),
        await sandbox.client.request("DELETE", "/sandbox/faults"),
    ]
    assert [a.status_code for a in attempts] == [415, 415, 415, 415]
    assert "application/json" in attempts[0].json()["message"]
    assert (await sandbox.client.get("/sandbox/settings")).json()["auto_approve"] is CONFIG.auto_approve
    changed = await sandbox.client.post("/sandbox/settings", json={"auto_approve": True})
    assert (changed.status_code, changed.json()["auto_approve"]) == (200, True)


async def test_a_grant_made_elsewhere_refreshes_like_one_made_here(sandbox: Sandbox) -> None:
    """``POST /sandbox/companies/{id}/grants`` mints a refresh token the token endpoint honours, with the
    company's ids and the asked scope; a revoked company gets none, an unknown one is 404."""
    company = (
        await sandbox.client.post("/sandbox/companies", json={"name": "acme", "scope": "company:read"})
    ).json()
    minted = await sandbox.client.post(
        f"/sandbox/companies/{company['company_id']}/grants", json={"scope": "company:read employment:read"}
    )
    assert minted.status_code == 200
    grant = minted.json()
    assert {k: v for k, v in grant.items() if k != "refresh_token"} == {
        "company_id": company["company_id"],
        "user_id": company["user_id"],
        "scope": "company:read employment:read",
    }
    refreshed = await refresh(sandbox.client, grant["refresh_token"])
    assert refreshed.status_code == 200
    facts = (
        await sandbox.client.post("/sandbox/introspect", json={"token": refreshed.json()["access_token"]})
    ).json()
    assert (facts["active"], facts["company_id"], facts["scope"]) == (
        True,
        company["company_id"],
        "company:read employment:read",
    )
    default = (
        await sandbox.client.post(f"/sandbox/companies/{company['company_id']}/grants", json={})
    ).json()
    assert default["scope"] == "company:read"

    await sandbox.client.post(f"/sandbox/companies/{company['company_id']}/revoke", json={})
    assert (await refresh(sandbox.client, grant["refresh_token"])).status_code == 400
    refused = await sandbox.client.post(f"/sandbox/companies/{company['company_id']}/grants", json={})
    assert refused.status_code == 422
    unknown = await sandbox.client.post("/sandbox/companies/nope/grants", json={})
    assert (unknown.status_code, unknown.json()) == (404, {"message": "no such company"})
    bad = await sandbox.client.post(
        f"/sandbox/companies/{company['company_id']}/grants", json={"scope": "not a scope!"}
    )
    assert bad.status_code == 422
