"""AssertionTokenWorkflow: a durable cache of one JWT-bearer token per (subject, scope set).

The whole fleet asks one workflow, so at most one mint runs at a time and a token is reused until near
expiry. An entry nobody asked for during ``idle_seconds`` completes. Assertion tokens have no refresh
token: a new mint signs a new assertion with a fresh ``jti`` (the activity does that).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.types.company import FreshnessRequest
from workflows.types.errors import ErrorType
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


@dataclass(frozen=True)
class AssertionTokenInput:
    """Start a cache entry for one subject and scope set."""

    subject: str
    """``urn:remote-api:company-manager:user:<uuid>`` or ``urn:remote-api:employee:employment:<uuid>``."""
    scope: str | None = None
    settings: AssertionTokenSettings = field(default_factory=AssertionTokenSettings)


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
        self._token: TokenGrant | None = None
        self._mints = 0
        self._last_used = workflow.now()
        # One mint at a time, however many callers ask at once.
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: AssertionTokenInput) -> AssertionTokenResult:
        idle = timedelta(seconds=start.settings.idle_seconds)
        while True:
            seen = self._last_used
            left = seen + idle - workflow.now()
            if left > timedelta(0):
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(self._used_since(seen), timeout=left)
                continue
            await workflow.wait_condition(workflow.all_handlers_finished)
            if self._last_used == seen:
                break
        return AssertionTokenResult(subject=start.subject, mints=self._mints)

    @workflow.update
    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """A token valid for at least ``min_ttl_seconds``, minted first if needed (single-flight)."""
        self._last_used = workflow.now()
        generation = self._mints
        async with self._lock:
            # A mint that finished while this caller waited for the lock answers it too.
            if self._mints == generation and self._needs_mint(request):
                await self._mint()
            token = self._token
            if token is None or token.ttl(workflow.now()) <= timedelta(0):
                raise ApplicationError("no assertion token could be minted", type=ErrorType.TOKEN_UNAVAILABLE)
            return token

    @ensure_fresh.validator
    def _validate_ensure_fresh(self, request: FreshnessRequest) -> None:
        if not 0 <= request.min_ttl_seconds <= 3600:
            raise ValueError("min_ttl_seconds must be between 0 and 3600")

    @workflow.query
    def current_token(self) -> TokenGrant | None:
        """The cached token, without writing history; None before the first mint."""
        return self._token

    @workflow.query
    def mints(self) -> int:
        """How many tokens this entry minted."""
        return self._mints

    def _used_since(self, seen: datetime) -> Callable[[], bool]:
        return lambda: self._last_used != seen

    async def _mint(self) -> None:
        """One assertion grant; a failure reaches the caller with the activity's type and message."""
        requested_at = workflow.now()
        try:
            grant = await workflow.execute_activity_method(
                TokenActivities.assertion,
                AssertionInput(subject=self._start.subject, scope=self._start.scope),
                **options.token_endpoint_kwargs(self._start.settings.token_task_queue),
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
            raise ApplicationError(
                str(cause or err), type=ErrorType.ACTIVITY_FAILED, non_retryable=True
            ) from None
        # Re-anchor the lifetime on workflow time, from before the request was scheduled (as company.py).
        lifetime = grant.expires_at - grant.issued_at
        self._token = dataclasses.replace(grant, issued_at=requested_at, expires_at=requested_at + lifetime)
        self._mints += 1

    def _needs_mint(self, request: FreshnessRequest) -> bool:
        token = self._token
        if token is None:
            return True
        if request.rejected_token_sha256 is not None:
            seen = hashlib.sha256(token.access_token.encode()).hexdigest()
            return hmac.compare_digest(seen, request.rejected_token_sha256)
        return token.ttl(workflow.now()) < timedelta(seconds=request.min_ttl_seconds)


__all__ = [
    "AssertionTokenInput",
    "AssertionTokenResult",
    "AssertionTokenSettings",
    "AssertionTokenWorkflow",
    "assertion_workflow_id",
]
