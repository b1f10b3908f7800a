"""The whole system in this process, for the bench and the tests: a loopback sandbox, our workers and the API.

Every piece is the real one (the sandbox on 127.0.0.1, ``running_workers``, ``RemoteOAuth`` built as
``worker.context`` builds it); only the Temporal server is a bundled dev or time-skipping server. The tests
prove this stack correct and the bench measures this same stack, on one event loop (the Temporal server is
its own process), so each figure and its reference share the machine, loop and connections.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.floor import FloorWorkflow, noop
from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from worker.api import Onboarding, RemoteOAuth, TokenCache
from worker.runner import WORKFLOW_RUNNER, WorkerOptions, running_workers
from worker.temporal import temporal_binary, test_server_binary
from workflows.assertion_tokens import AssertionTokenSettings
from workflows.company import CompanyConsentWorkflow
from workflows.company_effects import SEARCH_ATTRIBUTES
from workflows.io.codec import Keyring, data_converter
from workflows.io.connect_session import ConnectLinks
from workflows.io.settings import Settings
from workflows.types.company import Callback, CompanySettings, CompanyStatus, Phase, company_workflow_id
from workflows.types.partner import PartnerSettings

__all__ = [
    "REDIRECT_URI",
    "UNLIMITED",
    "Stack",
    "bench_stack",
    "dev_server",
    "fresh_code",
    "running_stack",
    "settings_for",
    "time_skipping_server",
    "unlimited_sandbox",
]

REDIRECT_URI = "http://127.0.0.1:8000/oauth/callback"
UNLIMITED = 10**9
"""Requests per minute: the sandbox's rate limit is out of the way unless a scenario wants it."""


@contextlib.asynccontextmanager
async def dev_server(
    keyring: Keyring,
    *,
    binary: str | None = None,
    log_level: str = "warn",
    metrics_port: int | None = None,
) -> AsyncIterator[WorkflowEnvironment]:
    """The bundled dev server (real clock, visibility) with our search attributes and the codec; its own
    Prometheus metrics (the billable ``action`` counter among them) on ``metrics_port`` when given."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary or temporal_binary(),
        ui=False,
        dev_server_log_level=log_level,
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=data_converter(keyring),
        dev_server_extra_args=["--metrics-port", str(metrics_port)] if metrics_port is not None else [],
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


def unlimited_sandbox(*, token_ttl: int = 3600, rate_limit_per_minute: int = UNLIMITED) -> SandboxConfig:
    """Auto-approving, long-lived codes, and no rate limit: the bench measures us, not the sandbox's 429s."""
    return SandboxConfig(
        auto_approve=True, token_ttl=token_ttl, rate_limit_per_minute=rate_limit_per_minute, code_ttl=3600
    )


def settings_for(sandbox: RunningSandbox, **env: str) -> Settings:
    """Worker settings for this sandbox's registered client (its published dev credentials), plus ``env``."""
    config: SandboxConfig = sandbox.store.initial_config
    return Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": config.client_id,
            "REMOTE_CLIENT_SECRET": config.client_secret,
            "REMOTE_REDIRECT_URI": REDIRECT_URI,
            **env,
        }
    )


def _api_token_cache(env: WorkflowEnvironment) -> TokenCache | None:
    """The API's token cache on ``env``: none kept on a time-skipping server, whose skipped hours this
    process's clock never sees (a kept token would outlive the refreshes); the default on the dev server."""
    return TokenCache(0) if env.supports_time_skipping else None


def fresh_code(sandbox: RunningSandbox) -> str:
    """A new authorization code from the store (synchronous, so atomic on the sandbox's loop); untimed."""
    store = sandbox.store
    company = store.consent(f"bench-{uuid.uuid4().hex[:12]}", DEFAULT_SCOPE)
    return store.issue_code(company, redirect_uri=REDIRECT_URI, scope=DEFAULT_SCOPE)


