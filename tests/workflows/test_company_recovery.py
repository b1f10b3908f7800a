"""When things go wrong for a company: misconfiguration and recovery, webhook events, the on-demand policy."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.conftest import api_token_cache
from tests.workflows.test_company import (
    CLIENT_ID,
    CLIENT_SECRET,
    CONNECT_KEY,
    EXACT,
    REDIRECT_URI,
    TTL,
    Stack,
)
from worker.api.companies import RemoteOAuth
from worker.runner import WorkerOptions, running_workers
from workflows.company import CompanyConsentWorkflow
from workflows.io.connect_session import ConnectKeys
from workflows.io.notify import verify
from workflows.io.settings import Settings
from workflows.types.company import CompanySettings, FreshnessRequest, Phase, RefreshPolicy

WEBHOOK_SECRET = "webhook-secret-for-tests-only"


@dataclass
class Receiver:
    """A partner's webhook endpoint on 127.0.0.1 that keeps what it was sent."""

    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    authentic: list[bool] = field(default_factory=list)

    async def wait_for(self, count: int) -> list[str]:
        deadline = asyncio.get_running_loop().time() + 10
        while len(self.events) < count:
            assert asyncio.get_running_loop().time() < deadline, f"webhook got {self.names()}"
            await asyncio.sleep(0.01)
        return self.names()

    def names(self) -> list[str]:
        return [event["event"] for event in self.events]


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()

    async def hook(request: Request) -> Response:
        body = await request.body()
        got.authentic.append(
            verify(
                WEBHOOK_SECRET,
                request.headers["x-remote-oauth-timestamp"],
                body,
                request.headers["x-remote-oauth-signature"],
            )
        )
        got.events.append(json.loads(body))
        return Response(status_code=204)

    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]), port=0, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.005)
    got.url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/hook"
    try:
        yield got
    finally:
        server.should_exit = True
        await task


def worker_settings(sandbox: RunningSandbox, hook: Receiver, *, secret: str = CLIENT_SECRET) -> Settings:
    return Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": CLIENT_ID,
            "REMOTE_CLIENT_SECRET": secret,
            "REMOTE_REDIRECT_URI": REDIRECT_URI,
            "REMOTE_OAUTH_WEBHOOK_URL": hook.url,
            "REMOTE_OAUTH_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REMOTE_OAUTH_CONNECT_KEYS": CONNECT_KEY,
        }
    )


@dataclass(frozen=True)
class Scene:
    stack: Stack
    hook: Receiver
    opts: WorkerOptions

    def workers(self, *, secret: str = CLIENT_SECRET) -> contextlib.AbstractAsyncContextManager[object]:
        settings = worker_settings(self.stack.sandbox, self.hook, secret=secret)
        return running_workers(self.stack.env.client, settings, self.opts)


@contextlib.asynccontextmanager
async def scene(
    env: WorkflowEnvironment, task_queue: str, settings: CompanySettings = EXACT
) -> AsyncIterator[Scene]:
    config = SandboxConfig(auto_approve=True, token_ttl=TTL)
    async with (
        running_sandbox(config) as sandbox,
        receiver() as hook,
        httpx.AsyncClient(base_url=sandbox.url) as http,
    ):
        oauth = RemoteOAuth(
            env.client, task_queue=task_queue, company_settings=settings, token_cache=api_token_cache(env)
        )
        stack = Stack(env=env, sandbox=sandbox, oauth=oauth, http=http, task_queue=task_queue)
        opts = WorkerOptions(
            task_queue=task_queue,
            token_task_queue=task_queue,
            graceful_shutdown_seconds=0,
            max_cached_workflows=0,
        )
        yield Scene(stack=stack, hook=hook, opts=opts)


