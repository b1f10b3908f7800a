"""``remote-oauth doctor`` against a good deployment (every check ✓) and broken ones (each ✗ with its fix,
exit 1), on the dev server, the sandbox, a web app and a webhook receiver, all real on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest_asyncio
from google.protobuf.duration_pb2 import Duration
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.testing import running_sandbox
from tests.support.cli import base_env, run
from tests.support.scene import free_port, serving
from tests.support.stack import CLIENT_ID, CLIENT_SECRET, CONNECT_KEY
from tests.support.temporal import TEST_KEYS
from worker.api import RemoteOAuth
from worker.health.doctor import diagnose
from worker.health.report import Check, Status
from worker.web import create_web_app
from workflows.io import notify
from workflows.io.codec import generate_key
from workflows.io.connect_session import ConnectLinks
from workflows.io.settings import Settings

WEBHOOK_SECRET = "doctor-webhook-secret-0123456789"
NAMES = [
    "settings",
    "temporal",
    "search-attributes",
    "codec-keys",
    "gateway",
    "client-credentials",
    "redirect-uri",
    "webhook",
]


@dataclass
class Deployment:
    """What doctor is pointed at, and what the receiver saw."""

    env: dict[str, str]
    events: list[tuple[bool, dict[str, object]]]
    client: Client
    grants: Counter[str]
    """The sandbox's count of token requests by grant type."""


def _statuses(checks: list[Check]) -> dict[str, Status]:
    return {check.name: check.status for check in checks}


@pytest_asyncio.fixture(loop_scope="session")
async def deployment(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Deployment]:
    """A sandbox, a web app at the redirect URI's origin, a webhook receiver, and one encrypted workflow
    (started with the test key, no worker) on the deployment's task queue."""
    events: list[tuple[bool, dict[str, object]]] = []

    async def hook(request: Request) -> Response:
        body = await request.body()
        headers = request.headers
        authentic = notify.verify(
            WEBHOOK_SECRET, headers["x-remote-oauth-timestamp"], body, headers["x-remote-oauth-signature"]
        )
        events.append((authentic, json.loads(body)))
        return Response(status_code=204 if authentic else 401)

    async with contextlib.AsyncExitStack() as stack:
        sandbox = await stack.enter_async_context(running_sandbox())
        links = ConnectLinks.from_settings(
            Settings.from_env(
                {"REMOTE_OAUTH_CONNECT_KEYS": CONNECT_KEY, "REMOTE_REDIRECT_URI": "http://127.0.0.1/cb"}
            )
        )
        assert links is not None
        oauth = RemoteOAuth(dev_server_env.client, task_queue=task_queue)
        web_url = await stack.enter_async_context(
            serving(create_web_app(oauth, redirect_uri="http://127.0.0.1/oauth/callback", links=links))
        )
        hook_url = await stack.enter_async_context(
            serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
        )
        handle = await dev_server_env.client.start_workflow(
            "NoWorkerRunsThis", "an encrypted input", id=f"doctor-{uuid.uuid4()}", task_queue=task_queue
        )
        env = {
            "TEMPORAL_ADDRESS": dev_server_env.client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": "default",
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": CLIENT_ID,
            "REMOTE_CLIENT_SECRET": CLIENT_SECRET,
            "REMOTE_REDIRECT_URI": f"{web_url}/oauth/callback",
            "REMOTE_OAUTH_CODEC_KEYS": TEST_KEYS,
            "REMOTE_OAUTH_CONNECT_KEYS": CONNECT_KEY,
            "REMOTE_OAUTH_WEBHOOK_URL": f"{hook_url}/hook",
            "REMOTE_OAUTH_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "REMOTE_OAUTH_TASK_QUEUE": task_queue,
        }
        try:
            yield Deployment(env, events, dev_server_env.client, sandbox.store.token_requests)
        finally:
            await handle.terminate()


def _no_secret_in(text: str, env: dict[str, str]) -> None:
    for name in ("REMOTE_CLIENT_SECRET", "REMOTE_OAUTH_WEBHOOK_SECRET", "REMOTE_OAUTH_CONNECT_KEYS"):
        assert env[name] not in text, name
    for entry in env["REMOTE_OAUTH_CODEC_KEYS"].split(","):
        assert entry.partition(":")[2] not in text


