"""Gateway calls heartbeat only while slow, so a crashed worker's call is retried within the heartbeat timeout."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from tests.support.scripted_gateway import TOKEN, run
from workflows.io.gateway import heartbeat
from workflows.options import TOKEN_ENDPOINT
from workflows.types.activity import RefreshInput


def recording_env() -> tuple[ActivityEnvironment, list[tuple[object, ...]]]:
    beats: list[tuple[object, ...]] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    return env, beats


async def test_a_slow_block_heartbeats_until_it_ends() -> None:
    env, beats = recording_env()

    async def slow() -> None:
        with heartbeat.while_slow(every=0.02):
            await asyncio.sleep(0.2)
        after = len(beats)
        await asyncio.sleep(0.1)
        assert len(beats) == after, "heartbeats went on after the block ended"

    await env.run(slow)
    assert len(beats) >= 3


async def test_a_fast_block_sends_none() -> None:
    env, beats = recording_env()

    async def fast() -> None:
        with heartbeat.while_slow(every=0.5):
            await asyncio.sleep(0)
        await asyncio.sleep(0.6)

    await env.run(fast)
    assert beats == []


async def test_a_failing_block_stops_heartbeating() -> None:
    env, beats = recording_env()

    async def failing() -> None:
        with pytest.raises(TimeoutError), heartbeat.while_slow(every=0.02):
            raise TimeoutError
        await asyncio.sleep(0.1)

    await env.run(failing)
    assert beats == []


async def test_outside_an_activity_it_does_nothing() -> None:
    with heartbeat.while_slow(every=0.01):
        await asyncio.sleep(0.05)


async def test_a_slow_gateway_call_heartbeats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the Refresh activity: a call answered after 0.25 s heartbeats on the way."""
    monkeypatch.setattr(heartbeat, "EVERY", 0.05)
    beats: list[tuple[object, ...]] = []

    async def slow(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.25)
        return httpx.Response(200, json=TOKEN)

    grant, _ = await run("refresh", RefreshInput(refresh_token="rt-1"), slow, beats=beats)
    assert grant.access_token == "at-1"
    assert len(beats) >= 2


def test_the_timeout_leaves_room_for_the_throttled_beats() -> None:
    """Beats every EVERY s, sent at most every 0.8 x timeout by the SDK: each lands before the timeout."""
    assert TOKEN_ENDPOINT.heartbeat is not None
    timeout = TOKEN_ENDPOINT.heartbeat.total_seconds()
    assert heartbeat.EVERY * 2 < timeout < TOKEN_ENDPOINT.start_to_close.total_seconds()
    assert TOKEN_ENDPOINT.kwargs()["heartbeat_timeout"] == TOKEN_ENDPOINT.heartbeat
