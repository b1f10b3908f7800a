"""``httpx.Client`` (sync) with the auth flows: from a thread while the RemoteOAuth's event loop runs, the 401
and 429 paths included; refused with what to do on the loop's own thread."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.support.stack import Stack
from worker.api.auth import BearerAuth, CompanyAuth, RateLimitRetry
from workflows.types.tokens import TokenGrant


def get_companies(stack: Stack, auth: httpx.Auth) -> httpx.Response:
    """``GET /v1/companies`` with a sync client, as code in a worker thread does it."""
    with httpx.Client(base_url=stack.sandbox.url, auth=auth) as api:
        return api.get("/v1/companies")


def statuses(response: httpx.Response) -> list[int]:
    """The status of every attempt of a request, the last one last."""
    return [r.status_code for r in [*response.history, response]]


async def company_id(stack: Stack) -> str:
    status = await stack.oauth.status(stack.task_queue)
    assert status.company_id is not None
    return status.company_id


async def rate_limit(stack: Stack, retry_after: str) -> None:
    fault = {"kind": "rate_limited", "count": 1, "target": "api", "retry_after": retry_after}
    assert (await stack.http.post("/sandbox/faults", json=fault)).status_code == 200


async def test_a_sync_client_in_a_thread_carries_the_company_token(stack: Stack) -> None:
    """``oauth.auth(ref)`` made in async code works in ``asyncio.to_thread``: the bearer is the company's."""
    auth = stack.oauth.auth(stack.task_queue)
    response = await asyncio.to_thread(get_companies, stack, auth)
    assert (response.status_code, response.json()) == (
        200,
        {"data": {"companies": [{"id": await company_id(stack), "name": f"Acme {stack.task_queue}"}]}},
    )
    token = await stack.oauth.token(stack.task_queue)
    assert response.request.headers["authorization"] == f"Bearer {token.access_token}"


async def test_a_sync_client_refreshes_once_after_a_401(stack: Stack) -> None:
    """An expired token in a sync request: one refresh on the loop, and the retry gets a 200."""
    auth = stack.oauth.auth(stack.task_queue)
    assert (await asyncio.to_thread(get_companies, stack, auth)).status_code == 200
    await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": await company_id(stack)})
    response = await asyncio.to_thread(get_companies, stack, auth)
    assert statuses(response) == [401, 200]
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_threads_that_all_see_a_401_share_one_refresh(stack: Stack) -> None:
    """Eight sync requests after the token died: every one succeeds, and the company refreshed once."""
    auth = stack.oauth.auth(stack.task_queue)
    assert (await asyncio.to_thread(get_companies, stack, auth)).status_code == 200
    await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": await company_id(stack)})
    responses = await asyncio.gather(*(asyncio.to_thread(get_companies, stack, auth) for _ in range(8)))
    assert [response.status_code for response in responses] == [200] * 8
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_a_sync_client_waits_out_a_429_with_a_real_sleep(stack: Stack) -> None:
    """``Retry-After: 1`` in a sync request: the thread sleeps a second (the loop keeps running), then 200."""
    await rate_limit(stack, "1")
    auth = stack.oauth.auth(stack.task_queue)
    started = time.monotonic()
    response = await asyncio.to_thread(get_companies, stack, auth)
    assert statuses(response) == [429, 200]
    assert time.monotonic() - started >= 1.0


async def test_a_sync_429_then_401_waits_then_refreshes_once(stack: Stack) -> None:
    """The token dies while the thread waits out a 429: the retry's 401 gets one refresh, then a 200."""
    waits: list[float] = []
    expire = {"company_id": await company_id(stack)}

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        httpx.post(f"{stack.sandbox.url}/sandbox/access-tokens/expire", json=expire).raise_for_status()

    await rate_limit(stack, "2")
    auth = CompanyAuth(stack.oauth, stack.task_queue, rate_limit=RateLimitRetry(sync_sleep=sleep))
    response = await asyncio.to_thread(get_companies, stack, auth)
    assert (statuses(response), waits) == ([429, 401, 200], [2.0])
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


def unreachable(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should have been sent, yet {request.url} was")


async def test_a_sync_client_on_the_loops_own_thread_is_refused(stack: Stack) -> None:
    """Waiting there would deadlock: the error says to use AsyncClient or a thread, and nothing is sent."""
    auth = stack.oauth.auth(stack.task_queue)
    with (
        httpx.Client(transport=httpx.MockTransport(unreachable), auth=auth) as api,
        pytest.raises(RuntimeError, match=r"deadlock\): use httpx.AsyncClient .*asyncio.to_thread"),
    ):
        api.get("https://gateway.example/v1/companies")  # noqa: ASYNC212 - the misuse under test


async def test_an_auth_made_outside_the_loop_learns_it_from_an_async_request(stack: Stack) -> None:
    """Made in a thread it knows no loop (the error says what to do); an AsyncClient request teaches it,
    and ``loop=`` gives it one at once."""
    made_in_a_thread = await asyncio.to_thread(stack.oauth.auth, stack.task_queue)
    with pytest.raises(RuntimeError, match=r"does not know the event loop RemoteOAuth runs on.*pass loop="):
        await asyncio.to_thread(get_companies, stack, made_in_a_thread)
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=made_in_a_thread) as api:
        assert (await api.get("/v1/companies")).status_code == 200
    learned = await asyncio.to_thread(get_companies, stack, made_in_a_thread)
    loop = asyncio.get_running_loop()
    given = await asyncio.to_thread(lambda: CompanyAuth(stack.oauth, stack.task_queue, loop=loop))
    assert [learned.status_code, (await asyncio.to_thread(get_companies, stack, given)).status_code] == [
        200,
        200,
    ]


def test_a_loop_that_is_not_running_is_refused() -> None:
    """The token calls need their loop running: a stopped one is named in the error, not waited for."""

    async def never(_: object) -> TokenGrant:
        raise AssertionError("no token call should start")

    loop = asyncio.new_event_loop()
    try:
        auth = BearerAuth(never, never, loop=loop)
        with (
            httpx.Client(transport=httpx.MockTransport(unreachable), auth=auth) as api,
            pytest.raises(RuntimeError, match="is not running"),
        ):
            api.get("https://gateway.example/v1/companies")
    finally:
        loop.close()
