"""A 429 from Remote's rate limit through the auth flows: waited out as Retry-After asks, within bounds, with
the 401 recovery kept; against the sandbox's API faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx

from tests.support.stack import Stack
from worker.api.auth import CompanyAuth, RateLimitRetry


class Waits:
    """A sleep that records what it was asked to wait and returns at once (``then`` runs meanwhile)."""

    def __init__(self, then: object = None) -> None:
        self.seconds: list[float] = []
        self._then = then

    async def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if callable(self._then):
            await self._then()


async def rate_limit(stack: Stack, count: int, retry_after: str | None) -> None:
    """Have the sandbox answer the next ``count`` API requests 429 with this Retry-After."""
    fault = {"kind": "rate_limited", "count": count, "target": "api", "retry_after": retry_after}
    response = await stack.http.post("/sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


async def expire_tokens(stack: Stack) -> None:
    status = await stack.oauth.status(stack.task_queue)
    await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": status.company_id})


def statuses(response: httpx.Response) -> list[int]:
    """The status of every attempt of a request, the last one last."""
    return [r.status_code for r in [*response.history, response]]


def company_auth(stack: Stack, waits: Waits, *, default_wait: float = 1.0) -> CompanyAuth:
    """The company's auth (as ``RemoteOAuth.auth`` makes it) with the default bounds, sleeping through ``waits``."""
    policy = RateLimitRetry(sleep=waits.sleep, default_wait=default_wait)
    return stack.oauth.auth(stack.task_queue, rate_limit=policy)


async def test_a_429_is_waited_out_and_the_call_succeeds(stack: Stack) -> None:
    """With the default policy, a 429 with ``Retry-After: 1`` costs a real second's wait, then a 200."""
    await rate_limit(stack, 1, "1")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth(stack.task_queue)) as api:
        started = time.monotonic()
        response = await api.get("/v1/companies")
        waited = time.monotonic() - started
    assert statuses(response) == [429, 200]
    assert waited >= 1.0
    assert await stack.stats() == {"authorization_code": 1}


async def test_each_429_waits_as_long_as_it_asks(stack: Stack) -> None:
    """Two 429s asking 2 s each: two waits of 2 s, then the 200; the token was never refreshed."""
    waits = Waits()
    await rate_limit(stack, 2, "2")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        response = await api.get("/v1/companies")
    assert (statuses(response), waits.seconds) == ([429, 429, 200], [2.0, 2.0])
    assert await stack.stats() == {"authorization_code": 1}


async def test_a_429_without_a_usable_retry_after_backs_off_from_the_default(stack: Stack) -> None:
    """``Retry-After: soon`` is no delay: the waits start at ``default_wait`` and double."""
    waits = Waits()
    await rate_limit(stack, 3, "soon")
    auth = company_auth(stack, waits, default_wait=0.5)
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=auth) as api:
        response = await api.get("/v1/companies")
    assert (statuses(response), waits.seconds) == ([429, 429, 429, 200], [0.5, 1.0, 2.0])


async def test_a_429_asking_longer_than_max_wait_is_returned_at_once(stack: Stack) -> None:
    """Retry-After 31 s with the default 30 s bound: the caller gets the 429 without any wait."""
    waits = Waits()
    await rate_limit(stack, 1, "31")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        response = await api.get("/v1/companies")
        after = await api.get("/v1/companies")
    assert (statuses(response), response.headers["retry-after"], waits.seconds) == ([429], "31", [])
    assert after.status_code == 200


async def test_when_retries_run_out_the_last_429_is_returned(stack: Stack) -> None:
    """Four 429s and three retries allowed: three waits, then the fourth 429 goes to the caller."""
    waits = Waits()
    await rate_limit(stack, 4, "1")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        response = await api.get("/v1/companies")
        after = await api.get("/v1/companies")
    assert (statuses(response), waits.seconds) == ([429, 429, 429, 429], [1.0, 1.0, 1.0])
    assert after.status_code == 200
    assert (await stack.http.get("/sandbox/faults")).json() == {"faults": []}


async def test_a_streaming_body_is_not_sent_again(stack: Stack) -> None:
    """A request whose body is a stream cannot be replayed: its 429 comes back without a wait."""
    waits = Waits()
    status = await stack.oauth.status(stack.task_queue)
    await rate_limit(stack, 1, "1")

    async def body() -> AsyncIterator[bytes]:
        yield f'{{"user_id": "{status.user_id}"}}'.encode()

    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        response = await api.post("/v1/magic-link", content=body())
        replayable = await api.post("/v1/magic-link", json={"user_id": status.user_id})
    assert (statuses(response), waits.seconds) == ([429], [])
    assert replayable.status_code == 200


async def test_a_401_then_a_429_refreshes_once_then_waits(stack: Stack) -> None:
    """An expired token: the 401 gets one refresh, the retry a 429, and after the wait the call succeeds."""
    waits = Waits()
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        assert (await api.get("/v1/companies")).status_code == 200
        await expire_tokens(stack)
        await rate_limit(stack, 1, "1")  # a dead bearer's 401 leaves it for the retry
        response = await api.get("/v1/companies")
    assert (statuses(response), waits.seconds) == ([401, 429, 200], [1.0])
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_a_429_then_a_401_waits_then_refreshes_once(stack: Stack) -> None:
    """The token dies during the wait: the retry gets a 401, one refresh, and the call succeeds."""
    waits = Waits(then=lambda: expire_tokens(stack))
    await rate_limit(stack, 1, "1")
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=company_auth(stack, waits)) as api:
        response = await api.get("/v1/companies")
    assert (statuses(response), waits.seconds) == ([429, 401, 200], [1.0])
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_partner_and_assertion_auth_wait_out_429s_too(stack: Stack) -> None:
    """``partner_auth()`` and ``assertion_auth()`` have the same policy: ``Retry-After: 0`` retries at once."""
    scope = "employment:read"  # a partner token of its own: its workflow is keyed by client id and scopes
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = RateLimitRetry(sleep=sleep)
    auths = [
        stack.oauth.partner_auth(scope, rate_limit=policy),
        stack.oauth.assertion_auth(stack.task_queue, scope="company:read", rate_limit=policy),
    ]
    responses = []
    try:
        for auth in auths:
            await rate_limit(stack, 1, "0")
            async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=auth) as api:
                responses.append(await api.get("/v1/companies"))
    finally:
        await stack.oauth.partner_stop(scope)  # else a later test's partner token meets this stack's workflow
    assert [statuses(response) for response in responses] == [[429, 200], [429, 200]]
    assert waits == [0.0, 0.0]  # the options reached both flows