async def test_a_good_deployment_passes_every_check(deployment: Deployment) -> None:
    """Every check is ✓; the grant is one real client-credentials request and says it counts against the
    budget; the receiver got one authentic `test` event; the CLI exits 0 with the same in --json."""
    checks = await diagnose(deployment.env)
    assert [(c.name, c.status) for c in checks] == [(name, Status.OK) for name in NAMES], checks
    details = {c.name: c.detail for c in checks}
    assert (
        "1 client-credentials grant, counted against Remote's 250 requests per minute"
        in details["client-credentials"]
    )
    assert details["codec-keys"].startswith("1 encrypted payloads in the newest 1 workflows on ")
    assert "key ids in use: test-1" in details["codec-keys"]
    assert deployment.grants["client_credentials"] == 1
    assert [(authentic, event["event"]) for authentic, event in deployment.events] == [(True, "test")]

    done = await run("doctor", "--json", env=base_env(**deployment.env))
    assert (done.code, done.err) == (0, "")
    report = json.loads(done.out)
    assert report["ok"] is True
    assert [(c["name"], c["status"]) for c in report["checks"]] == [(name, "ok") for name in NAMES]
    _no_secret_in(done.out, deployment.env)


async def test_a_broken_deployment_names_each_fix(deployment: Deployment) -> None:
    """A wrong client secret, a keyring without the key in use, a receiver that verifies with another
    secret, nothing at the redirect URI: each is a ✗ line with the fix under it, and exit 1."""
    wrong_secret = "not-the-secret-at-all-0123456789"
    broken = {
        **deployment.env,
        "REMOTE_CLIENT_SECRET": wrong_secret,
        "REMOTE_OAUTH_CODEC_KEYS": generate_key("k2"),
        "REMOTE_OAUTH_WEBHOOK_SECRET": "another-secret-than-the-receivers",
        "REMOTE_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/oauth/callback",
    }
    done = await run("doctor", env=base_env(**broken))
    assert done.code == 1
    lines = done.out.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith("    ")] == [
        "✓ settings",
        "✓ temporal",
        "✓ search-attributes",
        "✗ codec-keys",
        "✓ gateway",
        "✗ client-credentials",
        "✗ redirect-uri",
        "✗ webhook",
        "4 of 8 checks failed",
    ]
    for index, line in enumerate(lines):
        if line.startswith("✗"):
            assert lines[index + 1].startswith("    fix: "), line
    text = done.out
    assert "key ids in use that the keyring (k2) lacks: test-1 (1 workflow, e.g. doctor-" in text
    assert "add those keys' entries to REMOTE_OAUTH_CODEC_KEYS" in text
    assert "refused (InvalidClient)" in text
    assert "check REMOTE_CLIENT_ID and REMOTE_CLIENT_SECRET" in text
    assert "start `remote-oauth web` and route http://127.0.0.1:" in text
    assert "answered HTTP 401 to a signed test event" in text
    _no_secret_in(text, {**broken, "REMOTE_CLIENT_SECRET": wrong_secret})
    _no_secret_in(text, deployment.env)


async def test_missing_search_attributes_and_unreachable_temporal(deployment: Deployment) -> None:
    """A namespace without our search attributes is a ✗ with the command that registers them; with nothing
    at TEMPORAL_ADDRESS the Temporal checks after it are skipped and the fix says where to point it."""
    bare = f"doctor-bare-{uuid.uuid4().hex[:8]}"
    await deployment.client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=bare, workflow_execution_retention_period=Duration(seconds=86400))
    )
    checks = {c.name: c for c in await diagnose({**deployment.env, "TEMPORAL_NAMESPACE": bare})}
    attributes = checks["search-attributes"]
    assert attributes.status is Status.FAIL
    assert attributes.detail.startswith(f"namespace {bare} lacks RemoteOAuthState, RemoteCompanyId")
    assert attributes.fix.startswith(
        f"temporal operator search-attribute create --namespace {bare} --name RemoteOAuthState --type Keyword "
        "--name RemoteCompanyId --type Keyword"
    )

    unreachable = {
        **deployment.env,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "REMOTE_OAUTH_STATE_TTL": "x",
    }
    done = await run("doctor", "--json", env=base_env(**unreachable))
    assert done.code == 1
    report = json.loads(done.out)
    assert report["ok"] is False
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["settings"]["status"] == "fail"
    assert (
        by_name["settings"]["detail"] == "REMOTE_OAUTH_STATE_TTL must be a whole number of seconds, not 'x'"
    )
    assert by_name["temporal"]["status"] == "fail"
    assert by_name["temporal"]["fix"].startswith("start Temporal, or point TEMPORAL_ADDRESS")
    assert [by_name[n]["status"] for n in NAMES[2:]] == ["skip"] * 6
    assert all(c["fix"] for c in report["checks"] if c["status"] == "fail")
