"""``KeyRotation`` and the key ids it reads: found anywhere in an event, never decrypted, and a rotation that
cannot finish says why. ``carry_forward`` changes nothing a caller can see (same token, same schedule, same
counters, same open consent)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.common.v1 import Header, Payload, Payloads
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from tests.record_histories import carry_forward
from tests.support.stack import CLIENT_ID, TTL, Stack, make_stack
from worker.api import KeyHolder, KeyRotation, RemoteOAuth, TokenCache
from worker.runner import running_workers
from worker.temporal import with_converter
from workflows.assertion_tokens import AssertionTokenWorkflow, assertion_workflow_id
from workflows.io.codec import ENCODING, KEY_ID_METADATA, Keyring, data_converter
from workflows.io.key_ids import key_ids
from workflows.partner import PartnerTokenWorkflow
from workflows.types.company import Phase, company_workflow_id
from workflows.types.kept_token import CARRY_FORWARD_SIGNAL, CarryForward
from workflows.types.partner import (
    PartnerInput,
    PartnerPhase,
    StopPartnerToken,
    partner_key,
    partner_workflow_id,
)

OLD = "2026-05:Xb6sfxafdYzyfowlIYuiRwC6WWcQxHqIY8o7bXUPxrw="
NEW = "2026-11:iUNZFiySnPozEypd5m4KCSBP35YWWWPtCUIjoUGF/Ho="


def _sealed(kid: str) -> Payload:
    return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: kid.encode()}, data=b"\0" * 40)


def test_key_ids_are_found_at_any_depth() -> None:
    """Inputs, header maps and a failure's cause's encoded attributes all count; plain payloads name none."""
    started = HistoryEvent()
    attributes = started.workflow_execution_started_event_attributes
    attributes.input.CopyFrom(
        Payloads(payloads=[_sealed("a"), Payload(metadata={"encoding": b"json/plain"})])
    )
    attributes.header.CopyFrom(Header(fields={"trace": _sealed("b")}))
    failed = HistoryEvent()
    failure = failed.workflow_execution_failed_event_attributes.failure
    failure.CopyFrom(Failure(message="Encoded failure", cause=Failure(encoded_attributes=_sealed("c"))))
    assert key_ids([started, failed]) == {"a", "b", "c"}
    assert key_ids([HistoryEvent()]) == frozenset()


async def test_a_worker_without_the_new_key_is_named(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Carried forward by a worker that lists the new key after the old (so still encrypts with the old one):
    reported, and done once the new key comes first."""
    async with make_stack(dev_server_env, task_queue, start_workers=False, max_cached_workflows=0) as stack:
        old_client = with_converter(stack.client, data_converter(Keyring.parse(f"{OLD},{NEW}")))
        both = Keyring.parse(f"{NEW},{OLD}")
        both_client = with_converter(stack.client, data_converter(both))
        rotation = KeyRotation(both_client, both, task_queue=task_queue)
        oauth = RemoteOAuth(
            old_client, task_queue=task_queue, client_id=stack.settings.client_id, token_cache=TokenCache(0)
        )
        # Its own scope: its workflow id is no other test's (a running one would be joined).
        scope = "rotation:stale_worker"
        workflow_id = partner_workflow_id(partner_key(stack.settings.client_id or "", scope))
        async with running_workers(old_client, stack.settings, stack.worker_options):
            await oauth.partner_token(scope)
            stale = await rotation.rotate(wait=timedelta(seconds=30))
        (holder,) = stale.holders
        assert holder == KeyHolder(
            workflow_id=workflow_id,
            workflow_type="PartnerToken",
            run_id=holder.run_id,
            key_ids=("2026-05",),
            reason="carried forward, but its worker encrypts with 2026-05: give every worker 2026-11 first, "
            "then run rotate-keys again",
        )
        assert (stale.running, stale.done, stale.carried) == (1, 0, 0)
        async with running_workers(both_client, stack.settings, stack.worker_options):
            finished = await rotation.rotate(wait=timedelta(seconds=30))
            assert await rotation.older_key_ids(workflow_id) == ()
            await oauth.partner_stop(scope)
        assert (finished.running, finished.done, finished.carried, finished.holders) == (1, 1, 1, ())


async def test_a_company_keeps_its_token_schedule_and_open_link(stack: Stack) -> None:
    """An active company keeps its token and next refresh; one awaiting consent keeps its link and deadline."""
    await stack.connect("carried")
    await stack.env.sleep(timedelta(seconds=TTL))  # one timer refresh, so the counters are not all zero
    before, token = await stack.oauth.status("carried"), await stack.oauth.token("carried")
    link = await stack.oauth.onboard("carried-waiting")
    waiting = await stack.oauth.status("carried-waiting")
    await carry_forward(stack, company_workflow_id("carried"))
    await carry_forward(stack, company_workflow_id("carried-waiting"))
    assert await stack.oauth.status("carried") == before
    assert before.refreshes == 1
    assert await stack.oauth.token("carried") == token
    assert await stack.oauth.status("carried-waiting") == waiting
    result = await stack.oauth.complete_consent(await stack.approve(link))
    assert result.phase is Phase.ACTIVE, result.message


async def test_partner_and_assertion_tokens_keep_what_they_had(stack: Stack) -> None:
    """The partner token keeps its token and status; the assertion cache its token and its mint count."""
    partner = await stack.oauth.partner_token()
    status = await stack.oauth.partner_status()
    await carry_forward(stack, partner_workflow_id(partner_key(CLIENT_ID, None)))
    assert await stack.oauth.partner_status() == status
    assert await stack.oauth.partner_token() == partner

    await stack.connect("carried-admin")
    minted = await stack.oauth.assertion_token("carried-admin")
    subject = await stack.oauth.assertion_subject("carried-admin")
    moved = await carry_forward(stack, assertion_workflow_id(subject, None))
    handle = stack.client.get_workflow_handle_for(AssertionTokenWorkflow.run, moved.id)
    assert await handle.query(AssertionTokenWorkflow.current_token) == minted
    assert await handle.query(AssertionTokenWorkflow.mints) == 1
    await stack.oauth.partner_stop()


async def test_a_stop_sent_with_carry_forward_is_not_lost(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Both signalled during the first grant: the stop ends the workflow instead of being dropped by the
    continue-as-new that carry_forward asks for."""
    async with make_stack(dev_server_env, task_queue, start_workers=False, max_cached_workflows=0) as stack:
        scope = "rotation:stop"
        start = PartnerInput(key=partner_key(CLIENT_ID, scope), scope=scope)
        # No worker yet: both signals reach the first workflow task, and the run begins with its grant.
        handle = await stack.client.start_workflow(
            PartnerTokenWorkflow.run, start, id=partner_workflow_id(start.key), task_queue=task_queue
        )
        await handle.signal(CARRY_FORWARD_SIGNAL, CarryForward())
        await handle.signal(PartnerTokenWorkflow.stop, StopPartnerToken())
        async with stack.workers():
            final = await asyncio.wait_for(handle.result(), 30)
        assert (final.phase, final.refreshes) == (PartnerPhase.STOPPED, 1)
