"""Record one history per workflow type into tests/histories/, for replay tests of later versions.

Run ``python -m tests.record_histories`` when a workflow's released behaviour changes: keep the old files
(they prove new code still replays old histories) and add the new ones under a new name.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.conftest import TEST_KEYS, started_time_skipping
from tests.test_company import TTL, Stack, make_stack
from worker.temporal import test_server_binary
from workflows.codec import Keyring
from workflows.consent import Callback, Phase

HISTORIES = Path(__file__).parent / "histories"


async def company_lifecycle(stack: Stack) -> WorkflowHistory:
    """Consent, refreshes, a forced refresh, revocation, re-consent after a denial, offboarding."""
    link = await stack.oauth.onboard("replay")
    await stack.oauth.complete_consent(await stack.approve(link))
    await stack.env.sleep(timedelta(hours=2, minutes=5))
    await stack.oauth.token("replay", min_ttl=TTL + 60)
    status = await stack.oauth.status("replay")
    await stack.http.post(f"/sandbox/companies/{status.company_id}/revoke")
    await stack.env.sleep(timedelta(hours=1, minutes=5))
    revoked = await stack.oauth.onboard("replay")
    denied = await stack.approve(revoked)
    await stack.oauth.complete_consent(Callback(state=denied.state, error="access_denied"))
    again = await stack.oauth.onboard("replay")
    result = await stack.oauth.complete_consent(await stack.approve(again))
    assert result.phase is Phase.ACTIVE, result.message
    await stack.oauth.offboard("replay", reason="recorded")
    return await stack.handle("replay").fetch_history()


SCENARIOS: dict[str, Callable[[Stack], Awaitable[WorkflowHistory]]] = {
    "company_consent": company_lifecycle,
}
"""History file stem -> the scenario that produces it (one per workflow type)."""


async def record(name: str, env: WorkflowEnvironment) -> WorkflowHistory:
    config = SandboxConfig(auto_approve=True, token_ttl=TTL)
    async with make_stack(env, f"record-{name}", config=config) as stack:
        return await SCENARIOS[name](stack)


async def main(version: str) -> None:
    async with started_time_skipping(test_server_binary(), Keyring.parse(TEST_KEYS)) as env:
        for name in SCENARIOS:
            history = await record(name, env)
            path = HISTORIES / f"{name}-{version}.json"
            path.write_text(history.to_json() + "\n", encoding="utf-8")
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v1"))
