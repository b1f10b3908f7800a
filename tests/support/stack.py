"""The stack as tests build it: ``bench.stack.running_stack`` with the sandbox's dev client, signed connect
links and exact refresh timing (no jitter), so tests can count every refresh."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

from temporalio.testing import WorkflowEnvironment

from bench.stack import REDIRECT_URI, Stack, running_stack
from bench.stack import settings_for as sandbox_settings
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox
from workflows.io.settings import Settings
from workflows.schedule import RefreshTiming
from workflows.types.company import CompanySettings

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "CONNECT_KEY",
    "EXACT",
    "REDIRECT_URI",
    "TTL",
    "Stack",
    "make_stack",
    "settings_for",
]

CLIENT_ID = SandboxConfig().client_id
"""The sandbox's registered dev client (``remote-oauth-dev``)."""
CLIENT_SECRET = SandboxConfig().client_secret
CONNECT_KEY = "connect-key-for-tests-only-0123456789abcdef"
TTL = 4500
"""75-minute tokens: refresh-ahead window 15 min, so with no jitter a refresh every hour exactly."""
EXACT = CompanySettings(timing=RefreshTiming(max_jitter_seconds=0), cycles_per_run=100)


def settings_for(sandbox: RunningSandbox, **env: str) -> Settings:
    """The workers' settings: the sandbox's credentials, the connect key, and ``env``."""
    return sandbox_settings(sandbox, REMOTE_OAUTH_CONNECT_KEYS=CONNECT_KEY, **env)


@contextlib.asynccontextmanager
async def make_stack(
    env: WorkflowEnvironment,
    task_queue: str,
    *,
    config: SandboxConfig | None = None,
    company_settings: CompanySettings = EXACT,
    settings: Mapping[str, str] | None = None,
    max_cached_workflows: int | None = None,
    start_workers: bool = True,
) -> AsyncIterator[Stack]:
    """A sandbox (auto-approving, ``TTL`` tokens unless ``config``), workers and the API on ``task_queue``."""
    async with running_stack(
        env,
        config or SandboxConfig(auto_approve=True, token_ttl=TTL),
        task_queue=task_queue,
        settings={"REMOTE_OAUTH_CONNECT_KEYS": CONNECT_KEY, **(settings or {})},
        company_settings=company_settings,
        max_cached_workflows=max_cached_workflows,
        start_workers=start_workers,
    ) as stack:
        yield stack
