"""The activity side of a model world: our real ``TokenActivities`` against the held fake gateway.

Each token request goes through ``httpx.MockTransport`` to the fake gateway, which answers as the current step
says or holds the request for a later step. Failed attempts are retried as the workflow's ``RetryPolicy``
says (``next_retry_delay`` first, backoff otherwise, never past ``schedule_to_close``), on the model's clock,
and the last failure reaches the workflow as Temporal's ``ActivityError``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import ActivityEnvironment

from tests.support.model.gateway import CLIENT_SECRET, GATEWAY, Answer, FakeGateway
from tests.support.model.runtime import ActivityCall, ModelRuntime
from workflows.io.activities import TokenActivities
from workflows.io.settings import Settings
from workflows.types.activity import IssueStateInput, NotifyInput, NotifyResult
from workflows.types.tokens import TokenGrant

__all__ = ["ENV", "Held", "Ledger", "ModelActivities"]

ENV = {
    "REMOTE_GATEWAY_URL": GATEWAY,
    "REMOTE_CLIENT_ID": "model-client",
    "REMOTE_CLIENT_SECRET": CLIENT_SECRET,
    "REMOTE_REDIRECT_URI": "https://partner.model/oauth/callback",
    "REMOTE_HTTP_TIMEOUT": "25",
}
GRANTS = frozenset({"exchange_code", "refresh", "client_credentials", "assertion"})
"""The activities that call the token endpoint: at most one of them may be in flight per workflow."""


@dataclass
class Held:
    """A token request the gateway has not answered yet."""

    request: httpx.Request
    answer: asyncio.Future[Answer]


@dataclass
class Ledger:
    """What the model knows beyond the workflow's own state (a twin gets a copy)."""

    delivered: list[str] = field(default_factory=list)
    """Refresh tokens an activity handed to the workflow."""
    texts: list[str] = field(default_factory=list)
    """Every text the outside sees: statuses, errors, callback results, webhook details, log lines."""
    problems: list[str] = field(default_factory=list)
    """Invariant breaks noticed inside a step (two grants at once, a workflow task that raised)."""
    in_flight: int = 0
    """Token-endpoint activities running (an attempt, or a backoff before the next one)."""


class ModelActivities:
    """Runs the activities a workflow starts; ``answering`` is how the gateway answers during this step."""

    def __init__(self, runtime: ModelRuntime, gateway: FakeGateway, ledger: Ledger) -> None:
        self.runtime = runtime
        self.gateway = gateway
        self.ledger = ledger
        self.settings = Settings.from_env(ENV)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self._serve), base_url=GATEWAY)
        self.activities = TokenActivities(self.settings, self.http, clock=lambda: runtime.now)
        self.held: list[Held] = []
        self.answering: Answer | None = None
        """The current step's answer to every request (None: requests are held)."""

    async def __call__(self, call: ActivityCall) -> Any:
        if call.name == "issue_state":
            assert isinstance(call.arg, IssueStateInput)
            return self.gateway.issue_state(call.arg)
        if call.name == "notify":
            assert isinstance(call.arg, NotifyInput)
            self.ledger.texts.append(call.arg.detail)
            return NotifyResult(delivered=True)
        assert call.name in GRANTS, call.name
        self.ledger.in_flight += 1
        if self.ledger.in_flight > 1:
            self.ledger.problems.append(f"{call.name} started while another grant was in flight")
        try:
            result = await self._retried(call)
        finally:
            self.ledger.in_flight -= 1
        if isinstance(result, TokenGrant) and result.refresh_token is not None:
            self.ledger.delivered.append(result.refresh_token)
        return result

    def answer_held(self, answer: Answer) -> None:
        """The gateway answers the oldest request in flight."""
        self.held.pop(0).answer.set_result(answer)

    async def _serve(self, request: httpx.Request) -> httpx.Response:
        answer = self.answering
        if answer is None:
            held = Held(request, asyncio.get_running_loop().create_future())
            self.held.append(held)
            answer = await held.answer
        response = self.gateway.respond(request, answer, self.runtime.now)
        if answer.kind == "timeout":
            await self.runtime.workflow_sleep(self.settings.http_timeout)
            raise httpx.ReadTimeout("no answer", request=request)
        if answer.kind == "lost":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response

    async def _retried(self, call: ActivityCall) -> Any:
        """Attempts of one activity as Temporal's retry policy runs them; the last failure as ActivityError."""
        policy: RetryPolicy = call.options["retry_policy"]
        limit: timedelta = call.options["schedule_to_close_timeout"]
        started, attempt = self.runtime.now, 1
        while True:
            env = ActivityEnvironment()
            env.info = dataclasses.replace(env.info, attempt=attempt)
            try:
                return await env.run(getattr(self.activities, call.name), call.arg)
            except ApplicationError as err:
                self.ledger.texts.append(err.message)
                final = err.non_retryable or err.type in (policy.non_retryable_error_types or ())
                backoff = policy.initial_interval * policy.backoff_coefficient ** min(attempt - 1, 30)
                delay = err.next_retry_delay or min(backoff, policy.maximum_interval or backoff)
                if final:
                    raise _failed(call, err, RetryState.NON_RETRYABLE_FAILURE) from err
                if policy.maximum_attempts and attempt >= policy.maximum_attempts:
                    raise _failed(call, err, RetryState.MAXIMUM_ATTEMPTS_REACHED) from err
                if self.runtime.now + delay - started > limit:
                    raise _failed(call, err, RetryState.TIMEOUT) from err
            await self.runtime.workflow_sleep(delay.total_seconds())
            attempt += 1


def _failed(call: ActivityCall, cause: ApplicationError, state: RetryState) -> ActivityError:
    err = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="model",
        activity_type=call.name,
        activity_id="1",
        retry_state=state,
    )
    err.__cause__ = cause
    return err