async def test_wrong_secret_during_refresh_then_fixed(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A refresh refused for a wrong secret makes the company misconfigured; fixed and retried, it recovers."""
    async with scene(own_time_skipping_env, task_queue) as sc:
        async with sc.workers():
            await sc.stack.connect("fixme")
        async with sc.workers(secret="a-wrong-secret-value"):
            await sc.stack.env.sleep(timedelta(hours=1, minutes=1))
            status = await sc.stack.oauth.status("fixme")
            assert status.phase is Phase.MISCONFIGURED
            assert status.last_error_type == "InvalidClient"
            assert await sc.hook.wait_for(1) == ["misconfigured"]
        async with sc.workers():
            await sc.stack.oauth.retry("fixme")
            deadline = asyncio.get_running_loop().time() + 10
            while (await sc.stack.oauth.status("fixme")).phase is not Phase.ACTIVE:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            assert await sc.hook.wait_for(2) == ["misconfigured", "recovered"]
            status = await sc.stack.oauth.status("fixme")
        assert (status.refreshes, status.last_error) == (1, None)
        assert sc.hook.authentic == [True, True]
        assert sc.hook.events[0]["company_ref"] == "fixme"
        assert CLIENT_SECRET not in json.dumps(sc.hook.events)


async def test_wrong_secret_at_exchange_opens_a_new_link(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A code exchange refused for a wrong secret is misconfigured; retry after the fix opens a new link."""
    async with scene(own_time_skipping_env, task_queue) as sc:
        async with sc.workers(secret="a-wrong-secret-value"):
            link = await sc.stack.oauth.onboard("newbie")
            result = await sc.stack.oauth.complete_consent(await sc.stack.approve(link))
            assert result.phase is Phase.MISCONFIGURED
            assert "REMOTE_CLIENT_SECRET" in result.message or "client" in result.message
        async with sc.workers():
            await sc.stack.oauth.retry("newbie")
            deadline = asyncio.get_running_loop().time() + 10
            while (status := await sc.stack.oauth.status("newbie")).phase is not Phase.AWAITING_CONSENT:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            assert status.authorize_url not in (None, link.authorize_url)
            again = await sc.stack.oauth.complete_consent(
                await sc.stack.approve(await sc.stack.oauth.onboard("newbie"))
            )
            assert again.phase is Phase.ACTIVE


async def test_revocation_is_announced(own_time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    """Revoked consent sends a signed `revoked` event carrying the new connect link; offboarding one too."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        status = await sc.stack.connect("noisy")
        await sc.stack.http.post(f"/sandbox/companies/{status.company_id}/revoke", json={})
        await sc.stack.env.sleep(timedelta(hours=1, minutes=1))
        assert await sc.hook.wait_for(1) == ["revoked"]
        revoked = await sc.stack.oauth.status("noisy")
        assert revoked.authorize_url is not None
        # A signed connect link on the partner's web app, not Remote's authorize URL with the state in it.
        link = httpx.URL(sc.hook.events[0]["connect_url"])
        assert str(link).startswith("http://127.0.0.1:8000/connect/noisy?session=")
        assert revoked.authorize_url.split("state=")[1] not in str(link)
        keys = ConnectKeys.parse(CONNECT_KEY)
        assert keys.verify("noisy", link.params["session"], now=datetime.now(UTC))
        assert not keys.verify("other", link.params["session"], now=datetime.now(UTC))
        assert sc.hook.events[0]["remote_company_id"] == status.company_id
        await sc.stack.oauth.offboard("noisy")
        assert await sc.hook.wait_for(2) == ["revoked", "offboarded"]
        assert sc.hook.authentic == [True, True]


async def test_on_demand_refreshes_only_when_asked(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """On-demand companies refresh when a stale token is asked for, plus one keep-alive a day; never on a timer."""
    on_demand = CompanySettings(refresh_policy=RefreshPolicy.ON_DEMAND)
    async with scene(own_time_skipping_env, task_queue, on_demand) as sc, sc.workers():
        await sc.stack.connect("lazy")
        await sc.stack.env.sleep(timedelta(hours=3))
        assert await sc.stack.stats() == {"authorization_code": 1}
        # The workflow's own check (the API's client-side cache reads the real clock, not skipped time).
        ask = FreshnessRequest(min_ttl_seconds=60)
        token = await sc.stack.handle("lazy").execute_update(CompanyConsentWorkflow.ensure_fresh, ask)
        assert await sc.stack.stats() == {"authorization_code": 1, "refresh_token": 1}
        assert token.expires_at - await sc.stack.env.get_current_time() > timedelta(hours=1)
        await sc.stack.env.sleep(timedelta(hours=24, minutes=5))
        assert await sc.stack.stats() == {"authorization_code": 1, "refresh_token": 2}


async def test_lost_refresh_response_without_rotation_loses_nothing(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The gateway refreshes, the connection drops before the answer: the retry with the same token works."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        await sc.stack.connect("dropped")
        fault = {"kind": "commit_then_drop", "count": 1, "grant_type": "refresh_token"}
        assert (await sc.stack.http.post("/sandbox/faults", json=fault)).status_code == 200
        await sc.stack.env.sleep(timedelta(hours=1, minutes=1))
        status = await sc.stack.oauth.status("dropped")
        assert (status.phase, status.refreshes) == (Phase.ACTIVE, 1)
        assert await sc.stack.stats() == {"authorization_code": 1, "refresh_token": 2}
        assert sc.hook.events == []


async def test_lost_refresh_response_with_strict_rotation_is_reported(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """With strict rotation the lost answer retired the token: revoked, and the reason says a response was lost."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        await sc.stack.http.post("/sandbox/settings", json={"refresh_rotation": "strict"})
        await sc.stack.connect("rotated")
        fault = {"kind": "commit_then_drop", "count": 1, "grant_type": "refresh_token"}
        assert (await sc.stack.http.post("/sandbox/faults", json=fault)).status_code == 200
        await sc.stack.env.sleep(timedelta(hours=1, minutes=1))
        status = await sc.stack.oauth.status("rotated")
        assert status.phase is Phase.CONSENT_REVOKED
        assert status.last_error is not None
        assert "response was probably lost after the gateway rotated the refresh token" in status.last_error
        assert await sc.hook.wait_for(1) == ["revoked"]
        assert "probably lost" in sc.hook.events[0]["detail"]
