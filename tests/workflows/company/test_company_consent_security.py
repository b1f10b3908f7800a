"""Consent as an attacker tries it at the workflow: another Remote company approving a pinned ref or
re-consenting after a revocation, a hostile gateway echoing secrets, and the timers that bound a company's
life (nobody consents; continue-as-new while misconfigured). Time-skipping server, sandbox on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from urllib.parse import quote

import pytest
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from tests.support.history import decrypted_payloads
from tests.support.scene import Scene, scene
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, EXACT, Stack
from worker.cli.app import status_table
from worker.runner import gateway_activities, local_activities
from workflows.company import CompanyConsentWorkflow
from workflows.io.activities import TokenActivities
from workflows.io.codec import EncryptionCodec, Keyring
from workflows.io.settings import Settings, TokenAuthMethod
from workflows.types.company import CompanyInput, CompanyStatus, Phase, company_workflow_id
from workflows.types.errors import ErrorType, NotReadyError
from workflows.types.untrusted import basic_forms


async def _company(stack: Stack, name: str) -> str:
    """A Remote company in the sandbox (as if it existed before consent); its id."""
    created = await stack.http.post("/sandbox/companies", json={"name": name})
    company_id: str = created.json()["company_id"]
    return company_id


async def _sandbox_tokens(stack: Stack) -> set[str]:
    store = stack.sandbox.store
    return set(store.access_tokens) | set(store.refresh_tokens)


async def _history_text(stack: Stack, keyring: Keyring) -> str:
    """Every payload of the company's history, decrypted, as text."""
    history = await stack.handle("pinned").fetch_history()
    return await decrypted_payloads(history.events, EncryptionCodec(keyring))


async def test_a_pinned_ref_never_binds_another_company(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str, test_keyring: Keyring
) -> None:
    """Pinned to Acme, approved by Evil Corp's admin: the tokens are dropped (not in state, not in history),
    the company keeps waiting with a CompanyMismatch naming both ids and a new link, and a signed
    company_mismatch event goes out; Acme's own admin then connects."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        stack = sc.stack
        acme, evil = await _company(stack, "Acme Pinned"), await _company(stack, "Evil Corp")
        link = await stack.oauth.onboard("pinned", company_id=acme.upper())  # any UUID spelling pins
        result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Evil Corp"))
        assert (result.phase, result.error_type) == (Phase.AWAITING_CONSENT, ErrorType.COMPANY_MISMATCH)
        status = await stack.oauth.status("pinned")
        assert (status.phase, status.company_id) == (Phase.AWAITING_CONSENT, acme)
        assert status.last_error is not None
        assert acme in status.last_error
        assert evil in status.last_error
        assert status.authorize_url not in (None, link.authorize_url)  # a new link for the right admin
        with pytest.raises(NotReadyError):
            await stack.oauth.token("pinned")
        assert await sc.hook.wait_for(1) == ["company_mismatch"]
        assert sc.hook.events[0]["remote_company_id"] == acme
        assert evil in sc.hook.events[0]["detail"]
        evil_tokens = await _sandbox_tokens(stack)
        assert evil_tokens, "the sandbox issued Evil Corp's tokens"
        assert not [token for token in evil_tokens if token in await _history_text(stack, test_keyring)]

        again = await stack.oauth.onboard("pinned")
        result = await stack.oauth.complete_consent(await stack.approve(again, company_name="Acme Pinned"))
        assert result.phase is Phase.ACTIVE
        assert (await stack.oauth.status("pinned")).company_id == acme
        # The scan looks where tokens would be: Acme's own tokens are in the (decrypted) history.
        acme_tokens = await _sandbox_tokens(stack) - evil_tokens
        assert [token for token in acme_tokens if token in await _history_text(stack, test_keyring)]
        with pytest.raises(NotReadyError, match="already bound to Remote company"):
            await stack.oauth.onboard("pinned", company_id=evil)


async def test_re_consent_by_another_company_after_revocation_never_rebinds(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A revoked company re-consented by a different Remote company stays consent_revoked on its own
    company id (an event, not a silent `recovered`); its own admin's consent recovers it."""
    async with scene(own_time_skipping_env, task_queue) as sc, sc.workers():
        stack = sc.stack
        await stack.connect("rebind", company_name="Acme Rebind")
        first = await stack.oauth.status("rebind")
        await stack.http.post(f"/sandbox/companies/{first.company_id}/revoke", json={})
        await stack.env.sleep(timedelta(hours=1, minutes=1))
        assert await sc.hook.wait_for(1) == ["revoked"]
        link = await stack.oauth.onboard("rebind")
        result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Evil Rebind"))
        assert (result.phase, result.error_type) == (Phase.CONSENT_REVOKED, ErrorType.COMPANY_MISMATCH)
        status = await stack.oauth.status("rebind")
        assert (status.phase, status.company_id) == (Phase.CONSENT_REVOKED, first.company_id)
        assert await sc.hook.wait_for(2) == ["revoked", "company_mismatch"]
        link = await stack.oauth.onboard("rebind")
        result = await stack.oauth.complete_consent(await stack.approve(link, company_name="Acme Rebind"))
        assert result.phase is Phase.ACTIVE
        assert await sc.hook.wait_for(3) == ["revoked", "company_mismatch", "recovered"]


