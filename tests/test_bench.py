"""The bench: its quick run prints every figure with a ratio; the fleet stays under budget; chaos loses nothing.

No test here asserts a timing: figures depend on the machine, correctness does not.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bench.chaos import chaos
from bench.rate import fleet_rate
from tests.conftest import TEST_KEYS

ROOT = Path(__file__).resolve().parent.parent
QUICK_TIMEOUT = 150.0
LABELS = (
    "(1) token exchange: activity vs raw httpx",
    "(1) token exchange: activity vs Authlib",
    "(2) onboarding: callback -> token",
    "(3) onboardings/s",
    "(3) refresh storm/s",
    "(4) API call with auth(company_ref)",
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
    result = await fleet_rate(dev_server_env.client, companies=8, budget_per_minute=120.0, seconds=60.0)
    assert result.requests == 16  # 8 code exchanges + 8 forced refreshes, nothing lost or doubled
    assert result.companies_refreshed == 8
    assert result.rate_limited == 0
    assert result.under_budget, result


async def test_worker_crash_and_outage_lose_no_consent(dev_server_env: WorkflowEnvironment) -> None:
    """A SIGKILLed worker mid refresh storm and a token-endpoint outage: every company recovers, none revoked."""
    result = await chaos(dev_server_env.client, TEST_KEYS, companies=5, seconds=100.0)
    assert (result.active, result.revoked, result.live_tokens, result.lost) == (5, 0, 5, 0)
    assert result.outage_503s > 0  # the outage really happened
