"""Retry semantics in a real Temporal test server: the token options plus our error types decide attempts.

A tiny workflow calls ``client_credentials`` with ``options.TOKEN_ENDPOINT``; the sandbox injects faults.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx
    import pytest
    import pytest_asyncio
    from temporalio.client import WorkflowFailureError
    from temporalio.exceptions import ActivityError, ApplicationError
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from sandbox.config import SandboxConfig
    from sandbox.testing import RunningSandbox, running_sandbox
    from workflows import options
    from workflows.io.activities import ClientCredentialsInput, TokenActivities
    from workflows.io.settings import Settings
    from workflows.types.errors import ErrorType
    from workflows.types.tokens import TokenGrant

CONFIG = SandboxConfig()


@dataclass(frozen=True)
class TokenCall:
    """What the test workflow asks for."""

    scope: str | None = None


@workflow.defn(name="TokenCallTest")
class TokenCallWorkflow:
    """One client-credentials call with the production activity options."""

    @workflow.run
    async def run(self, call: TokenCall) -> TokenGrant:
        return await workflow.execute_activity_method(
            TokenActivities.client_credentials,
            ClientCredentialsInput(scope=call.scope),
            **options.token_endpoint_kwargs(),
        )


@dataclass
class Attempt:
    number: int
    scheduled: datetime
    started: datetime


class RecordingActivities(TokenActivities):
    """The production activity, noting each attempt's number and times as Temporal reports them."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        super().__init__(settings, http)
        self.attempts: list[Attempt] = []

    @activity.defn(name="ClientCredentials")
    async def client_credentials(self, request: ClientCredentialsInput) -> TokenGrant:
        info = activity.info()
        self.attempts.append(Attempt(info.attempt, info.current_attempt_scheduled_time, info.started_time))
        return await super().client_credentials(request)


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(CONFIG) as running:
        yield running


@pytest.fixture
def texts(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every log record (DEBUG, root and httpx) and every error text; scanned for credentials at the end."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "temporalio"):
        caplog.set_level(logging.DEBUG, logger=name)
    collected: list[str] = []
    yield collected
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    collected += [record.getMessage() for record in records]
    assert collected


def scan(sandbox: RunningSandbox, texts: list[str]) -> None:
    """No client secret, access token, refresh token or code in any text."""
    store = sandbox.store
    credentials = {CONFIG.client_secret, *store.access_tokens, *store.refresh_tokens, *store.codes}
    assert [c[:6] for c in credentials for text in texts if c in text] == []


async def run_workflow(
    env: WorkflowEnvironment, sandbox: RunningSandbox, task_queue: str, texts: list[str]
) -> tuple[TokenGrant | BaseException, RecordingActivities, dict[str, int]]:
    settings = Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": CONFIG.client_id,
            "REMOTE_CLIENT_SECRET": CONFIG.client_secret,
            "REMOTE_TOKEN_AUTH_METHOD": "client_secret_basic",
        }
    )
    async with TokenActivities.http_client(settings) as http:
        acts = RecordingActivities(settings, http)
        async with Worker(
            env.client,
            task_queue=task_queue,
            workflows=[TokenCallWorkflow],
            activities=[acts.client_credentials],
        ):
            outcome: TokenGrant | BaseException
            try:
                outcome = await env.client.execute_workflow(
                    TokenCallWorkflow.run, TokenCall(), id=f"wf-{task_queue}", task_queue=task_queue
                )
            except WorkflowFailureError as err:
                outcome = err
                current: BaseException | None = err
                while current is not None:
                    texts += [str(current), repr(current)]
                    current = current.__cause__
    async with httpx.AsyncClient(base_url=sandbox.url) as admin:
        stats = (await admin.get("/sandbox/stats")).json()["token_requests"]
    scan(sandbox, texts)
    return outcome, acts, stats


async def fault(sandbox: RunningSandbox, **body: object) -> None:
    async with httpx.AsyncClient(base_url=sandbox.url) as admin:
        (await admin.post("/sandbox/faults", json=body)).raise_for_status()


async def test_two_503s_then_success_is_one_execution(
    time_skipping_env: WorkflowEnvironment, sandbox: RunningSandbox, task_queue: str, texts: list[str]
) -> None:
    """503, 503, 200: the activity succeeds on its third attempt; the workflow sees one result."""
    await fault(sandbox, kind="http_503", count=2)
    outcome, acts, stats = await run_workflow(time_skipping_env, sandbox, task_queue, texts)
    assert isinstance(outcome, TokenGrant)
    assert [a.number for a in acts.attempts] == [1, 2, 3]
    assert stats["client_credentials"] == 3


async def test_invalid_grant_fails_after_exactly_one_attempt(
    time_skipping_env: WorkflowEnvironment, sandbox: RunningSandbox, task_queue: str, texts: list[str]
) -> None:
    """A final error is never retried: one attempt, one request, the type reaches the workflow's caller."""
    await fault(sandbox, kind="invalid_grant", count=5)
    outcome, acts, stats = await run_workflow(time_skipping_env, sandbox, task_queue, texts)
    assert isinstance(outcome, WorkflowFailureError)
    assert isinstance(outcome.cause, ActivityError)
    assert isinstance(outcome.cause.cause, ApplicationError)
    assert outcome.cause.cause.type == ErrorType.INVALID_GRANT
    assert outcome.cause.cause.non_retryable
    assert [a.number for a in acts.attempts] == [1]
    assert stats["client_credentials"] == 1


async def test_retry_after_sets_the_next_attempt(
    time_skipping_env: WorkflowEnvironment, sandbox: RunningSandbox, task_queue: str, texts: list[str]
) -> None:
    """429 with Retry-After: 7: the second attempt starts 7 s after the first (not the policy's 1 s)."""
    await fault(sandbox, kind="rate_limited", retry_after="7", count=1)
    outcome, acts, stats = await run_workflow(time_skipping_env, sandbox, task_queue, texts)
    assert isinstance(outcome, TokenGrant)
    first, second = acts.attempts
    assert (first.number, second.number) == (1, 2)
    # The test server records the retry as scheduled when the attempt failed and starts it after the delay
    # (in skipped time): the gap between the two starts is the wait the gateway asked for.
    gap = second.started - first.started
    assert timedelta(seconds=7) <= gap < timedelta(seconds=8)
    assert stats["client_credentials"] == 2


async def test_malformed_bodies_stop_after_three_attempts(
    time_skipping_env: WorkflowEnvironment, sandbox: RunningSandbox, task_queue: str, texts: list[str]
) -> None:
    """A gateway that keeps answering nonsense: three attempts, then a final MalformedResponse."""
    await fault(sandbox, kind="json_array", count=10)
    outcome, acts, stats = await run_workflow(time_skipping_env, sandbox, task_queue, texts)
    assert isinstance(outcome, WorkflowFailureError)
    assert isinstance(outcome.cause, ActivityError)
    assert isinstance(outcome.cause.cause, ApplicationError)
    assert outcome.cause.cause.type == ErrorType.MALFORMED_RESPONSE
    assert [a.number for a in acts.attempts] == [1, 2, 3]
    assert stats["client_credentials"] == 3
