"""One bench stack: the bundled dev server, a loopback sandbox, in-process workers and the API.

Everything runs in this process on one event loop (the dev server is its own process), so every figure
and its reference share the same machine, loop and connections: the ratios are what the bench is about.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.floor import FloorWorkflow, noop
from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from worker.api.companies import Onboarding, RemoteOAuth
from worker.runner import WORKFLOW_RUNNER, WorkerOptions, running_workers
from worker.temporal import temporal_binary, test_server_binary
from workflows.company_effects import SEARCH_ATTRIBUTES
from workflows.io.codec import Keyring, data_converter, generate_key
from workflows.io.settings import Settings
from workflows.types.company import Callback, CompanySettings, Phase

__all__ = [
    "BenchStack",
    "bench_stack",
    "dev_server",
    "fresh_code",
    "settings_for",
    "time_skipping_server",
    "unlimited_sandbox",
]

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
UNLIMITED = 10**9
"""Requests per minute: the sandbox's rate limit is out of the way unless a scenario wants it."""


def unlimited_sandbox(*, token_ttl: int = 3600, rate_limit_per_minute: int = UNLIMITED) -> SandboxConfig:
    """Auto-approving, long-lived codes, and no rate limit: the bench measures us, not the sandbox's 429s."""
    return SandboxConfig(
        auto_approve=True, token_ttl=token_ttl, rate_limit_per_minute=rate_limit_per_minute, code_ttl=3600
    )


def settings_for(sandbox: RunningSandbox) -> Settings:
    """Worker settings for this sandbox's registered client (its published dev credentials)."""
    config: SandboxConfig = sandbox.store.initial_config
    return Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": config.client_id,
            "REMOTE_CLIENT_SECRET": config.client_secret,
            "REMOTE_REDIRECT_URI": REDIRECT_URI,
        }
    )


def fresh_code(sandbox: RunningSandbox) -> str:
    """A new authorization code from the store (synchronous, so atomic on the sandbox's loop); untimed."""
    store = sandbox.store
    company = store.consent(f"bench-{uuid.uuid4().hex[:12]}", DEFAULT_SCOPE)
    return store.issue_code(company, redirect_uri=REDIRECT_URI, scope=DEFAULT_SCOPE)


@contextlib.asynccontextmanager
async def dev_server(keys: str | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """The bundled dev server with our search attributes; its client's codec uses ``keys`` or a new key."""
    keyring = Keyring.parse(keys or generate_key("bench-1"))
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        ui=False,
        dev_server_log_level="error",  # its slow-call warnings are expected under a storm
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter(keyring),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@contextlib.asynccontextmanager
async def time_skipping_server(
    keyring: Keyring, binary: str | None = None
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server whose client has the codec, with our search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary or test_server_binary(), data_converter=data_converter(keyring)
    )
    try:
        # start_time_skipping has no search_attributes parameter; the operator API does the same job.
        keywords = dict.fromkeys(
            (key.name for key in SEARCH_ATTRIBUTES), IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        )
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=env.client.namespace, search_attributes=keywords)
        )
        yield env
    finally:
        await env.shutdown()


@dataclass(frozen=True)
class BenchStack:
    """What every scenario needs; ``task_queue`` serves both our workflows and the floor's."""

    client: Client
    sandbox: RunningSandbox
    oauth: RemoteOAuth
    http: httpx.AsyncClient
    task_queue: str

    async def token_requests(self) -> int:
        """Token requests the sandbox has answered so far (every grant type)."""
        return sum(self.sandbox.store.token_requests.values())

    async def approve(self, link: Onboarding) -> Callback:
        """Follow the connect link as an approving admin (the sandbox auto-approves); untimed."""
        assert link.authorize_url is not None
        name = f"bench-{uuid.uuid4().hex[:12]}"
        response = await self.http.get(httpx.URL(link.authorize_url).copy_add_param("company_name", name))
        if response.status_code != 302:
            raise RuntimeError(f"authorize answered {response.status_code}: {response.text[:200]}")
        query = parse_qs(urlsplit(response.headers["location"]).query)
        return Callback(state=query["state"][0], code=query["code"][0])

    async def connect(self, ref: str) -> None:
        """Onboard and consent one company until it is active."""
        result = await self.oauth.complete_consent(await self.approve(await self.oauth.onboard(ref)))
        if result.phase is not Phase.ACTIVE:
            raise RuntimeError(f"{ref} did not connect: {result.message}")


@contextlib.asynccontextmanager
async def bench_stack(
    client: Client,
    config: SandboxConfig,
    *,
    company_settings: CompanySettings | None = None,
    max_cached_workflows: int | None = None,
) -> AsyncIterator[BenchStack]:
    """A sandbox, our workers plus the floor's worker on one fresh task queue, and the API."""
    task_queue = f"bench-{uuid.uuid4()}"
    async with running_sandbox(config) as sandbox, httpx.AsyncClient(base_url=sandbox.url) as http:
        opts = WorkerOptions(
            task_queue=task_queue,
            token_task_queue=task_queue,
            token_requests_per_minute=float(UNLIMITED),
            graceful_shutdown_seconds=0,
            max_cached_workflows=max_cached_workflows,
        )
        floor = Worker(
            client,
            task_queue=f"{task_queue}-floor",
            workflows=[FloorWorkflow],
            activities=[noop],
            workflow_runner=WORKFLOW_RUNNER,
        )
        async with running_workers(client, settings_for(sandbox), opts), floor:
            oauth = RemoteOAuth(client, task_queue=task_queue, company_settings=company_settings)
            yield BenchStack(client=client, sandbox=sandbox, oauth=oauth, http=http, task_queue=task_queue)
