"""One process's token grants in memory: a hit costs no Temporal call, a miss one call shared by every caller.

``RemoteOAuth`` keeps one ``TokenCache`` for ``token``, ``partner_token``, ``assertion_token`` and every
``*_auth()``. Freshness is judged on this process's monotonic clock, anchored before the call that brought the
grant and never beyond the grant's own lifetime, so neither a wall-clock jump here nor a skewed clock
elsewhere makes a stale token look fresh. Grants live in memory only and no ``repr`` shows one.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime

from worker.api.auth import utc_now
from workflows.types.tokens import TokenGrant

__all__ = ["DEFAULT_MAX_ENTRIES", "TokenCache"]

DEFAULT_MAX_ENTRIES = 10_000
"""Grants kept at most (``REMOTE_OAUTH_TOKEN_CACHE_SIZE``); the least recently used go first."""

Fetch = Callable[[], Awaitable[TokenGrant]]


@dataclass(frozen=True, slots=True)
class _Entry:
    grant: TokenGrant = field(repr=False)
    good_until: float
    """This process's monotonic clock when the grant expires."""
    group: str | None
    """The company ref whose consent the grant depends on (evicted together), if any."""


@dataclass(frozen=True)
class _Flight:
    """One call in progress for a key; callers that miss at the same time await its task."""

    task: asyncio.Future[TokenGrant] = field(repr=False)
    min_ttl: float
    rejected: str | None = field(repr=False)
    """The access token a 401 refused, when this call replaces it."""
    group: str | None
    sent: float
    """The process's monotonic clock just before the call was sent."""
    sent_wall: datetime


class TokenCache:
    """Grants by key, least recently used dropped beyond ``max_entries`` (0 keeps none: single flight only).

    ``clock`` (monotonic seconds) and ``wall`` (aware UTC) are the process's clocks; tests pass their own. For
    one event loop, like the Temporal client it serves (not thread-safe).
    """

    fresh: Callable[[Hashable, float], TokenGrant | None]
    """The cached grant if it stays valid ``min_ttl`` more seconds, else None: the hit path, no await.

    A closure over the entries and the clock rather than a method: it is what every ``token()`` call costs,
    and the closure saves a method's attribute lookups.
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utc_now,
    ) -> None:
        if max_entries < 0:
            raise ValueError("max_entries must be 0 or more")
        self._max = max_entries
        self._clock = clock
        self._wall = wall
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._flights: dict[Hashable, _Flight] = {}
        self.fresh = self._hit_path()

    def __repr__(self) -> str:
        return f"TokenCache(entries={len(self._entries)}, max_entries={self._max})"

    def __len__(self) -> int:
        return len(self._entries)

    def _hit_path(self) -> Callable[[Hashable, float], TokenGrant | None]:
        lookup, touch, clock = self._entries.get, self._entries.move_to_end, self._clock

        def fresh(key: Hashable, min_ttl: float) -> TokenGrant | None:
            entry = lookup(key)
            if entry is None or entry.good_until - clock() < min_ttl:
                return None
            touch(key)  # least recently used goes first
            return entry.grant

        return fresh

    async def get(
        self, key: Hashable, min_ttl: float, fetch: Fetch, *, group: str | None = None
    ) -> TokenGrant:
        """The cached grant if fresh enough, else ``fetch()``'s answer, one call for every concurrent caller.

        A caller joins a call already asking for at least its ``min_ttl`` and takes its answer (the
        workflow's word, as if it had asked itself); after a narrower call it looks again.
        """
        while True:
            cached = self.fresh(key, min_ttl)
            if cached is not None:
                return cached
            flight = self._flights.get(key)
            if flight is None:
                return await self._fly(key, fetch, min_ttl=min_ttl, rejected=None, group=group)
            if flight.rejected is None and flight.min_ttl >= min_ttl:
                return await asyncio.shield(flight.task)
            await asyncio.wait([flight.task])

    async def replace(
        self, key: Hashable, rejected: TokenGrant, fetch: Fetch, *, group: str | None = None
    ) -> TokenGrant:
        """After a 401 on ``rejected``: drop exactly that grant and fetch its successor, once for all who saw it.

        A different live grant in the cache already replaced it: that one comes back without a call.
        """
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.grant.access_token != rejected.access_token and entry.good_until > self._clock():
                    self._entries.move_to_end(key)
                    return entry.grant
                del self._entries[key]
            flight = self._flights.get(key)
            if flight is None:
                return await self._fly(key, fetch, min_ttl=0.0, rejected=rejected.access_token, group=group)
            if flight.rejected == rejected.access_token:
                return await asyncio.shield(flight.task)
            await asyncio.wait([flight.task])  # its answer may be the rejected token: look again after it

    def evict(self, key: Hashable) -> None:
        """Forget ``key``'s grant; a call in progress for it still answers its callers but is not kept."""
        self._entries.pop(key, None)
        self._flights.pop(key, None)

    def evict_group(self, group: str) -> None:
        """Forget every grant that depends on this company's consent (offboarded, consented again)."""
        for key in [key for key, entry in self._entries.items() if entry.group == group]:
            del self._entries[key]
        for key in [key for key, flight in self._flights.items() if flight.group == group]:
            del self._flights[key]

    async def _fly(
        self, key: Hashable, fetch: Fetch, *, min_ttl: float, rejected: str | None, group: str | None
    ) -> TokenGrant:
        sent, sent_wall = self._clock(), self._wall()
        # A task of its own: a caller cancelled mid-call neither cancels the others' call nor loses its answer.
        task = asyncio.ensure_future(fetch())
        flight = _Flight(task, min_ttl, rejected, group, sent, sent_wall)
        self._flights[key] = flight
        # Runs before any caller resumes (added first), so they find the grant kept.
        task.add_done_callback(functools.partial(self._landed, key, flight))
        return await asyncio.shield(task)

    def _landed(self, key: Hashable, flight: _Flight, task: asyncio.Future[TokenGrant]) -> None:
        failed = task.cancelled() or task.exception() is not None  # retrieved: its callers may all be gone
        if self._flights.get(key) is not flight:
            return  # evicted while in flight (offboard, new consent): its callers have it, nobody else
        del self._flights[key]
        if failed or not self._max:
            return
        grant = task.result()
        # Re-anchored on this process's clock from before the call, as the workflows anchor on theirs: what
        # was left when we asked, and never more than the grant's whole lifetime.
        left = min(grant.expires_at - flight.sent_wall, grant.expires_at - grant.issued_at)
        self._entries[key] = _Entry(grant, flight.sent + left.total_seconds(), flight.group)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
