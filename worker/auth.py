"""An ``httpx.Auth`` that adds a bearer token from the token workflows and recovers once from a 401."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from workflows.tokens import TokenGrant

__all__ = ["DEFAULT_MIN_TTL", "BearerAuth", "utc_now"]

DEFAULT_MIN_TTL = 60.0
"""Seconds a token must still be valid when handed out, so a request in flight does not expire."""


@dataclass(frozen=True)
class _Cached:
    token: TokenGrant


def utc_now() -> datetime:
    return datetime.now(UTC)


class BearerAuth(httpx.Auth):
    """Adds a bearer token from ``current``; caches it until near expiry; on a 401 calls ``after_401`` once
    (shared by every request that saw the same token) and retries."""

    def __init__(
        self,
        current: Callable[[float], Awaitable[TokenGrant]],
        after_401: Callable[[TokenGrant], Awaitable[TokenGrant]],
        *,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> None:
        self._fetch = current
        self._replace = after_401
        self._min_ttl = timedelta(seconds=min_ttl)
        self._cached: _Cached | None = None
        self._lock = asyncio.Lock()

    async def _current(self) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.ttl(utc_now()) >= self._min_ttl:
                return cached.token
            token = await self._fetch(self._min_ttl.total_seconds())
            self._cached = _Cached(token)
            return token

    async def _after_401(self, rejected: TokenGrant) -> TokenGrant:
        async with self._lock:
            cached = self._cached
            if cached is not None and cached.token.access_token != rejected.access_token:
                return cached.token  # another request already replaced it
            token = await self._replace(rejected)
            self._cached = _Cached(token)
            return token

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError(
            f"{type(self).__name__} needs an httpx.AsyncClient: tokens come from Temporal asynchronously"
        )

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._current()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._after_401(token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request
