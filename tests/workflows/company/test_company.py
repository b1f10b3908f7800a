"""The company consent lifecycle, on the time-skipping server against the sandbox over 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from tests.support.stack import CLIENT_ID, REDIRECT_URI, TTL, Stack, make_stack
from workflows.company import CompanyConsentWorkflow
from workflows.types.company import Callback, CompanyStatus, FreshnessRequest, Phase
from workflows.types.errors import ErrorType, NotReadyError

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""


async def history_length(handle: WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]) -> int:
    return len((await handle.fetch_history()).events)


async def accepted_updates(handle: WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]) -> int:
    """Updates the workflow accepted; a rejected one never appears (validators run before history)."""
    history = await handle.fetch_history()
    accepted = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    return sum(1 for event in history.events if event.event_type == accepted)


async def test_onboard_callback_active(stack: Stack) -> None:
    """Onboarding gives a connect link; the approved callback exchanges the code and the company is active."""
    link = await stack.oauth.onboard("acme")
    assert link.phase is Phase.AWAITING_CONSENT
    assert link.authorize_url is not None
    assert link.authorize_url.startswith(f"{stack.sandbox.url}{SPEC.authorize.path}?")
    query = parse_qs(urlsplit(link.authorize_url).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["response_type"] == ["code"]

    result = await stack.oauth.complete_consent(await stack.approve(link))
    assert (result.phase, result.message) == (Phase.ACTIVE, "connected")

    status = await stack.oauth.status("acme")
    companies = (await stack.http.get("/sandbox/companies")).json()["companies"]
    assert [(c["id"], c["user_ids"]) for c in companies] == [(status.company_id, [status.user_id])]
    assert status.phase is Phase.ACTIVE
    assert status.authorize_url is None
    token = await stack.oauth.token("acme")
    introspection = (await stack.http.post("/sandbox/introspect", json={"token": token.access_token})).json()
    assert introspection["active"] is True
    assert introspection["company_id"] == status.company_id
    assert await stack.stats() == {"authorization_code": 1}


async def test_duplicate_onboarding_joins_one_workflow(stack: Stack) -> None:
    """Onboarding the same company twice gives one workflow run and the same consent state (each call mints
    its own signed connect link)."""
    first = await stack.oauth.onboard("dup")
    run_id = (await stack.handle("dup").describe()).run_id
    second = await stack.oauth.onboard("dup")
    assert (second.authorize_url, second.phase) == (first.authorize_url, first.phase)
    assert None not in (first.connect_url, second.connect_url)
    assert (await stack.handle("dup").describe()).run_id == run_id


async def test_thirty_days_of_hourly_tokens(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """30 days of 75-minute tokens: exactly 720 refreshes, bounded history per run, always a valid token."""
    # 720 refreshes take seconds of real time: lift the sandbox's per-minute limit for this run.
    config = SandboxConfig(auto_approve=True, token_ttl=TTL, rate_limit_per_minute=100_000)
    async with make_stack(own_time_skipping_env, task_queue, config=config) as stack:
        await _thirty_days(stack)


async def _thirty_days(stack: Stack) -> None:
    await stack.connect("longlived")
    handle = stack.handle("longlived")
    for day in range(1, 31):
        await stack.env.sleep(timedelta(days=1))
        token = await stack.oauth.token("longlived", min_ttl=0)
        now = await stack.env.get_current_time()
        assert token.expires_at - now >= timedelta(minutes=15), f"day {day}"
    # Workflow time also moves by each refresh's real duration (milliseconds, 720 times): ten more
    # minutes covers that drift and is still 50 minutes short of the 721st refresh.
    await stack.env.sleep(timedelta(minutes=10))
    status = await stack.oauth.status("longlived")
    assert status.phase is Phase.ACTIVE
    assert status.refreshes == 720
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 720}
    # Each run holds at most 100 refresh cycles (continue-as-new), so no run's history grows with time.
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.continued_execution_run_id != ""
    assert len(history.events) <= 1200


async def test_revoked_consent_then_reconsent(stack: Stack) -> None:
    """A revoked consent is noticed at the next refresh; a new link brings the same workflow back to active."""
    await stack.connect("revokee")
    status = await stack.oauth.status("revokee")
    run_id = (await stack.handle("revokee").describe()).run_id
    revoked = await stack.http.post(f"/sandbox/companies/{status.company_id}/revoke", json={})
    assert revoked.status_code == 200
    await stack.env.sleep(timedelta(hours=1, minutes=1))

    status = await stack.oauth.status("revokee")
    assert status.phase is Phase.CONSENT_REVOKED
    assert status.last_error_type == "InvalidGrant"
    assert status.authorize_url is not None
    with pytest.raises(NotReadyError, match="consent was revoked"):
        await stack.oauth.token("revokee")

    link = await stack.oauth.onboard("revokee")
    assert link.authorize_url == status.authorize_url
    result = await stack.oauth.complete_consent(await stack.approve(link))
    assert result.phase is Phase.ACTIVE
    assert (await stack.handle("revokee").describe()).run_id == run_id
    assert (await stack.oauth.status("revokee")).last_error is None


async def test_denied_consent_opens_a_new_link(stack: Stack) -> None:
    """access_denied moves to consent_denied with a fresh link; the old state is spent."""
    link = await stack.oauth.onboard("denier")
    callback = await stack.approve(link)
    result = await stack.oauth.complete_consent(Callback(state=callback.state, error="access_denied"))
    assert result.phase is Phase.CONSENT_DENIED
    status = await stack.oauth.status("denier")
    assert status.phase is Phase.CONSENT_DENIED
    assert status.authorize_url not in (None, link.authorize_url)
    with pytest.raises(NotReadyError, match="wrong, reused or replaced"):
        await stack.oauth.complete_consent(callback)
    assert await stack.stats() == {}


async def test_bad_callbacks_write_nothing(dev_stack: Stack) -> None:
    """A wrong or reused state, or a callback with no code, is rejected before history is written."""
    stack = dev_stack
    ref = f"strict-{stack.task_queue}"
    link = await stack.oauth.onboard(ref)
    callback = await stack.approve(link)
    handle = stack.handle(ref)
    before = await history_length(handle)
    with pytest.raises(NotReadyError, match="wrong, reused or replaced"):
        await stack.oauth.complete_consent(Callback(state=f"{ref}.forged-nonce", code=callback.code))
    with pytest.raises(NotReadyError, match="neither a code nor an error"):
        await stack.oauth.complete_consent(Callback(state=callback.state))
    assert await history_length(handle) == before
    assert await accepted_updates(handle) == 1  # only onboarding's connect_link

    assert (await stack.oauth.complete_consent(callback)).phase is Phase.ACTIVE
    after = await history_length(handle)
    with pytest.raises(NotReadyError, match="not waiting for consent"):
        await stack.oauth.complete_consent(callback)
    assert await history_length(handle) == after
    assert await stack.stats() == {"authorization_code": 1}


async def test_expired_state_is_rejected(stack: Stack) -> None:
    """A callback after the link's lifetime is rejected without touching the token endpoint."""
    link = await stack.oauth.onboard("slow")
    callback = await stack.approve(link)
    await stack.env.sleep(timedelta(minutes=16))
    with pytest.raises(NotReadyError, match="expired") as err:
        await stack.oauth.complete_consent(callback)
    assert err.value.kind == ErrorType.CONSENT_STATE_EXPIRED  # what the callback page branches on
    assert await accepted_updates(stack.handle("slow")) == 1  # only onboarding's connect_link
    renewed = await stack.oauth.onboard("slow")
    assert renewed.authorize_url not in (None, link.authorize_url)
    assert await stack.stats() == {}


