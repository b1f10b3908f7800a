"""The one fresh-token path of every kind of kept token: the process's cache, then one query, then an
``ensure_fresh`` update only when the kept token is too close to expiry, and one replacement after a 401.

Each kind (company, partner, assertion) says only how to reach its workflow, as a ``TokenSource``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import Protocol

from worker.api.auth import utc_now
from worker.api.token_cache import TokenCache
from workflows.types.kept_token import FreshnessRequest, token_digest
from workflows.types.tokens import TokenGrant

__all__ = ["FreshTokens", "TokenSource"]


class TokenSource(Protocol):
    """One kept token's workflow, as the fresh-token path sees it."""

    async def current(self) -> TokenGrant | None:
        """The workflow's token (a query: no history), or None when it has none or is not started yet."""
        ...

    async def ensure_fresh(self, request: FreshnessRequest) -> TokenGrant:
        """The workflow's ``ensure_fresh`` update (starting the workflow first where that kind does)."""
        ...


Source = Callable[[], TokenSource]
"""Makes the source only on a cache miss: a hit costs no workflow handle, hash or subject lookup."""


class FreshTokens:
    """The process's ``TokenCache`` in front of the token workflows; one per ``RemoteOAuth``."""

    def __init__(self, cache: TokenCache) -> None:
        self._cache = cache
        self.fresh = cache.fresh
        """The cache's hit path (no await): a kind whose reads are hot checks it before anything else."""
        self.evict = cache.evict
        self.evict_group = cache.evict_group

    async def token(
        self, key: Hashable, min_ttl: float, source: Source, *, group: str | None = None
    ) -> TokenGrant:
        """A token valid ``min_ttl`` more seconds: cached, else one call shared by every caller that missed.

        ``group`` names the company whose consent the token depends on (evicted with it).
        """
        fetch = functools.partial(_fresh_enough, source, min_ttl)
        return await self._cache.get(key, min_ttl, fetch, group=group)

    async def after_rejection(
        self, key: Hashable, rejected: TokenGrant, source: Source, *, group: str | None = None
    ) -> TokenGrant:
        """A new token after a Remote API answered 401 to ``rejected``: one update for all who saw it.

        A different live token in the cache already replaced it: that one comes back without a call.
        """
        request = FreshnessRequest(
            rejected_token_sha256=token_digest(rejected)
        )  # the workflows compare digests
        fetch = functools.partial(_ensured, source, request)
        return await self._cache.replace(key, rejected, fetch, group=group)


async def _fresh_enough(source: Source, min_ttl: float) -> TokenGrant:
    """One query, and the update only for a stale token: the workflow runs at most one refresh."""
    kept = source()
    current = await kept.current()
    if current is not None and current.ttl(utc_now()) >= timedelta(seconds=min_ttl):
        return current
    return await kept.ensure_fresh(FreshnessRequest(min_ttl_seconds=min_ttl))


async def _ensured(source: Source, request: FreshnessRequest) -> TokenGrant:
    return await source().ensure_fresh(request)
