"""The httpx.Auth flows against the sandbox's bearer-checked GET /v1/companies, 401 path included."""

from __future__ import annotations

import httpx

from tests.support.stack import Stack

JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def token_requests(stack: Stack) -> dict[str, int]:
    counts: dict[str, int] = (await stack.http.get("/sandbox/stats")).json()["token_requests"]
    return {grant: n for grant, n in counts.items() if n}


async def test_company_auth_refreshes_once_after_a_401(stack: Stack) -> None:
    """CompanyAuth gets a 200; after the sandbox expires the token, one refresh and the retry gets a 200."""
    status = await stack.oauth.status(stack.task_queue)
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth(stack.task_queue)) as api:
        first = await api.get("/v1/companies")
        assert (first.status_code, first.json()) == (
            200,
            {"data": {"companies": [{"id": status.company_id, "name": f"Acme {stack.task_queue}"}]}},
        )
        await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": status.company_id})
        second = await api.get("/v1/companies")
        assert second.status_code == 200
    assert await token_requests(stack) == {"authorization_code": 1, "refresh_token": 1}


async def test_assertion_auth_for_the_consenting_admin_mints_once_after_a_401(stack: Stack) -> None:
    """assertion_auth(company_ref) acts as the admin learned at consent; a 401 mints one new token."""
    status = await stack.oauth.status(stack.task_queue)
    auth = stack.oauth.assertion_auth(stack.task_queue, scope="company:read")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=auth) as api:
        first = await api.get("/v1/companies")
        assert [c["id"] for c in first.json()["data"]["companies"]] == [status.company_id]
        await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": status.company_id})
        second = await api.get("/v1/companies")
        assert second.status_code == 200
    assert await token_requests(stack) == {"authorization_code": 1, JWT: 2}


async def test_partner_auth_sees_every_consenting_company(stack: Stack) -> None:
    """partner_auth carries a client-credentials token, which the sandbox accepts across companies."""
    status = await stack.oauth.status(stack.task_queue)
    try:
        async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.partner_auth()) as api:
            response = await api.get("/v1/companies")
            again = await api.get("/v1/companies")
    finally:
        await stack.oauth.partner_stop()  # keyed by client id: a later test's partner token would meet it
    assert response.status_code == again.status_code == 200
    assert [c["id"] for c in response.json()["data"]["companies"]] == [status.company_id]
    assert await token_requests(stack) == {"authorization_code": 1, "client_credentials": 1}