async def test_concurrent_ensure_fresh_refreshes_once(stack: Stack) -> None:
    """Twenty callers asking for a longer-lived token at once cause exactly one refresh."""
    await stack.connect("busy")
    before = await stack.oauth.token("busy")
    # Ten minutes on, the token has 65 left: asking for 70 forces one refresh, whose new 75-minute token
    # satisfies every other caller, whenever its request arrives. (The update itself: the API's client-side
    # freshness check reads the real clock, which time skipping leaves behind.)
    await stack.env.sleep(timedelta(minutes=10))
    ask = FreshnessRequest(min_ttl_seconds=70 * 60)
    handle = stack.handle("busy")
    tokens = await asyncio.gather(
        *(handle.execute_update(CompanyConsentWorkflow.ensure_fresh, ask) for _ in range(20))
    )
    assert {t.access_token for t in tokens} != {before.access_token}
    assert len({t.access_token for t in tokens}) == 1
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_rejected_token_refreshes_once(stack: Stack) -> None:
    """A 401 reported for the current token refreshes it; reporting the same old token again does not."""
    await stack.connect("unauthorized")
    old = await stack.oauth.token("unauthorized")
    new = await stack.oauth.token_after_rejection("unauthorized", old)
    again = await stack.oauth.token_after_rejection("unauthorized", old)
    assert new.access_token != old.access_token
    assert again == new
    assert await stack.stats() == {"authorization_code": 1, "refresh_token": 1}


async def test_offboard_ends_the_workflow(stack: Stack) -> None:
    """Offboarding forgets the token and completes the workflow."""
    await stack.connect("leaver")
    final = await stack.oauth.offboard("leaver", reason="contract ended")
    assert final.phase is Phase.OFFBOARDED
    assert final.expires_at is None
    description = await stack.handle("leaver").describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED


async def test_worker_killed_mid_exchange(dev_server_env: WorkflowEnvironment, task_queue: str) -> None:
    """The exchange is retrying when the worker stops; a new worker picks it up and the company connects.

    On the dev server: a real server moves the dead worker's sticky workflow tasks back to the shared queue.
    """
    async with make_stack(dev_server_env, task_queue, start_workers=False) as stack:
        oauth, http = stack.oauth, stack.http
        async with stack.workers():
            callback = await stack.approve(await oauth.onboard(f"phoenix-{task_queue}"))
            await http.post("/sandbox/faults", json={"kind": "http_503", "count": 2})
            pending = asyncio.create_task(oauth.complete_consent(callback))
            deadline = asyncio.get_running_loop().time() + 10
            while (await stack.stats()).get("authorization_code", 0) < 1:
                assert asyncio.get_running_loop().time() < deadline, "the exchange never reached the sandbox"
                await asyncio.sleep(0.01)
        assert not pending.done()
        async with stack.workers():
            result = await asyncio.wait_for(pending, timeout=30)
        assert result.phase is Phase.ACTIVE
        assert await stack.stats() == {"authorization_code": 3}
