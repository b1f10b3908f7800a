"""The kept-token core's rules, driven directly: no Temporal server, no workflow context, time passed in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.support.kept_token import ABC_SHA256, HOUR, T0, grant, kept
from workflows.kept_token import KeptToken, SingleFlight
from workflows.schedule import RefreshTiming, delay_until
from workflows.types.company import CompanySettings
from workflows.types.errors import ErrorType
from workflows.types.kept_token import (
    Failure,
    FreshnessRequest,
    KeptTokenMemory,
    reanchor,
    token_digest,
)
from workflows.types.partner import PartnerSettings


def test_a_token_answers_while_it_has_min_ttl_left() -> None:
    """Exactly ``min_ttl`` left answers; a microsecond less asks for a refresh."""
    state = kept(grant())
    ask = FreshnessRequest(min_ttl_seconds=600)
    assert state.needs_refresh(ask, T0 + HOUR - timedelta(seconds=600)) is False
    assert state.needs_refresh(ask, T0 + HOUR - timedelta(seconds=600) + timedelta(microseconds=1)) is True


def test_no_token_always_needs_one() -> None:
    """Without a token every request needs a grant, even one asking for no time at all."""
    assert kept().needs_refresh(FreshnessRequest(min_ttl_seconds=0), T0) is True


def test_a_rejected_token_is_refreshed_only_while_it_is_current() -> None:
    """A 401 report refreshes the kept token if it is the rejected one, whatever its lifetime; a report
    about a token already replaced (or a malformed digest) asks for nothing."""
    state = kept(grant("abc"))
    assert state.needs_refresh(FreshnessRequest(rejected_token_sha256=ABC_SHA256), T0) is True
    old = token_digest(grant("old-token"))
    assert state.needs_refresh(FreshnessRequest(rejected_token_sha256=old), T0 + HOUR) is False
    assert state.needs_refresh(FreshnessRequest(rejected_token_sha256="é" * 64), T0) is False


def test_a_token_is_usable_until_it_expires() -> None:
    """``usable`` hands out the token strictly before ``expires_at``, and nothing without one."""
    state = kept(grant())
    assert state.usable(T0 + HOUR - timedelta(microseconds=1)) == grant()
    assert state.usable(T0 + HOUR) is None
    assert kept().usable(T0) is None


# -- when to refresh -------------------------------------------------------------------------------


def test_a_one_hour_token_refreshes_fifteen_minutes_early_minus_its_jitter() -> None:
    """Window min(15 min, half the lifetime); the jitter draw takes up to ``max_jitter_seconds`` more."""
    timing = RefreshTiming(max_jitter_seconds=60)
    assert kept(grant()).refresh_at(timing) == T0 + timedelta(minutes=45)
    assert kept(grant(), jitter=0.5).refresh_at(timing) == T0 + timedelta(minutes=44, seconds=30)


def test_a_short_token_refreshes_at_half_its_life_with_jitter_capped_to_a_quarter_window() -> None:
    """A 10-minute token: window 5 min; a 10-minute jitter is capped at 75 s so it still refreshes in time."""
    state = kept(grant(lifetime=timedelta(minutes=10)), jitter=1.0)
    assert state.refresh_at(RefreshTiming(max_jitter_seconds=600)) == T0 + timedelta(minutes=3, seconds=45)


def test_the_retry_time_comes_before_the_refresh_time() -> None:
    """After a failure the next wake is the retry time; without a token and retry there is none."""
    timing = RefreshTiming(max_jitter_seconds=0)
    assert kept(grant()).next_wake(timing) == T0 + timedelta(minutes=45)
    assert kept(grant(), retry_at=T0 + timedelta(minutes=1)).next_wake(timing) == T0 + timedelta(minutes=1)
    assert kept().next_wake(timing) is None


def test_a_timer_is_never_shorter_than_the_minimum_delay() -> None:
    """A wake in the past still waits ``min_delay_seconds``, so a stale token cannot spin the loop."""
    timing = RefreshTiming(min_delay_seconds=1.0)
    assert delay_until(T0 - HOUR, T0, timing) == timedelta(seconds=1)
    assert delay_until(T0 + HOUR, T0, timing) == HOUR


# -- taking a grant: re-anchoring ------------------------------------------------------------------


def test_a_grant_is_re_anchored_on_the_time_it_was_requested() -> None:
    """A worker whose clock runs 5 minutes ahead dated the grant; the kept token lives one hour from the
    workflow time before the request, never later than the gateway meant."""
    skewed = grant(issued_at=T0 + timedelta(minutes=5))
    assert reanchor(skewed, T0) == grant(issued_at=T0)


def test_taking_a_grant_forgets_the_failure_and_counts_it() -> None:
    """The kept token is re-anchored; retry time and last error go; a counted grant adds a refresh and a cycle."""
    state = kept(None, retry_at=T0, last_error="down", last_error_type="ServerError", refreshes=4)
    state.take(grant(issued_at=T0 + HOUR), requested_at=T0, now=T0 + timedelta(seconds=2), jitter=0.75)
    assert state.to_memory() == KeptTokenMemory(
        token=grant(issued_at=T0), last_refresh_at=T0 + timedelta(seconds=2), refreshes=5, jitter=0.75
    )
    assert state.cycles == 1


def test_an_uncounted_grant_without_a_draw_keeps_count_and_jitter() -> None:
    """An exchange is not a refresh (not counted); a cache with no timer draws no jitter."""
    state = kept(None, refreshes=4, jitter=0.5)
    state.take(grant(), requested_at=T0, now=T0, jitter=None, counted=False)
    assert (state.refreshes, state.cycles, state.jitter) == (4, 0, 0.5)


@pytest.mark.parametrize(
    ("error_type", "wait"),
    [(ErrorType.INVALID_CLIENT, timedelta(hours=1)), (ErrorType.SERVER_ERROR, timedelta(seconds=60))],
)
def test_a_failed_grant_is_retried_later_by_its_kind(error_type: str, wait: timedelta) -> None:
    """Configuration errors wait ``misconfigured_retry_seconds``, anything else ``failed_refresh_retry_seconds``."""
    for settings in (CompanySettings(), PartnerSettings()):
        state = kept(grant())
        failure = Failure(error_type, "it failed")
        state.fail(failure)
        state.retry_later(failure, T0, settings)
        assert (state.retry_at, state.last_error, state.last_error_type) == (
            T0 + wait,
            "it failed",
            error_type,
        )
        assert state.token == grant(), "a failure never drops the token"


# -- memory ----------------------------------------------------------------------------------------


def test_the_memory_round_trip_behaves_the_same() -> None:
    """A state restored from its memory makes the same decisions (the per-run cycle count starts again)."""
    state = kept(grant(), retry_at=T0 + timedelta(minutes=2), last_error="down", refreshes=3, jitter=0.4)
    restored = KeptToken.from_memory(state.to_memory(), jitter=0.9)
    assert restored.to_memory() == state.to_memory()
    timing = RefreshTiming()
    for now in (T0, T0 + timedelta(minutes=50), T0 + HOUR):
        for ask in (
            FreshnessRequest(min_ttl_seconds=600),
            FreshnessRequest(rejected_token_sha256=ABC_SHA256),
        ):
            assert restored.needs_refresh(ask, now) == state.needs_refresh(ask, now)
        assert restored.usable(now) == state.usable(now)
    assert (restored.next_wake(timing), restored.refresh_at(timing)) == (
        state.next_wake(timing),
        state.refresh_at(timing),
    )


def test_a_fresh_draw_is_used_only_when_the_memory_carries_no_jitter() -> None:
    """Memories from before the jitter was carried take the new draw; later ones keep theirs."""
    assert KeptToken.from_memory(None, jitter=0.3).jitter == 0.3
    assert KeptToken.from_memory(KeptTokenMemory(jitter=None), jitter=0.3).jitter == 0.3
    assert KeptToken.from_memory(KeptTokenMemory(jitter=0.8), jitter=0.3).jitter == 0.8


# -- single flight ---------------------------------------------------------------------------------


async def test_callers_that_waited_for_a_flight_take_its_answer() -> None:
    """Three callers at once: the first refreshes and lands; the two that waited start nothing; a caller
    arriving afterwards may start the next flight."""
    flight = SingleFlight()
    started: list[int] = []
    arrived: list[int] = []
    all_in, release = asyncio.Event(), asyncio.Event()

    async def caller(n: int, expected: int) -> None:
        arrived.append(n)
        if len(arrived) == expected:
            all_in.set()  # the main task resumes only once this caller blocks, its ticket taken
        async with flight.turn() as first:
            if first:
                started.append(n)
                await release.wait()
                flight.land()

    tasks = [asyncio.create_task(caller(n, 3)) for n in range(3)]
    await all_in.wait()
    release.set()
    await asyncio.gather(*tasks)
    assert started == [0]
    await caller(3, 4)
    assert (started, flight.landed) == ([0, 3], 2)


async def test_a_flight_that_does_not_land_leaves_the_next_caller_free_to_try() -> None:
    """A refresh that failed (the company does not land it) answers no one: the next waiter tries itself."""
    flight = SingleFlight()
    started: list[int] = []
    arrived: list[int] = []
    all_in, release = asyncio.Event(), asyncio.Event()

    async def caller(n: int, expected: int) -> None:
        arrived.append(n)
        if len(arrived) == expected:
            all_in.set()  # the main task resumes only once this caller blocks, its ticket taken
        async with flight.turn() as first:
            if first:
                started.append(n)
                await release.wait()

    tasks = [asyncio.create_task(caller(n, 2)) for n in range(2)]
    await all_in.wait()
    release.set()
    await asyncio.gather(*tasks)
    assert (started, flight.landed) == ([0, 1], 0)


# -- what is handed out (issue 19: a token shorter than min_ttl, or the rejected one, was handed out) -----

ASK_10_MIN = FreshnessRequest(min_ttl_seconds=600)


def test_a_token_with_min_ttl_left_is_handed_out() -> None:
    """Exactly ``min_ttl`` left is enough."""
    assert kept(grant()).handout(ASK_10_MIN, T0 + HOUR - timedelta(seconds=600)) == grant()


def test_a_short_grant_is_refused_with_the_lifetime_the_gateway_gives() -> None:
    """A fresh grant that lives less than asked: the caller learns the lifetime and what to ask instead."""
    short = kept(grant(lifetime=timedelta(seconds=120)))
    assert short.handout(ASK_10_MIN, T0) == (
        "the gateway issues tokens that live 120 s, less than the 600 s asked: ask for a shorter min_ttl_seconds"
    )


def test_a_token_gone_short_while_refresh_fails_is_refused_with_the_failure() -> None:
    """After a failed refresh the token still lives, but not long enough: refused, saying why."""
    state = kept(grant(), last_error="rate limited (HTTP 429)")
    assert state.handout(ASK_10_MIN, T0 + HOUR - timedelta(seconds=300)) == (
        "the token has 300 s left, less than the 600 s asked: the last refresh failed (rate limited (HTTP 429)) "
        "and is retried on its own; ask again later"
    )


def test_the_token_a_caller_saw_rejected_is_never_handed_back() -> None:
    """A 401 report whose refresh failed is refused; a report about a replaced token gets the new one."""
    state = kept(grant("abc"), last_error="gateway down")
    rejected = FreshnessRequest(rejected_token_sha256=token_digest(grant("abc")))
    assert state.handout(rejected, T0) == (
        "the token the caller saw rejected is still the only one: the last refresh failed (gateway down) and is "
        "retried on its own; ask again later"
    )
    old = FreshnessRequest(rejected_token_sha256=token_digest(grant("older")))
    assert state.handout(old, T0) == grant("abc")


@pytest.mark.parametrize(("error", "reason"), [(None, "none was granted yet"), ("down", "the last refresh")])
def test_no_unexpired_token_is_refused(error: str | None, reason: str) -> None:
    """Expired (or none at all): refused whatever was asked, even a 401 report about an older token."""
    for state in (kept(grant(), last_error=error), kept(None, last_error=error)):
        old = FreshnessRequest(rejected_token_sha256=token_digest(grant("older")))
        for ask in (FreshnessRequest(min_ttl_seconds=0), old):
            refusal = state.handout(ask, T0 + HOUR)
            assert isinstance(refusal, str)
            assert refusal.startswith(f"no unexpired token: {reason}")
