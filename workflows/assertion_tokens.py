"""AssertionTokenWorkflow: a durable cache of one JWT-bearer token per (subject, scope set).

The whole fleet asks one workflow, so at most one mint runs at a time and a token is reused until near
expiry. An entry nobody asked for during ``idle_seconds`` completes. Assertion tokens have no refresh
token: a new mint signs a new assertion with a fresh ``jti`` (the activity does that).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow

from workflows.kept_token import KeptToken, SingleFlight
from workflows.types.kept_token import (
    CARRY_FORWARD_SIGNAL,
    CarryForward,
    Failure,
    FreshnessRequest,
    KeptTokenMemory,
    attempt,
    check_min_ttl,
    unavailable,
)
from workflows.types.tokens import TokenGrant

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import AssertionInput

WORKFLOW_ID_PREFIX = "remote-oauth-assertion:"


def assertion_workflow_id(subject: str, scope: str | None) -> str:
    """``remote-oauth-assertion:<sha256(subject|scopes)[:24]>``, scopes sorted so their order does not matter."""
    scopes = " ".join(sorted(set((scope or "").split())))
    return WORKFLOW_ID_PREFIX + hashlib.sha256(f"{subject}|{scopes}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class AssertionTokenSettings:
    """How long an unused entry lives, and where its mints run."""

    idle_seconds: float = 3600.0
    """Complete after this long without an ``ensure_fresh``."""
    token_task_queue: str | None = None
    """Task queue of token-endpoint activities (rate limited fleet-wide); None: the workflow's own."""


@dataclass(frozen=True, kw_only=True)
class AssertionMemory(KeptTokenMemory):
    """What a run hands to the next through continue-as-new: the cached token, its mints, the last use."""

    last_used: datetime


@dataclass(frozen=True)
class AssertionTokenInput:
    """Start a cache entry for one subject and scope set."""

    subject: str
    """``urn:remote-api:company-manager:user:<uuid>`` or ``urn:remote-api:employee:employment:<uuid>``."""
    scope: str | None = None
    settings: AssertionTokenSettings = field(default_factory=AssertionTokenSettings)
    memory: AssertionMemory | None = None
    """Set only by continue-as-new (``carry_forward``)."""


@dataclass(frozen=True)
class AssertionTokenResult:
    """What an entry did in its life, returned when it ends for being idle."""

    subject: str
    mints: int


@workflow.defn(name="AssertionToken")
class AssertionTokenWorkflow:
    """One subject's token, minted on demand, shared until near expiry, forgotten when idle."""

    @workflow.init
    def __init__(self, start: AssertionTokenInput) -> None:
        self._start = start
        self._kept = KeptToken(start.memory)
        """The cached token; ``refreshes`` counts its mints. No timer, so no jitter is drawn."""
        self._last_used = workflow.now() if start.memory is None else start.memory.last_used
        self._carry_forward = False
        # One mint at a time, however many callers ask at once.
        self._flight = SingleFlight()

    @workflow.run
    async def run(self, start: AssertionTokenInput) -> AssertionTokenResult:
        idle = timedelta(seconds=start.settings.idle_seconds)
        while True:
            if self._carry_forward:
                await workflow.wait_condition(workflow.all_handlers_finished)
                memory = self._kept.memory_as(AssertionMemory, last_used=self._last_used)
                workflow.continue_as_new(dataclasses.replace(start, memory=memory))
            seen = self._last_used
            left = seen + idle - workflow.now()
            if left > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(self._used_since(seen), timeout=left)
                continue
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._last_used == seen:
                break
        return AssertionTokenResult(subject=start.subject, mints=self._kept.refreshes)

    @workflow.update
    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """A token valid for at least ``min_ttl_seconds``, minted first if needed (single-flight)."""
        self._last_used = workflow.now()
        async with self._flight.turn() as first:
            # A mint that finished while this caller waited for the lock answers it too.
            if first and self._kept.needs_refresh(request, workflow.now()):
                await self._mint()
            token = self._kept.handout(request, workflow.now())
            if isinstance(token, str):
                raise unavailable(f"assertion token: {token}")
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        check_min_ttl(request.min_ttl_seconds)

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The cached token, without writing history; None before the first mint."""
        return self._kept.token

    @workflow.query
    def mints(self) -> int:
        """How many tokens this entry minted."""
        return self._kept.refreshes

    @workflow.signal(name=CARRY_FORWARD_SIGNAL)
    def carry_forward(self, _: CarryForward) -> None:
        """Continue as new at the next safe point (``remote-oauth rotate-keys``: re-encrypt with the current key)."""
        self._carry_forward = True

    def _used_since(self, seen: datetime) -> Callable[[], bool]:
        return lambda: self._last_used != seen or self._carry_forward

    async def _mint(self) -> None:
        """One assertion grant; a failure reaches the caller with the activity's type and message."""
        requested_at = workflow.now()
        grant: TokenGrant | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.assertion,
                AssertionInput(subject=self._start.subject, scope=self._start.scope),
                **options.token_endpoint_kwargs(self._start.settings.token_task_queue),
            )
        )
        if isinstance(grant, Failure):
            raise grant.to_error()
        self._kept.take(grant, requested_at=requested_at, now=workflow.now(), jitter=None)
        self._flight.land()


__all__ = [
    "AssertionMemory",
    "AssertionTokenInput",
    "AssertionTokenResult",
    "AssertionTokenSettings",
    "AssertionTokenWorkflow",
    "assertion_workflow_id",
]
