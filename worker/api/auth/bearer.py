"""``httpx.Auth`` flows that add a bearer token from the token workflows, recover once from a 401 and wait out
a 429; for ``httpx.AsyncClient``, and for ``httpx.Client`` in a thread beside the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

import httpx

from worker.api.auth.retry_after import DEFAULT_RATE_LIMIT, RateLimitRetry
from worker.api.auth.sync_bridge import LoopBridge
from workflows.types.tokens import TokenGrant

if TYPE_CHECKING:
    from worker.api.remote_oauth import RemoteOAuth

__all__ = ["DEFAULT_MIN_TTL", "AuthOptions", "BearerAuth", "CompanyAuth", "utc_now"]

DEFAULT_MIN_TTL = 60.0
"""Seconds a token must still be valid when handed out, so a request in flight does not expire."""


class AuthOptions(TypedDict, total=False):
    """The options of every ``auth()`` (``RemoteOAuth.auth``, ``partner_auth``, ``assertion_auth``)."""

    min_ttl: float
    """Seconds a token must still be valid when a request is sent (``DEFAULT_MIN_TTL``)."""
    rate_limit: RateLimitRetry
    """How a 429 is waited out (``DEFAULT_RATE_LIMIT``: 3 retries, at most 30 s each)."""
    loop: asyncio.AbstractEventLoop | None
    """The event loop of the ``RemoteOAuth``, for ``httpx.Client`` (default: the loop running at creation)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Current:
    """The flow needs the current token (a cache hit, usually)."""


@dataclass(frozen=True)
class _Replace:
    """The flow needs the token that replaces one a 401 refused."""

    rejected: TokenGrant = field(repr=False)


@dataclass(frozen=True)
class _Wait:
    """The flow waits this long before sending again (a 429)."""

    seconds: float


_CURRENT = _Current()
_Step = httpx.Request | _Current | _Replace | _Wait
"""What the flow's plan asks its driver for: send a request, fetch a token, or sleep."""


class BearerAuth(httpx.Auth):
    """Adds a bearer token from ``current``; on a 401 calls ``after_401`` and retries once; on a 429 waits as
    ``rate_limit`` says and retries.

    Keeps no token of its own: ``RemoteOAuth``'s token cache serves every request (one call shared by
    concurrent misses, one replacement for every request that saw the same rejected token), so every
    ``auth()`` of a process sees the same token, and an eviction (offboard, 401) reaches them all.

    With ``httpx.Client`` (sync) the token calls run on the event loop ``RemoteOAuth`` lives on (``loop``, else
    the one running where this is made): use it from another thread while that loop runs, never on the loop's
    own thread (see ``worker/api/auth/sync_bridge.py``).
    """

    def __init__(
        self,
        current: Callable[[float], Awaitable[TokenGrant]],
        after_401: Callable[[TokenGrant], Awaitable[TokenGrant]],
        *,
        min_ttl: float = DEFAULT_MIN_TTL,
        rate_limit: RateLimitRetry = DEFAULT_RATE_LIMIT,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._current = current
        self._after_401 = after_401
        self._min_ttl = min_ttl
        self._rate_limit = rate_limit
        self._bridge = LoopBridge(type(self).__name__, loop)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        plan = self._plan(request)
        answer: Any = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration:
                return
            if isinstance(step, httpx.Request):
                answer = yield step
            elif isinstance(step, _Wait):
                self._rate_limit.sync_sleep(step.seconds)
                answer = None
            else:
                answer = self._bridge.run(self._fetch(step))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        self._bridge.adopt_running_loop()
        plan = self._plan(request)
        answer: Any = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration:
                return
            if isinstance(step, httpx.Request):
                answer = yield step
            elif isinstance(step, _Wait):
                await self._rate_limit.sleep(step.seconds)
                answer = None
            else:
                answer = await self._fetch(step)()

    def _fetch(self, step: _Current | _Replace) -> Callable[[], Awaitable[TokenGrant]]:
        if isinstance(step, _Replace):
            return functools.partial(self._after_401, step.rejected)
        return functools.partial(self._current, self._min_ttl)

    def _plan(self, request: httpx.Request) -> Generator[_Step, Any, None]:
        """Both flows' one policy, as steps their drivers perform (a rule written twice drifts).

        A 401 gets one replacement token per request, whenever it comes; each 429 a wait, then the current
        token (it may have changed meanwhile) and a retry, until ``rate_limit`` says to give it back.
        """
        replayable = isinstance(request.stream, httpx.ByteStream)  # a consumed stream cannot be sent again
        token: TokenGrant = yield _CURRENT
        replaced, retried = False, 0
        while True:
            request.headers["Authorization"] = f"Bearer {token.access_token}"
            response: httpx.Response = yield request
            if response.status_code == 401 and not replaced:
                replaced = True
                token = yield _Replace(token)
                continue
            if response.status_code != 429 or not replayable:
                return
            wait = self._rate_limit.wait_before_retry(response, retried)
            if wait is None:
                return
            retried += 1
            yield _Wait(wait)
            token = yield _CURRENT


class CompanyAuth(BearerAuth):
    """``BearerAuth`` with the company's token; a 401 refreshes it once fleet-wide and retries."""

    def __init__(self, oauth: RemoteOAuth, company_ref: str, **options: Unpack[AuthOptions]) -> None:
        super().__init__(
            lambda ttl: oauth.token(company_ref, min_ttl=ttl),
            lambda rejected: oauth.token_after_rejection(company_ref, rejected),
            **options,
        )
