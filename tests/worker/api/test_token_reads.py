"""token() reads through the API's token cache on the dev server: Temporal calls counted by an interceptor."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from bench.token_reads import RpcCounter, counting_client
from tests.support.stack import CLIENT_ID, EXACT, TTL, Stack, make_stack
from tests.support.temporal import TEST_KEYS
from worker.api import Onboarding, RemoteOAuth
from worker.context import load
from workflows.types.company import FreshnessRequest, Phase
from workflows.types.errors import NotFoundError, NotReadyError


@dataclasses.dataclass(frozen=True)
class Counted:
    stack: Stack
    calls: RpcCounter

    def seen(self) -> dict[str, int]:
        return dict(self.calls.calls)


@pytest_asyncio.fixture(loop_scope="session")
async def counted(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Counted]:
    """A company (named by the queue) connected through an API whose every Temporal call is counted."""
    async with make_stack(dev_server_env, task_queue) as built:
        client, calls = counting_client(dev_server_env.client)
        oauth = RemoteOAuth(
            client,
            task_queue=task_queue,
            company_settings=EXACT,
            client_id=CLIENT_ID,
            links=built.oauth.links,
        )
        stack = dataclasses.replace(built, oauth=oauth)
        await stack.connect(task_queue)
        calls.calls.clear()
        yield Counted(stack, calls)


async def test_many_concurrent_callers_cost_one_query(counted: Counted) -> None:
    """A hundred callers at once, then a hundred more one by one: one query in all, one token."""
    oauth, ref = counted.stack.oauth, counted.stack.task_queue
    tokens = await asyncio.gather(*(oauth.token(ref) for _ in range(100)))
    tokens += [await oauth.token(ref) for _ in range(100)]
    assert len({t.access_token for t in tokens}) == 1
    assert counted.seen() == {"query": 1}


async def test_two_auths_of_one_company_share_the_token(counted: Counted) -> None:
    """Two ``auth()`` objects and ``token()`` read one cached token: one query for all three."""
    stack = counted.stack
    ref = stack.task_queue
    seen: list[str] = []
    for auth in (stack.oauth.auth(ref), stack.oauth.auth(ref)):
        async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=auth) as api:
            response = await api.get("/v1/companies")
            assert response.status_code == 200
            seen.append(response.request.headers["Authorization"])
    assert seen == [f"Bearer {(await stack.oauth.token(ref)).access_token}"] * 2
    assert counted.seen() == {"query": 1}


async def test_a_cached_token_under_min_ttl_is_refreshed_not_handed_out(counted: Counted) -> None:
    """Asking for more than the cached token has left refreshes it once; later reads take the new one."""
    oauth, ref = counted.stack.oauth, counted.stack.task_queue
    cached = await oauth.token(ref)
    # Longer tokens from now on: the cached one is short of TTL + 60 s, the next one is not.
    await counted.stack.http.post("/sandbox/settings", json={"token_ttl": 2 * TTL})
    fresh = await oauth.token(ref, min_ttl=TTL + 60)
    assert fresh.access_token != cached.access_token
    assert await oauth.token(ref) == fresh
    assert counted.seen() == {"query": 2, "update": 1}
    assert await counted.stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_a_401_evicts_the_token_and_the_next_call_gets_the_new_one(counted: Counted) -> None:
    """After the gateway refuses the cached token, auth() refreshes once and token() reads the new token."""
    stack = counted.stack
    ref = stack.task_queue
    old = await stack.oauth.token(ref)
    company_id = (await stack.oauth.status(ref)).company_id
    await stack.http.post("/sandbox/access-tokens/expire", json={"company_id": company_id})
    async with httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth(ref)) as api:
        response = await api.get("/v1/companies")
    assert response.status_code == 200
    new = await stack.oauth.token(ref)
    assert new.access_token != old.access_token
    assert response.request.headers["Authorization"] == f"Bearer {new.access_token}"
    assert counted.seen() == {"query": 2, "update": 1}  # token, status, the 401's refresh; then cached
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_offboard_evicts_the_token(counted: Counted) -> None:
    """After offboarding, token() asks Temporal again and fails instead of handing out the cached token."""
    oauth, ref = counted.stack.oauth, counted.stack.task_queue
    await oauth.token(ref)
    await oauth.offboard(ref)
    with pytest.raises(NotFoundError, match="no onboarding workflow"):
        await oauth.token(ref)


async def test_onboarding_again_evicts_the_token(counted: Counted) -> None:
    """``onboard`` (a renewal or a pin may change the consent) makes the next token() ask Temporal again."""
    oauth, ref = counted.stack.oauth, counted.stack.task_queue
    first = await oauth.token(ref)
    await oauth.onboard(ref, renew=True)
    assert await oauth.token(ref) == first
    assert counted.seen()["query"] == 2


async def test_a_new_consent_evicts_the_old_token(counted: Counted) -> None:
    """After a revocation and a new consent through ``complete_consent``, token() reads the new token."""
    stack = counted.stack
    oauth, ref = stack.oauth, stack.task_queue
    old = await oauth.token(ref)
    company_id = (await oauth.status(ref)).company_id
    await stack.http.post(f"/sandbox/companies/{company_id}/revoke", json={})
    with pytest.raises(NotReadyError, match="consent was revoked"):
        await oauth._ensure_fresh(ref, FreshnessRequest(min_ttl_seconds=TTL + 60))  # past the cache
    revoked = await oauth.status(ref)
    link = Onboarding(ref, revoked.phase, None, None, authorize_url=revoked.authorize_url)
    assert (await oauth.complete_consent(await stack.approve(link))).phase is Phase.ACTIVE
    new = await oauth.token(ref)
    assert new.access_token != old.access_token
    assert await stack.stats() == {"authorization_code": 2, "refresh_token": 1}


async def test_a_context_has_one_api_whose_cache_the_setting_sizes() -> None:
    """``ctx.oauth`` is one API for the process context, its token cache sized by the setting."""
    env = {"REMOTE_OAUTH_CODEC_KEYS": TEST_KEYS, "REMOTE_OAUTH_TOKEN_CACHE_SIZE": "250"}
    ctx = await load(env, lazy=True)
    assert ctx.oauth is ctx.oauth
    assert repr(ctx.oauth._tokens) == "TokenCache(entries=0, max_entries=250)"
