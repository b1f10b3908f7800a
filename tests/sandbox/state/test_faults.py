"""Scheduled faults of the sandbox token endpoint, including a real dropped connection on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.endpoints.token import ConnectionDroppedError
from sandbox.testing import (
    FakeClock,
    asgi_client,
    connect_company,
    running_sandbox,
    running_sandbox_in_thread,
)

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

CONFIG = SandboxConfig()
PARTNER = {
    "client_id": CONFIG.client_id,
    "client_secret": CONFIG.client_secret,
    "grant_type": "client_credentials",
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An in-process default sandbox."""
    async with asgi_client(create_app(CONFIG, clock=FakeClock())) as client:
        yield client


async def schedule(client: httpx.AsyncClient, **fault: Any) -> None:
    """Schedule one fault through the admin API."""
    response = await client.post("/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


async def exchange_code(client: httpx.AsyncClient, code: str) -> httpx.Response:
    """Redeem ``code`` with the body secret."""
    data = {
        **PARTNER,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CONFIG.redirect_uris[0],
    }
    return await client.post(SPEC.token.path, data=data)


def parsed(response: httpx.Response) -> object:
    """The JSON body, or None when it does not parse."""
    try:
        return response.json()
    except json.JSONDecodeError:
        return None


@pytest.mark.parametrize(
    ("kind", "status", "check"),
    [
        ("http_500", 500, lambda r: r.headers["content-type"].startswith("text/html")),
        ("http_502", 502, lambda r: r.headers["content-type"].startswith("text/html")),
        ("http_503", 503, lambda r: "retry-after" not in r.headers),
        (
            "rate_limited",
            429,
            lambda r: r.headers["retry-after"] == "7" and r.json()["error"] == "rate_limited",
        ),
        ("truncated_json", 200, lambda r: parsed(r) is None and r.text.startswith('{"access_token"')),
        ("json_array", 200, lambda r: r.json() == []),
        ("missing_access_token", 200, lambda r: set(r.json()) == {"token_type", "expires_in"}),
        ("expires_in_string", 200, lambda r: r.json()["expires_in"] == "3600"),
        ("expires_in_negative", 200, lambda r: r.json()["expires_in"] == -5),
        ("expires_in_missing", 200, lambda r: set(r.json()) == {"access_token", "token_type"}),
        ("unknown_token_type", 200, lambda r: r.json()["token_type"] == "mac"),
        ("oversized_body", 200, lambda r: len(r.content) > 100 * 1024 and "access_token" in r.json()),
        ("redirect", 302, lambda r: r.headers["location"] == "http://127.0.0.1:9/elsewhere"),
        ("invalid_grant", 400, lambda r: r.json()["error"] == "invalid_grant"),
        ("server_error_json", 500, lambda r: r.json()["error"] == "server_error"),
        ("temporarily_unavailable", 503, lambda r: r.json()["error"] == "temporarily_unavailable"),
    ],
)
async def test_each_fault_kind_replaces_one_response(kind: str, status: int, check: Any) -> None:
    """A fault scheduled once answers the next token request its way, without a grant; the next is normal."""
    app = create_app(CONFIG, clock=FakeClock())
    async with asgi_client(app) as client:
        await schedule(client, kind=kind, count=1)
        faulty = await client.post(SPEC.token.path, data=PARTNER)
        normal = await client.post(SPEC.token.path, data=PARTNER)
    assert faulty.status_code == status
    assert check(faulty)
    assert normal.status_code == 200
    assert list(app.state.sandbox.access_tokens) == [normal.json()["access_token"]]


async def test_a_503_fault_can_carry_retry_after(client: httpx.AsyncClient) -> None:
    """``retry_after`` on an http_503 fault becomes the Retry-After header."""
    await schedule(client, kind="http_503", count=1, retry_after="12")
    response = await client.post(SPEC.token.path, data=PARTNER)
    assert (response.status_code, response.headers["retry-after"]) == (503, "12")


async def test_latency_answers_normally_after_the_delay(client: httpx.AsyncClient) -> None:
    """A latency fault still performs the grant and is used up."""
    await schedule(client, kind="latency", count=1, delay_seconds=0.01)
    response = await client.post(SPEC.token.path, data=PARTNER)
    assert response.status_code == 200
    assert (await client.get("/sandbox/faults")).json() == {"faults": []}


async def test_count_faults_fire_that_many_times(client: httpx.AsyncClient) -> None:
    """``count: 2`` fails exactly the next two requests."""
    await schedule(client, kind="http_502", count=2)
    statuses = [(await client.post(SPEC.token.path, data=PARTNER)).status_code for _ in range(3)]
    assert statuses == [502, 502, 200]


async def test_fraction_faults_fire_on_that_share_of_requests(client: httpx.AsyncClient) -> None:
    """``fraction: 0.5`` fails every second request, deterministically, until cleared."""
    await schedule(client, kind="http_500", fraction=0.5)
    statuses = [(await client.post(SPEC.token.path, data=PARTNER)).status_code for _ in range(4)]
    listed = (await client.get("/sandbox/faults")).json()["faults"]
    await client.request("DELETE", "/sandbox/faults", json={})
    after = (await client.post(SPEC.token.path, data=PARTNER)).status_code
    assert statuses == [200, 500, 200, 500]
    assert [(fault["kind"], fault["fraction"], fault["fired"]) for fault in listed] == [("http_500", 0.5, 2)]
    assert after == 200


async def test_an_api_fault_leaves_the_token_endpoint_alone(client: httpx.AsyncClient) -> None:
    """A fault for the ``api`` target waits for an API request; token requests pass by it."""
    await schedule(client, kind="rate_limited", count=1, target="api", retry_after="3")
    response = await client.post(SPEC.token.path, data=PARTNER)
    listed = (await client.get("/sandbox/faults")).json()["faults"]
    assert response.status_code == 200
    assert listed == [
        {
            "kind": "rate_limited",
            "count": 1,
            "fraction": None,
            "delay_seconds": 0.0,
            "retry_after": "3",
            "grant_type": None,
            "target": "api",
            "fired": 0,
        }
    ]


async def test_grant_type_restricts_a_fault(client: httpx.AsyncClient) -> None:
    """A fault for refresh_token leaves client_credentials requests alone."""
    await schedule(client, kind="http_500", count=1, grant_type="refresh_token")
    partner = await client.post(SPEC.token.path, data=PARTNER)
    refresh = await client.post(
        SPEC.token.path, data={**PARTNER, "grant_type": "refresh_token", "refresh_token": "x"}
    )
    assert (partner.status_code, refresh.status_code) == (200, 500)


@pytest.mark.parametrize(
    "body",
    [{"kind": "gremlins", "count": 1}, {"kind": "http_500"}, {"kind": "http_500", "count": 1, "fraction": 0.5},
     {"kind": "http_500", "fraction": 1.5}, {"kind": "http_500", "count": 0}, {"kind": "latency", "count": 1,
     "delay_seconds": -1}, {"kind": "http_500", "count": 1, "target": "consent"},
     {"kind": "invalid_grant", "count": 1, "target": "api"},
     {"kind": "rate_limited", "count": 1, "target": "api", "grant_type": "refresh_token"}],
)  # fmt: skip
async def test_impossible_faults_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """Unknown kinds and targets, missing or double count/fraction, out-of-range numbers, and an ``api`` fault
    of a token-only kind or with a grant type are refused."""
    response = await client.post("/sandbox/faults", json=body)
    assert response.status_code == 422
    assert set(response.json()) == {"message"}


async def test_commit_then_drop_in_process_raises_after_committing(client: httpx.AsyncClient) -> None:
    """Without a socket to close, the in-process app raises, and the code is spent all the same."""
    code = (await connect_company(client, company_name="Acme")).code
    assert code is not None
    await schedule(client, kind="commit_then_drop", count=1)
    with pytest.raises(ConnectionDroppedError):
        await exchange_code(client, code)
    grants = (await client.get("/sandbox/grants")).json()["grants"]
    assert [grant["access_tokens_issued"] for grant in grants] == [1]


async def test_commit_then_drop_closes_a_real_connection_without_a_response() -> None:
    """Over a socket the client sees the connection close, while the grant was really performed."""
    async with running_sandbox() as sandbox, httpx.AsyncClient(base_url=sandbox.url) as client:
        code = (await connect_company(client, company_name="Acme")).code
        assert code is not None
        await schedule(client, kind="commit_then_drop", count=1)
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await exchange_code(client, code)
        grants = (await client.get("/sandbox/grants")).json()["grants"]
        replay = await exchange_code(client, code)
        stats = (await client.get("/sandbox/stats")).json()
    assert sandbox.url.startswith("http://127.0.0.1:")
    assert [(grant["access_tokens_issued"], grant["refresh_tokens_issued"]) for grant in grants] == [(1, 1)]
    assert replay.json()["error"] == "invalid_grant"
    assert stats["dropped_connections"] == 1
    assert stats["token_requests"]["authorization_code"] == 2


async def test_commit_then_drop_of_a_rotating_refresh_rotates() -> None:
    """A dropped strict-rotation refresh still retires the old refresh token, as a lost response would."""
    async with (
        running_sandbox(SandboxConfig(refresh_rotation="strict")) as sandbox,
        httpx.AsyncClient(base_url=sandbox.url) as client,
    ):
        code = (await connect_company(client, company_name="Acme")).code
        assert code is not None
        tokens = (await exchange_code(client, code)).json()
        await schedule(client, kind="commit_then_drop", count=1)
        data = {**PARTNER, "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(SPEC.token.path, data=data)
        retry = await client.post(SPEC.token.path, data=data)
    assert (retry.status_code, retry.json()["error"]) == (400, "invalid_grant")


def test_the_threaded_sandbox_serves_sync_clients() -> None:
    """``running_sandbox_in_thread`` serves plain synchronous httpx and stops on exit."""
    with running_sandbox_in_thread() as sandbox:
        response = httpx.post(f"{sandbox.url}{SPEC.token.path}", data=PARTNER)
    assert response.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{sandbox.url}{SPEC.token.path}", data=PARTNER)
