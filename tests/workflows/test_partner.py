"""Partner tokens (client credentials): days of refreshes, single-flight, and the misconfigured state."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from bench.stack import running_stack, settings_for
from sandbox.config import SandboxConfig
from workflows.partner import PartnerTokenWorkflow
from workflows.schedule import RefreshTiming
from workflows.types.errors import NotReadyError
from workflows.types.partner import PartnerPhase, PartnerSettings

TTL = 4500
"""75-minute tokens: with no jitter, a grant every hour exactly."""
EXACT = PartnerSettings(timing=RefreshTiming(max_jitter_seconds=0), cycles_per_run=30)


async def test_three_days_of_hourly_partner_tokens(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Three days of 75-minute partner tokens: exactly 1 + 72 client-credentials grants, always a valid token."""
    env = own_time_skipping_env
    config = SandboxConfig(token_ttl=TTL, rate_limit_per_minute=100_000)
    async with running_stack(env, config, task_queue=task_queue, partner_settings=EXACT) as stack:
        oauth, http = stack.oauth, stack.http
        first = await oauth.partner_token()
        introspection = (await http.post("/sandbox/introspect", json={"token": first.access_token})).json()
        assert (introspection["kind"], introspection["active"]) == ("partner", True)
        # Half an hour in, so each daily check falls mid-cycle rather than on a refresh's due time.
        await env.sleep(timedelta(minutes=30))
        for day in range(1, 4):
            await env.sleep(timedelta(days=1))
            token = await oauth.partner_token(min_ttl=0)
            assert token.expires_at - await env.get_current_time() >= timedelta(minutes=15), f"day {day}"
        # Workflow time also moves by each grant's real duration: a few minutes cover that drift.
        await env.sleep(timedelta(minutes=5))
        status = await oauth.partner_status()
        assert (status.phase, status.refreshes) == (PartnerPhase.ACTIVE, 73)
        assert await stack.stats() == {"client_credentials": 73}
        handle = env.client.get_workflow_handle_for(
            PartnerTokenWorkflow.run, f"remote-oauth-partner:{status.key}"
        )
        history = await handle.fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.continued_execution_run_id != ""  # 30 grants per run, then continue-as-new


async def test_concurrent_partner_callers_grant_once(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Twenty callers at once, then twenty reporting the same 401: one grant each time."""
    env = own_time_skipping_env
    async with running_stack(env, SandboxConfig(token_ttl=TTL), task_queue=task_queue) as stack:
        oauth = stack.oauth
        tokens = await asyncio.gather(*(oauth.partner_token() for _ in range(20)))
        assert len({t.access_token for t in tokens}) == 1
        assert await stack.stats() == {"client_credentials": 1}
        replaced = await asyncio.gather(*(oauth.partner_token_after_rejection(tokens[0]) for _ in range(20)))
        assert len({t.access_token for t in replaced} | {tokens[0].access_token}) == 2
        assert await stack.stats() == {"client_credentials": 2}


async def test_wrong_secret_is_misconfigured_until_fixed(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A refused secret leaves the token misconfigured; after the fix, a retry signal brings it back."""
    env = dev_server_env
    config = SandboxConfig(client_id=f"partner-{uuid.uuid4().hex[:12]}", token_ttl=TTL)
    async with running_stack(
        env, config, task_queue=task_queue, max_cached_workflows=0, start_workers=False
    ) as stack:
        oauth, http = stack.oauth, stack.http
        async with stack.workers(settings_for(stack.sandbox, REMOTE_CLIENT_SECRET="wrong-secret")):
            with pytest.raises(NotReadyError, match="misconfigured") as err:
                await oauth.partner_token()
            assert "wrong-secret" not in str(err.value)
            status = await oauth.partner_status()
            assert (status.phase, status.last_error_type, status.refreshes) == (
                PartnerPhase.MISCONFIGURED,
                "InvalidClient",
                0,
            )
            with pytest.raises(NotReadyError, match="misconfigured"):
                await oauth.partner_token()  # rejected by the validator: no new request
            assert await stack.stats() == {"client_credentials": 1}
        async with stack.workers():
            await oauth.partner_retry()
            deadline = asyncio.get_running_loop().time() + 10
            while (await oauth.partner_status()).phase is not PartnerPhase.ACTIVE:
                assert asyncio.get_running_loop().time() < deadline, "the retry never succeeded"
                await asyncio.sleep(0.05)
            token = await oauth.partner_token()
            introspection = (
                await http.post("/sandbox/introspect", json={"token": token.access_token})
            ).json()
            assert (introspection["kind"], introspection["client_id"]) == ("partner", config.client_id)
            assert await stack.stats() == {"client_credentials": 2}


async def test_a_stopped_partner_token_makes_no_more_grants(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Stop ends the workflow (no grants while stopped); asking again later starts a new one."""
    env = own_time_skipping_env
    async with running_stack(env, SandboxConfig(token_ttl=TTL), task_queue=task_queue) as stack:
        oauth = stack.oauth
        first = await oauth.partner_token("company:read")
        final = await oauth.partner_stop("company:read")
        assert (final.phase, final.refreshes, final.expires_at) == (PartnerPhase.STOPPED, 1, None)
        await env.sleep(timedelta(hours=5))
        assert await stack.stats() == {"client_credentials": 1}
        again = await oauth.partner_token("company:read")
        assert again.access_token != first.access_token
        assert await stack.stats() == {"client_credentials": 2}
        assert (await oauth.partner_status("company:read")).phase is PartnerPhase.ACTIVE
        await oauth.partner_stop("company:read")
