"""Record one history per workflow type into tests/histories/, for replay tests of later versions.

Run ``python -m tests.record_histories VERSION [SCENARIO ...]`` when a workflow's released behaviour changes: keep the old files
(they prove new code still replays old histories) and add the new ones under a new name.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowContinuedAsNewError, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from bench.stack import time_skipping_server
from sandbox.config import SandboxConfig
from tests.support.sandbox import connect
from tests.support.stack import CLIENT_ID, TTL, Stack, make_stack
from tests.support.temporal import TEST_KEYS
from worker.api import ImportedCompany, ImportResult
from worker.temporal import test_server_binary
from workflows.assertion_tokens import assertion_workflow_id
from workflows.io.codec import Keyring
from workflows.magic_link import MagicLinkRequest, MagicLinkWorkflow
from workflows.partner import PartnerTokenWorkflow
from workflows.types.activity import MagicLinkInput
from workflows.types.company import Callback, FreshnessRequest, Phase, company_workflow_id
from workflows.types.errors import ErrorType, NotReadyError
from workflows.types.kept_token import CARRY_FORWARD_SIGNAL, CarryForward
from workflows.types.partner import (
    PartnerInput,
    PartnerMemory,
    PartnerPhase,
    partner_key,
    partner_workflow_id,
)

HISTORIES = Path(__file__).parent / "histories"


async def company_lifecycle(stack: Stack) -> WorkflowHistory:
    """Consent, refreshes, a forced refresh refused for asking more than tokens live, revocation,
    re-consent after a denial, offboarding."""
    link = await stack.oauth.onboard("replay")
    await stack.oauth.complete_consent(await stack.approve(link))
    await stack.env.sleep(timedelta(hours=2, minutes=5))
    await stack.oauth.token("replay", min_ttl=TTL + 60)
    refused = None
    try:  # straight to the update: asking more than the gateway's tokens live is refused after the refresh
        await stack.oauth._ensure_fresh("replay", FreshnessRequest(min_ttl_seconds=TTL + 60))
    except NotReadyError as err:
        refused = err.kind
    assert refused == ErrorType.TOKEN_UNAVAILABLE, refused
    status = await stack.oauth.status("replay")
    await stack.http.post(f"/sandbox/companies/{status.company_id}/revoke", json={})
    await stack.env.sleep(timedelta(hours=1, minutes=5))
    revoked = await stack.oauth.onboard("replay")
    denied = await stack.approve(revoked)
    await stack.oauth.complete_consent(Callback(state=denied.state, error="access_denied"))
    again = await stack.oauth.onboard("replay")
    result = await stack.oauth.complete_consent(await stack.approve(again))
    assert result.phase is Phase.ACTIVE, result.message
    await stack.oauth.offboard("replay", reason="recorded")
    return await stack.handle("replay").fetch_history()


async def company_pinned(stack: Stack) -> WorkflowHistory:
    """Pinned before consent: another company approves (dropped), a callback with a hostile error code,
    then the right company connects and is offboarded."""
    created = await stack.http.post("/sandbox/companies", json={"name": "Acme Pinned"})
    link = await stack.oauth.onboard("replay-pinned", company_id=created.json()["company_id"])
    refused = await stack.oauth.complete_consent(await stack.approve(link, company_name="Evil Corp"))
    assert refused.phase is Phase.AWAITING_CONSENT, refused.message
    hostile = await stack.approve(await stack.oauth.onboard("replay-pinned"), company_name="Acme Pinned")
    await stack.oauth.complete_consent(Callback(state=hostile.state, error="denied\r\n\x1b[31m"))
    again = await stack.oauth.onboard("replay-pinned")
    result = await stack.oauth.complete_consent(await stack.approve(again, company_name="Acme Pinned"))
    assert result.phase is Phase.ACTIVE, result.message
    await stack.oauth.offboard("replay-pinned", reason="recorded")
    return await stack.handle("replay-pinned").fetch_history()


async def company_expired(stack: Stack) -> WorkflowHistory:
    """Nobody consents: the company ends as expired after its consent wait (30 days by default)."""
    await stack.oauth.onboard("replay-expired")
    await stack.env.sleep(timedelta(days=30, minutes=1))
    final = await stack.handle("replay-expired").result()
    assert final.phase is Phase.EXPIRED
    return await stack.handle("replay-expired").fetch_history()


async def partner_token(stack: Stack) -> WorkflowHistory:
    """A partner token: first grant, two timer refreshes, one forced by a 401 report, then stopped."""
    oauth = stack.oauth
    first = await oauth.partner_token()
    await stack.env.sleep(timedelta(hours=2, minutes=5))
    await oauth.partner_token_after_rejection(await oauth.partner_token(min_ttl=0))
    assert first.access_token
    await oauth.partner_stop()
    handle = stack.env.client.get_workflow_handle(partner_workflow_id(partner_key(CLIENT_ID, None)))
    return await handle.fetch_history()


async def partner_retry(stack: Stack) -> WorkflowHistory:
    """A partner token's run continued as new after its first grant failed: it waits for the retry time it
    carried, then grants (the token answers a caller), and is stopped."""
    now = await stack.env.get_current_time()
    memory = PartnerMemory(
        phase=PartnerPhase.STARTING,
        retry_at=now + timedelta(minutes=1),
        last_error="refresh token request: the gateway answered HTTP 503",
        last_error_type=ErrorType.SERVER_ERROR,
        jitter=0.5,
    )
    start = PartnerInput(key=partner_key(CLIENT_ID, None), memory=memory)
    handle = await stack.env.client.start_workflow(
        PartnerTokenWorkflow.run, start, id=partner_workflow_id(start.key), task_queue=stack.task_queue
    )
    await stack.env.sleep(timedelta(minutes=2))
    assert (await stack.oauth.partner_token()).access_token
    await stack.oauth.partner_stop()
    return await handle.fetch_history()


async def assertion_token(stack: Stack) -> WorkflowHistory:
    """An assertion token for a company's admin: a mint, a cached answer, a re-mint after a 401 report."""
    await stack.connect("replay-assertion")
    oauth = stack.oauth
    token = await oauth.assertion_token("replay-assertion")
    await oauth.assertion_token("replay-assertion")
    await oauth.assertion_auth("replay-assertion")._after_401(token)
    subject = await oauth.assertion_subject("replay-assertion")
    return await stack.env.client.get_workflow_handle(assertion_workflow_id(subject, None)).fetch_history()


