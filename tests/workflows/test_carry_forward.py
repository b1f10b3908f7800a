"""``carry_forward``: each token workflow continues as new with everything it knew, so a rotation changes
nothing a caller can see (same token, same schedule, same counters, same open consent)."""

from __future__ import annotations

from datetime import timedelta

from tests.record_histories import carry_forward
from tests.support.stack import CLIENT_ID, TTL, Stack
from workflows.assertion_tokens import AssertionTokenWorkflow, assertion_workflow_id
from workflows.types.company import Phase, company_workflow_id
from workflows.types.partner import partner_key, partner_workflow_id


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
