"""When things go wrong for a company: misconfiguration and recovery, webhook events, the on-demand policy."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.support.scene import scene
from tests.support.stack import CLIENT_SECRET, CONNECT_KEY
from workflows.company import CompanyConsentWorkflow
from workflows.io.connect_session import ConnectKeys
from workflows.types.company import CompanySettings, FreshnessRequest, Phase, RefreshPolicy


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
        await sc.stack.connect("noisy")
        status = await sc.stack.oauth.status("noisy")
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