async def magic_link(stack: Stack) -> WorkflowHistory:
    """A magic link for a company's admin, through the retrying workflow."""
    await stack.connect("replay-magic")
    status = await stack.oauth.status("replay-magic")
    token = await stack.oauth.token("replay-magic")
    link = MagicLinkInput(access_token=token.access_token, user_id=status.user_id)
    handle = await stack.env.client.start_workflow(
        MagicLinkWorkflow.run,
        MagicLinkRequest(link=link),
        id="replay-magic-link",
        task_queue=stack.task_queue,
    )
    await handle.result()
    return await handle.fetch_history()


async def carry_forward(stack: Stack, workflow_id: str) -> WorkflowHandle[object, object]:
    """Signal ``carry_forward`` (what ``rotate-keys`` sends) and wait for the run it continues as; its handle."""
    current = stack.env.client.get_workflow_handle(workflow_id)
    run_id = (await current.describe()).run_id
    await current.signal(CARRY_FORWARD_SIGNAL, CarryForward())
    try:
        await stack.env.client.get_workflow_handle(workflow_id, run_id=run_id).result(follow_runs=False)
    except WorkflowContinuedAsNewError as moved:
        return stack.env.client.get_workflow_handle(workflow_id, run_id=moved.new_execution_run_id)
    raise AssertionError(f"{workflow_id} ended instead of carrying forward")


async def company_carried(stack: Stack) -> WorkflowHistory:
    """A run that starts from carried state: a refresh forced by a 401 report, then carried forward again."""
    await stack.connect("replay-carried")
    workflow_id = company_workflow_id("replay-carried")
    middle = await carry_forward(stack, workflow_id)
    token = await stack.oauth.token("replay-carried")
    await stack.oauth.token_after_rejection("replay-carried", token)
    await carry_forward(stack, workflow_id)
    await stack.oauth.offboard("replay-carried", reason="recorded")
    return await middle.fetch_history()


async def partner_carried(stack: Stack) -> WorkflowHistory:
    """A partner token's run that starts from carried state: a grant after a 401 report, carried forward again."""
    # Its own scope: a new workflow id even on a server where partner_token's stopped workflow still exists.
    oauth, scope = stack.oauth, "company:read"
    await oauth.partner_token(scope)
    workflow_id = partner_workflow_id(partner_key(CLIENT_ID, scope))
    middle = await carry_forward(stack, workflow_id)
    await oauth.partner_token_after_rejection(await oauth.partner_token(scope, min_ttl=0), scope)
    await carry_forward(stack, workflow_id)
    await oauth.partner_stop(scope)
    return await middle.fetch_history()