async def test_a_company_nobody_consents_to_expires(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """After consent_wait_seconds without consent the workflow ends as `expired` with an event; a later
    onboard starts afresh. A company that consented has no deadline."""
    settings = replace(EXACT, consent_wait_seconds=3 * 3600)
    async with scene(own_time_skipping_env, task_queue, settings) as sc, sc.workers():
        stack = sc.stack
        await stack.oauth.onboard("ghost")
        waiting = await stack.oauth.status("ghost")
        assert waiting.consent_deadline is not None
        await stack.connect("keeper")
        connected = await stack.oauth.status("keeper")
        assert connected.consent_deadline is None
        await stack.env.sleep(timedelta(hours=3, minutes=1))
        handle = stack.handle("ghost")
        assert (await handle.describe()).status is WorkflowExecutionStatus.COMPLETED
        final = await handle.result()
        assert (final.phase, final.authorize_url) == (Phase.EXPIRED, None)
        assert "expired" in sc.hook.names()
        assert (await stack.oauth.status("keeper")).phase is Phase.ACTIVE
        fresh = await stack.oauth.onboard("ghost")
        assert fresh.phase is Phase.AWAITING_CONSENT
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_a_hostile_gateway_echo_reaches_no_status_webhook_log_or_table(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A refresh answered with the request echoed back (Basic credential, refresh token, a forged log line
    and a terminal escape): the company is misconfigured, and neither its status, the webhook event, the
    logs nor the CLI table hold a secret in any form or a control character."""
    caplog.set_level(logging.DEBUG)
    async with scene(own_time_skipping_env, task_queue) as sc:
        async with sc.workers():
            await sc.stack.connect("echoed")
            grant = await sc.stack.oauth.token("echoed")
        assert grant.refresh_token is not None
        settings = replace(sc.settings(), token_auth_method=TokenAuthMethod.CLIENT_SECRET_BASIC)
        fault = {"kind": "echo_request", "count": 1, "grant_type": "refresh_token"}
        await sc.stack.http.post("/sandbox/faults", json=fault)
        async with _worker(sc, settings, [CompanyConsentWorkflow]):
            await sc.stack.env.sleep(timedelta(hours=1, minutes=1))
            status = await sc.stack.oauth.status("echoed")
            assert (status.phase, status.last_error_type) == (Phase.MISCONFIGURED, "InvalidRequest")
            assert await sc.hook.wait_for(1) == ["misconfigured"]
        secrets = {CLIENT_SECRET, grant.refresh_token, quote(CLIENT_SECRET, safe="")}
        secrets |= basic_forms(CLIENT_ID, CLIENT_SECRET)
        texts = {
            "status": json.dumps(status.last_error),
            "webhook": json.dumps(sc.hook.events),
            "table": status_table([status]),
            **{f"log {i}": record.getMessage() for i, record in enumerate(caplog.records)},
        }
        assert status.last_error is not None
        assert "[redacted]" in status.last_error
        assert "forged line" in status.last_error
        leaks = [(where, s[:6]) for where, text in texts.items() for s in secrets if s in text]
        assert leaks == []
        assert not [where for where, text in texts.items() if "\x1b" in text or "\nINFO forged" in text]


@workflow.defn(name="CompanyConsentContinuingWhenMisconfigured")
class ContinuingWhenMisconfigured(CompanyConsentWorkflow):
    """The real company workflow, made to continue-as-new the moment it becomes misconfigured."""

    @workflow.run
    async def run(self, start: CompanyInput) -> CompanyStatus:
        return await super().run(start)

    def _publish(self) -> None:
        super()._publish()
        if self._phase is Phase.MISCONFIGURED and workflow.info().continued_run_id is None:
            self._kept.cycles = self._settings.cycles_per_run  # the loop continues-as-new at its next turn


@contextlib.asynccontextmanager
async def _worker(sc: Scene, settings: Settings, workflows: list[type]) -> AsyncIterator[Worker]:
    """A worker of its own, for settings or workflow classes the shared runner does not take."""
    async with TokenActivities.http_client(settings) as http:
        acts = TokenActivities(settings, http)
        async with Worker(
            sc.stack.env.client,
            task_queue=sc.stack.task_queue,
            workflows=workflows,
            activities=gateway_activities(acts) + local_activities(acts),
            workflow_runner=UnsandboxedWorkflowRunner(),
            max_cached_workflows=0,
        ) as worker:
            yield worker


async def test_continue_as_new_keeps_a_misconfigured_company_retrying_on_time(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """Continued-as-new while misconfigured, a company still retries an hour later on its own (the carried
    memory once dropped the retry time, and the company waited for a manual retry forever)."""
    async with scene(own_time_skipping_env, task_queue) as sc:
        stack = sc.stack
        good = sc.settings()
        wrong = sc.settings(secret="a-wrong-secret-value")
        async with _worker(sc, good, [ContinuingWhenMisconfigured]):
            handle = await stack.env.client.start_workflow(
                ContinuingWhenMisconfigured.run,
                CompanyInput(company_ref="durable", settings=EXACT),
                id=company_workflow_id("durable"),
                task_queue=stack.task_queue,
            )
            first_run = handle.result_run_id
            link = await stack.oauth.onboard("durable")
            assert (await stack.oauth.complete_consent(await stack.approve(link))).phase is Phase.ACTIVE
        async with _worker(sc, wrong, [ContinuingWhenMisconfigured]):
            await stack.env.sleep(timedelta(hours=1, minutes=1))  # the refresh is refused: misconfigured
            status = await stack.oauth.status("durable")
            assert status.phase is Phase.MISCONFIGURED
        description = await stack.handle("durable").describe()
        assert description.run_id != first_run, "the workflow did not continue as new"
        async with _worker(sc, good, [ContinuingWhenMisconfigured]):
            await stack.env.sleep(timedelta(minutes=30))
            assert (await stack.oauth.status("durable")).phase is Phase.MISCONFIGURED  # not before its time
            await stack.env.sleep(timedelta(minutes=31))
            status = await stack.oauth.status("durable")
        assert (status.phase, status.refreshes, status.last_error) == (Phase.ACTIVE, 1, None)
