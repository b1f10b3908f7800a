"""The bench: its quick run prints every figure with a ratio; the fleet stays under budget; chaos loses nothing.

No test here asserts a timing: figures depend on the machine, correctness does not.
"""

from __future__ import annotations

import asyncio
import re

from temporalio.testing import WorkflowEnvironment

from bench.chaos import Outcome, kill_storm, lost_responses, outage, two_workers
from bench.rate import fleet_rate
from tests import ROOT
from tests.support.temporal import TEST_KEYS

QUICK_TIMEOUT = 240.0
CHAOS_LIMIT = 120.0
"""Seconds a small chaos scenario may take before it counts as hung (they take 3-20 s here)."""
LABELS = (
    "(1) token exchange: activity vs raw httpx",
    "(1) token exchange: activity vs Authlib",
    "(2) onboarding: callback -> token",
    "(3) onboardings/s",
    "(3) refresh storm/s",
    "(4) API call with auth(company_ref)",
    "(6) token() cache hit vs dict lookup",
    "(6) Temporal RPCs, 10,000 token() calls",
    "(6) billable actions, 10,000 token() calls",
    "(7) actions per onboarding",
    "(7) actions per proactive refresh cycle",
    "(7) actions per on-demand keep-alive day",
    "(7) actions per company-month, proactive",
    "(7) actions per company-month, on-demand idle",
    "(5) peak RSS",
    "(5) history events per refresh cycle",
    "(5) largest history of any run",
)
RATIO = re.compile(r"\s\d+\.\d\dx\s+(<=|>=)\d+\.\d\d\s+(met|MISSED)$")


async def test_quick_run_prints_every_figure_with_a_ratio() -> None:
    """``scripts/bench --quick`` ends cleanly and prints each figure once, with a ratio and a verdict."""
    process = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "bench"),
        "--quick",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), QUICK_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    lines = stdout.decode().splitlines()
    assert process.returncode == 0, (lines[-20:], stderr.decode()[-3000:])
    for label in LABELS:
        found = [line for line in lines if line.startswith(label)]
        assert len(found) == 1, (label, lines)
        assert RATIO.search(found[0]), found[0]


async def test_two_workers_share_one_token_budget(dev_server_env: WorkflowEnvironment) -> None:
    """Two worker sets on one token queue together stay under its per-minute budget, measured at the sandbox."""
    result = await fleet_rate(dev_server_env, companies=8, budget_per_minute=120.0, seconds=60.0)
    assert result.requests == 16  # 8 code exchanges + 8 forced refreshes, nothing lost or doubled
    assert result.companies_refreshed == 8
    assert result.rate_limited == 0
    assert result.under_budget, result


async def test_worker_killed_again_and_again_loses_no_consent(dev_server_env: WorkflowEnvironment) -> None:
    """Refresh storms while the worker process is SIGKILLed and restarted: every company active, token live."""
    async with asyncio.timeout(CHAOS_LIMIT):
        result = await kill_storm(dev_server_env, TEST_KEYS, companies=5, storm_seconds=3.0, kill_every=1.0)
    assert (result.active, result.revoked, result.live_tokens, result.lost) == (5, 0, 5, 0), result
    assert "SIGKILLed 0x" not in result.detail  # the worker really was killed


async def test_the_surviving_worker_finishes_the_storm(dev_server_env: WorkflowEnvironment) -> None:
    async with asyncio.timeout(CHAOS_LIMIT):
        result = await two_workers(dev_server_env, TEST_KEYS, companies=4)
    assert (result.active, result.revoked, result.live_tokens, result.lost) == (4, 0, 4, 0), result


async def test_lost_refresh_answers_without_rotation_lose_nothing(
    dev_server_env: WorkflowEnvironment,
) -> None:
    async with asyncio.timeout(CHAOS_LIMIT):
        result = await lost_responses(dev_server_env, companies=6, rotation="off")
    assert (result.active, result.revoked, result.live_tokens, result.lost) == (6, 0, 6, 0), result
    assert "2 refresh answers dropped" in result.detail  # a third of 6, so the fault really fired


async def test_lost_refresh_answers_with_strict_rotation_are_all_reported(
    dev_server_env: WorkflowEnvironment,
) -> None:
    """Each answer dropped after the gateway rotated costs that consent, and says so: never silent."""
    async with asyncio.timeout(CHAOS_LIMIT):
        result = await lost_responses(dev_server_env, companies=6, rotation="strict")
    assert result.revoked == result.reported_losses == 2, result
    assert (result.live_tokens, result.lost) == (4, 0), result


async def test_a_long_outage_revokes_nobody(own_time_skipping_env: WorkflowEnvironment) -> None:
    """30 minutes of 503s on every refresh (skipped time): every company recovers, none is revoked."""
    async with asyncio.timeout(CHAOS_LIMIT):
        result = await outage(own_time_skipping_env, companies=3, minutes=30)
    assert (result.active, result.revoked, result.live_tokens, result.lost) == (3, 0, 3, 0), result
    assert "0 refresh attempts refused" not in result.detail  # the outage really happened


def test_an_unreported_loss_is_counted() -> None:
    """The chaos verdict can fail: a revoked company without the lost-response reason is a lost consent."""
    silent = Outcome("x", companies=3, active=2, revoked=1, live_tokens=2, seconds=1.0, reported_losses=0)
    reported = Outcome("x", companies=3, active=2, revoked=1, live_tokens=2, seconds=1.0, reported_losses=1)
    assert (silent.lost, reported.lost) == (1, 0)
    assert silent.line().endswith("MISSED")
    assert reported.line().endswith("met")
