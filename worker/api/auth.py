"""``httpx.Auth`` flows that add a bearer token from the token workflows and recover once from a 401."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from workflows.types.tokens import TokenGrant

if TYPE_CHECKING:
    from worker.api.remote_oauth import RemoteOAuth

__all__ = ["DEFAULT_MIN_TTL", "BearerAuth", "CompanyAuth", "utc_now"]

DEFAULT_MIN_TTL = 60.0
"""Seconds a token must still be valid when handed out, so a request in flight does not expire."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class BearerAuth(httpx.Auth):
    """Adds a bearer token from ``current``; on a 401 calls ``after_401`` and retries once.

    Keeps no token of its own: ``RemoteOAuth``'s token cache serves every request (one call shared by
    concurrent misses, one replacement for every request that saw the same rejected token), so every
    ``auth()`` of a process sees the same token, and an eviction (offboard, 401) reaches them all.
    """

    def __init__(
        self,
        current: Callable[[float], Awaitable[TokenGrant]],
        after_401: Callable[[TokenGrant], Awaitable[TokenGrant]],
        *,
        min_ttl: float = DEFAULT_MIN_TTL,
    ) -> None:
        self._current = current
        self._after_401 = after_401
        self._min_ttl = min_ttl

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError(
            f"{type(self).__name__} needs an httpx.AsyncClient: tokens come from Temporal asynchronously"
        )

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._current(self._min_ttl)
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self._after_401(token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request


class CompanyAuth(BearerAuth):
    """``BearerAuth`` with the company's token; a 401 refreshes it once fleet-wide and retries."""

    def __init__(self, oauth: RemoteOAuth, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> None:
        super().__init__(
            lambda ttl: oauth.token(company_ref, min_ttl=ttl),
            lambda rejected: oauth.token_after_rejection(company_ref, rejected),
            min_ttl=min_ttl,
        )