async def assertion_carried(stack: Stack) -> WorkflowHistory:
    """An assertion cache's run that starts from carried state (token, mints, last use): a cached answer, a
    re-mint after a 401 report, carried forward again."""
    await stack.connect("replay-assertion-carried")
    oauth = stack.oauth
    await oauth.assertion_token("replay-assertion-carried")
    subject = await oauth.assertion_subject("replay-assertion-carried")
    middle = await carry_forward(stack, assertion_workflow_id(subject, None))
    token = await oauth.assertion_token("replay-assertion-carried")
    await oauth.assertion_auth("replay-assertion-carried")._after_401(token)
    await carry_forward(stack, assertion_workflow_id(subject, None))
    return await middle.fetch_history()


async def company_reconnect(stack: Stack) -> WorkflowHistory:
    """Metadata at onboarding, consent, a reconnect consented by another company (kept), a denied one, one
    with a narrower scope (replaced), narrowing through a refresh, a refresh, offboarding."""
    link = await stack.oauth.onboard("replay-reconnect", metadata={"tenant_id": "t-1"})
    await stack.oauth.complete_consent(await stack.approve(link))
    other = await stack.oauth.reconnect("replay-reconnect")
    refused = await stack.oauth.complete_consent(await stack.approve(other, company_name="Evil Corp"))
    assert refused.error_type == ErrorType.COMPANY_MISMATCH, refused.message
    denied = await stack.approve(await stack.oauth.reconnect("replay-reconnect"))
    await stack.oauth.complete_consent(Callback(state=denied.state, error="access_denied"))
    narrower = await stack.oauth.reconnect("replay-reconnect", scope="company:read employment:read")
    result = await stack.oauth.complete_consent(await stack.approve(narrower))
    assert result.message == "reconnected", result.message
    narrowed = await stack.oauth.narrow_scope("replay-reconnect", "company:read")
    assert narrowed.scope == "company:read", narrowed
    # A 401 report forces one more refresh (no time skipped: other scenarios' workflows share the server).
    await stack.oauth.token_after_rejection("replay-reconnect", await stack.oauth.token("replay-reconnect"))
    await stack.oauth.offboard("replay-reconnect", reason="recorded")
    return await stack.handle("replay-reconnect").fetch_history()


async def company_imported(stack: Stack) -> WorkflowHistory:
    """A company imported from a refresh token made elsewhere: the first refresh, one more after a 401
    report, then revocation found by the next (a new link) and offboarding."""
    body = await connect(stack.http, company_name="Imported Co")
    company = ImportedCompany(
        company_ref="replay-imported",
        refresh_token=body["refresh_token"],
        company_id=body["company_id"],
        metadata={"tenant_id": "t-2"},
    )
    outcome = await stack.oauth.import_company(company)
    assert outcome.result is ImportResult.IMPORTED, outcome
    token = await stack.oauth.token_after_rejection(
        "replay-imported", await stack.oauth.token("replay-imported")
    )
    await stack.http.post(f"/sandbox/companies/{body['company_id']}/revoke", json={})
    with contextlib.suppress(NotReadyError):
        await stack.oauth.token_after_rejection("replay-imported", token)
    assert (await stack.oauth.status("replay-imported")).phase is Phase.CONSENT_REVOKED
    await stack.oauth.offboard("replay-imported", reason="recorded")
    return await stack.handle("replay-imported").fetch_history()


SCENARIOS: dict[str, Callable[[Stack], Awaitable[WorkflowHistory]]] = {
    "company_consent": company_lifecycle,
    "company_pinned": company_pinned,
    "company_expired": company_expired,
    "partner_token": partner_token,
    "partner_retry": partner_retry,
    "assertion_token": assertion_token,
    "magic_link": magic_link,
    "company_carried": company_carried,
    "partner_carried": partner_carried,
    "assertion_carried": assertion_carried,
    "company_reconnect": company_reconnect,
    "company_imported": company_imported,
}
"""History file stem -> the scenario that produces it (one or more per workflow type)."""


async def record(name: str, env: WorkflowEnvironment) -> WorkflowHistory:
    config = SandboxConfig(auto_approve=True, token_ttl=TTL)
    async with make_stack(env, f"record-{name}", config=config) as stack:
        return await SCENARIOS[name](stack)


async def main(version: str, names: list[str]) -> None:
    async with time_skipping_server(Keyring.parse(TEST_KEYS), test_server_binary()) as env:
        for name in names or SCENARIOS:
            history = await record(name, env)
            path = HISTORIES / f"{name}-{version}.json"
            path.write_text(history.to_json() + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    # python -m tests.record_histories VERSION [SCENARIO ...]
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v1", sys.argv[2:]))
