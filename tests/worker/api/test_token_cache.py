"""The process's token cache: shared misses, exact freshness, eviction by 401, consent and size, no leaks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from worker.api import TokenCache
from workflows.types.tokens import TokenGrant

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEY = "acme"


class Clocks:
    """A monotonic and a wall clock that move together, by hand."""

    def __init__(self, wall: datetime = T0) -> None:
        self.seconds = 1000.0
        self.start_wall = wall

    def monotonic(self) -> float:
        return self.seconds

    def wall(self) -> datetime:
        return self.start_wall + timedelta(seconds=self.seconds - 1000.0)

    def cache(self, max_entries: int = 10) -> TokenCache:
        return TokenCache(max_entries, clock=self.monotonic, wall=self.wall)


def grant(name: str, *, issued_at: datetime = T0, lifetime: int = 3600) -> TokenGrant:
    return TokenGrant(
        access_token=f"secret-{name}",
        token_type="bearer",
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=lifetime),
    )


class Source:
    """A fetch that counts its calls and answers the grants given, in order, optionally after ``gate``."""

    def __init__(self, *grants: TokenGrant, gate: asyncio.Event | None = None) -> None:
        self.grants = list(grants)
        self.calls = 0
        self.gate = gate

    async def __call__(self) -> TokenGrant:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.grants.pop(0)


async def test_concurrent_misses_share_one_fetch() -> None:
    """Two hundred callers that miss at once wait on one fetch and all get its grant."""
    cache, gate = Clocks().cache(), asyncio.Event()
    source = Source(grant("a"), gate=gate)
    tasks = [asyncio.ensure_future(cache.get(KEY, 60, source)) for _ in range(200)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert (source.calls, {r.access_token for r in results}) == (1, {"secret-a"})
    assert await cache.get(KEY, 60, source) == grant("a")
    assert source.calls == 1


async def test_a_grant_under_min_ttl_is_fetched_again_never_handed_out() -> None:
    """With less than ``min_ttl`` left on the process clock, the caller gets the next grant, not the old."""
    clocks = Clocks()
    cache = clocks.cache()
    source = Source(grant("old"), grant("new", issued_at=T0 + timedelta(seconds=3550)))
    assert (await cache.get(KEY, 60, source)).access_token == "secret-old"
    clocks.seconds += 3540  # exactly 60 s left: still good for 60, not for 61
    assert cache.fresh(KEY, 60) == grant("old")
    assert cache.fresh(KEY, 61) is None
    clocks.seconds += 10
    assert cache.fresh(KEY, 60) is None
    assert (await cache.get(KEY, 60, source)).access_token == "secret-new"
    assert source.calls == 2


async def test_a_grant_received_late_in_its_life_is_kept_only_for_what_is_left() -> None:
    """A grant 50 minutes into its hour when asked for is good for 10 minutes here, not for an hour."""
    clocks = Clocks(wall=T0 + timedelta(minutes=50))
    cache = clocks.cache()
    await cache.get(KEY, 0, Source(grant("a")))
    clocks.seconds += 599
    assert cache.fresh(KEY, 0) == grant("a")
    clocks.seconds += 2
    assert cache.fresh(KEY, 0) is None


async def test_a_clock_behind_the_workflows_never_stretches_a_grant_past_its_lifetime() -> None:
    """This process's wall clock an hour behind the workflow's: the grant still lasts one lifetime at most."""
    clocks = Clocks(wall=T0 - timedelta(hours=1))
    cache = clocks.cache()
    await cache.get(KEY, 0, Source(grant("a")))
    clocks.seconds += 3599
    assert cache.fresh(KEY, 0) == grant("a")
    clocks.seconds += 2
    assert cache.fresh(KEY, 0) is None


async def test_a_rejected_grant_is_evicted_and_the_next_call_gets_its_successor() -> None:
    """A 401 on the cached grant fetches once; a second report of it and the next read cost nothing."""
    cache = Clocks().cache()
    old, new = grant("old"), grant("new")
    await cache.get(KEY, 60, Source(old))
    replacing = Source(new)
    assert await cache.replace(KEY, old, replacing) == new
    assert await cache.replace(KEY, old, replacing) == new
    assert await cache.get(KEY, 60, Source()) == new
    assert replacing.calls == 1


async def test_concurrent_rejections_of_one_grant_share_one_replacement() -> None:
    """Twenty requests that saw the same 401 wait on one replacement."""
    cache, gate = Clocks().cache(), asyncio.Event()
    old = grant("old")
    await cache.get(KEY, 60, Source(old))
    replacing = Source(grant("new"), gate=gate)
    tasks = [asyncio.ensure_future(cache.replace(KEY, old, replacing)) for _ in range(20)]
    await asyncio.sleep(0)
    gate.set()
    assert {r.access_token for r in await asyncio.gather(*tasks)} == {"secret-new"}
    assert replacing.calls == 1


async def test_a_rejection_evicts_only_the_rejected_grant() -> None:
    """A 401 on another key's grant, or on an older grant of this key, leaves this key's grant alone."""
    cache = Clocks().cache()
    current = grant("current")
    await cache.get(KEY, 60, Source(current))
    assert await cache.replace(KEY, grant("older"), Source()) == current
    assert cache.fresh(KEY, 60) == current


async def test_evicting_a_company_forgets_every_grant_of_its_consent_and_nothing_else() -> None:
    """Offboarding or a new consent drops the company's token and its assertion tokens, not the partner's."""
    cache = Clocks().cache()
    await cache.get(KEY, 60, Source(grant("company")), group="acme")
    await cache.get(("assertion", "acme", None, None, None), 60, Source(grant("admin")), group="acme")
    await cache.get(("partner", None), 60, Source(grant("partner")))
    await cache.get("globex", 60, Source(grant("globex")), group="globex")
    cache.evict_group("acme")
    assert cache.fresh(KEY, 0) is None
    assert cache.fresh(("assertion", "acme", None, None, None), 0) is None
    assert [cache.fresh(k, 0) for k in (("partner", None), "globex")] == [
        grant("partner"),
        grant("globex"),
    ]


async def test_a_fetch_in_flight_when_evicted_is_answered_but_not_kept() -> None:
    """A query sent before an offboard still answers its callers, and the next read asks again."""
    cache, gate = Clocks().cache(), asyncio.Event()
    source = Source(grant("before"), grant("after"), gate=gate)
    task = asyncio.ensure_future(cache.get(KEY, 60, source, group="acme"))
    await asyncio.sleep(0)
    cache.evict_group("acme")
    gate.set()
    assert (await task).access_token == "secret-before"
    assert cache.fresh(KEY, 0) is None
    assert (await cache.get(KEY, 60, source)).access_token == "secret-after"


async def test_the_least_recently_used_grant_goes_beyond_the_size() -> None:
    """At two entries, a third drops the one read least recently."""
    cache = Clocks().cache(max_entries=2)
    for name in ("a", "b"):
        await cache.get(name, 60, Source(grant(name)))
    assert cache.fresh("a", 60) is not None
    await cache.get("c", 60, Source(grant("c")))
    assert [cache.fresh(n, 60) is not None for n in ("a", "b", "c")] == [True, False, True]
    assert len(cache) == 2


async def test_size_zero_keeps_nothing_but_still_shares_a_miss() -> None:
    """A cache of size 0 keeps no grant; callers that miss together still share one fetch."""
    cache, gate = Clocks().cache(max_entries=0), asyncio.Event()
    source = Source(grant("a"), grant("b"), gate=gate)
    tasks = [asyncio.ensure_future(cache.get(KEY, 60, source)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert {r.access_token for r in await asyncio.gather(*tasks)} == {"secret-a"}
    assert (len(cache), source.calls) == (0, 1)
    assert (await cache.get(KEY, 60, source)).access_token == "secret-b"


async def test_a_failed_fetch_fails_every_waiting_caller_and_is_not_kept() -> None:
    """One failing query fails each caller that waited on it, once; the next caller tries again."""
    cache, gate = Clocks().cache(), asyncio.Event()
    calls = 0

    async def failing() -> TokenGrant:
        nonlocal calls
        calls += 1
        await gate.wait()
        raise LookupError("no workflow")

    tasks = [asyncio.ensure_future(cache.get(KEY, 60, failing)) for _ in range(10)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results] == [LookupError] * 10
    assert calls == 1
    assert (await cache.get(KEY, 60, Source(grant("a")))).access_token == "secret-a"


async def test_a_cancelled_caller_leaves_the_shared_fetch_running() -> None:
    """The caller that started a fetch is cancelled; the others still get its grant, and it is kept."""
    cache, gate = Clocks().cache(), asyncio.Event()
    source = Source(grant("a"), gate=gate)
    first = asyncio.ensure_future(cache.get(KEY, 60, source))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(cache.get(KEY, 60, source))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert (await second).access_token == "secret-a"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert (source.calls, cache.fresh(KEY, 60)) == (1, grant("a"))


async def test_a_caller_wanting_more_than_the_call_in_flight_asks_again() -> None:
    """A caller needing 3,000 s does not take the answer of a call that asked for 60 s and got 100 s."""
    clocks = Clocks()
    cache, gate = clocks.cache(), asyncio.Event()
    short = grant("short", issued_at=T0 - timedelta(seconds=3500))
    source = Source(short, grant("long"), gate=gate)
    narrow = asyncio.ensure_future(cache.get(KEY, 60, source))
    await asyncio.sleep(0)
    wide = asyncio.ensure_future(cache.get(KEY, 3000, source))
    await asyncio.sleep(0)
    gate.set()
    assert ((await narrow).access_token, (await wide).access_token) == ("secret-short", "secret-long")
    assert source.calls == 2


async def test_no_token_reaches_a_repr() -> None:
    """The cache, its entries and its calls in flight print no token."""
    cache, gate = Clocks().cache(), asyncio.Event()
    await cache.get(KEY, 60, Source(grant("a")))
    task = asyncio.ensure_future(cache.replace(KEY, grant("a"), Source(grant("b"), gate=gate)))
    await asyncio.sleep(0)
    shown = repr(cache) + repr(list(cache._entries.values())) + repr(list(cache._flights.values()))
    gate.set()
    await task
    shown += repr(list(cache._entries.values()))
    assert repr(cache) == "TokenCache(entries=1, max_entries=10)"
    assert "secret" not in shown


async def test_evicting_one_company_keeps_another_companys_call_in_flight() -> None:
    """An offboard of one company does not stop the grant another company's caller is fetching from being kept."""
    cache, gate = Clocks().cache(), asyncio.Event()
    task = asyncio.ensure_future(cache.get("globex", 60, Source(grant("globex"), gate=gate), group="globex"))
    await asyncio.sleep(0)
    cache.evict_group("acme")
    gate.set()
    await task
    assert cache.fresh("globex", 60) == grant("globex")