@dataclass(frozen=True)
class Stack:
    """A running sandbox, the API on ``task_queue`` and what it takes to run (or swap) the workers."""

    env: WorkflowEnvironment
    sandbox: RunningSandbox
    oauth: RemoteOAuth
    http: httpx.AsyncClient
    """The sandbox's admin API (``/sandbox/...``) and its authorize page."""
    task_queue: str
    settings: Settings
    """What the workers run with; ``workers()`` takes others (a wrong secret, say)."""
    worker_options: WorkerOptions

    @property
    def client(self) -> Client:
        """The codec-enabled Temporal client every piece uses."""
        return self.env.client

    def workers(self, settings: Settings | None = None) -> contextlib.AbstractAsyncContextManager[object]:
        """Our workers for the life of the context, with ``settings`` instead of the stack's."""
        return running_workers(self.env.client, settings or self.settings, self.worker_options)

    def handle(self, ref: str) -> WorkflowHandle[CompanyConsentWorkflow, CompanyStatus]:
        """The company workflow of ``ref``."""
        return self.env.client.get_workflow_handle_for(CompanyConsentWorkflow.run, company_workflow_id(ref))

    async def stats(self) -> dict[str, int]:
        """Token requests the sandbox answered by grant type (none left out), from its admin API."""
        response = await self.http.get("/sandbox/stats")
        counts: dict[str, int] = response.json()["token_requests"]
        return {grant: n for grant, n in counts.items() if n}

    def token_requests(self) -> int:
        """Token requests the sandbox answered so far (every grant type), read from its state: no request,
        so the bench can poll it while measuring."""
        return sum(self.sandbox.store.token_requests.values())

    async def approve(self, link: Onboarding, *, company_name: str | None = None) -> Callback:
        """Follow the connect link as an admin of ``company_name`` who approves (the sandbox auto-approves).

        The sandbox binds a consent to the company of that name, so each ref has its own company unless
        two are given one name.
        """
        assert link.authorize_url is not None
        name = company_name or f"Acme {link.company_ref}"
        response = await self.http.get(httpx.URL(link.authorize_url).copy_add_param("company_name", name))
        if response.status_code != 302:
            raise RuntimeError(f"authorize answered {response.status_code}: {response.text[:200]}")
        query = parse_qs(urlsplit(response.headers["location"]).query)
        return Callback(state=query["state"][0], code=query["code"][0])

    async def connect(self, ref: str, *, company_name: str | None = None) -> None:
        """Onboard ``ref`` and approve its link until it is active (no status read: the bench connects
        thousands)."""
        link = await self.oauth.onboard(ref)
        result = await self.oauth.complete_consent(await self.approve(link, company_name=company_name))
        if result.phase is not Phase.ACTIVE:
            raise RuntimeError(f"{ref} did not connect: {result.message}")


@contextlib.asynccontextmanager
async def running_stack(
    env: WorkflowEnvironment,
    config: SandboxConfig,
    *,
    task_queue: str | None = None,
    settings: Mapping[str, str] | None = None,
    company_settings: CompanySettings | None = None,
    partner_settings: PartnerSettings | None = None,
    assertion_settings: AssertionTokenSettings | None = None,
    token_requests_per_minute: float | None = None,
    max_cached_workflows: int | None = None,
    start_workers: bool = True,
) -> AsyncIterator[Stack]:
    """A sandbox with ``config``, our workers and the API on ``task_queue`` (a new one by default).

    ``settings`` adds worker settings (connect keys, a webhook) to the sandbox's credentials; the API is
    built from them as ``worker.context`` builds it. Without ``start_workers`` the caller runs the workers
    (``Stack.workers``, or worker processes), to stop and swap them.
    """
    queue = task_queue or f"stack-{uuid.uuid4()}"
    async with running_sandbox(config) as sandbox, httpx.AsyncClient(base_url=sandbox.url) as http:
        worker_settings = settings_for(sandbox, **(settings or {}))
        opts = WorkerOptions(
            task_queue=queue,
            token_task_queue=queue,
            graceful_shutdown_seconds=0,
            max_cached_workflows=max_cached_workflows,
        )
        if token_requests_per_minute is not None:
            opts = dataclasses.replace(opts, token_requests_per_minute=token_requests_per_minute)
        oauth = RemoteOAuth(
            env.client,
            task_queue=queue,
            company_settings=company_settings,
            client_id=worker_settings.client_id,
            partner_settings=partner_settings,
            assertion_settings=assertion_settings,
            links=ConnectLinks.from_settings(worker_settings),
            token_cache=_api_token_cache(env),
        )
        stack = Stack(env, sandbox, oauth, http, queue, worker_settings, opts)
        async with contextlib.AsyncExitStack() as running:
            if start_workers:
                await running.enter_async_context(stack.workers())
            yield stack


@contextlib.asynccontextmanager
async def bench_stack(
    env: WorkflowEnvironment,
    config: SandboxConfig,
    *,
    company_settings: CompanySettings | None = None,
    max_cached_workflows: int | None = None,
) -> AsyncIterator[Stack]:
    """The stack on a fresh ``bench-`` queue with no token budget, plus the floor's worker on
    ``<queue>-floor`` (the least a workflow can do, which each scenario's figure is set against)."""
    async with running_stack(
        env,
        config,
        task_queue=f"bench-{uuid.uuid4()}",
        company_settings=company_settings,
        token_requests_per_minute=float(UNLIMITED),
        max_cached_workflows=max_cached_workflows,
    ) as stack:
        floor = Worker(
            env.client,
            task_queue=f"{stack.task_queue}-floor",
            workflows=[FloorWorkflow],
            activities=[noop],
            workflow_runner=WORKFLOW_RUNNER,
        )
        async with floor:
            yield stack
