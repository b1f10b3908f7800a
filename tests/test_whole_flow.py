"""The whole flow through the sandbox served from openapi/, as ``scripts/dev`` runs it, on the dev server.

Connect, exchange, refresh, client credentials, assertion, magic link: once as the spec says (secret in the
body, ``bearer``) and once as the live gateway behaves (HTTP Basic, ``Bearer``). ``tests/scripts/test_going_live.py``
runs this module again in a copy of the repository regenerated in the live dialect, so Remote's next spec
is known to work before it arrives; nothing here names a path or a version.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

import generated_client
import sandbox
import workflows
from generated_client.remote_oauth_api import spec as oauth_stamp
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.testing import running_sandbox
from worker.api import RemoteOAuth
from worker.runner import WorkerOptions, running_workers
from workflows.io.settings import Settings
from workflows.types.company import Callback, Phase

ROOT = Path(__file__).resolve().parent.parent
SPEC = load_contract()
REDIRECT_URI = SandboxConfig().redirect_uris[0]
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GATEWAYS = {
    "as-the-spec-says": ("bearer", "client_secret_post"),
    "as-the-live-gateway-does": ("Bearer", "client_secret_basic"),
}


def test_everything_comes_from_this_checkout() -> None:
    """The client, the sandbox and the workflows are this checkout's, built from its own spec files."""
    for package in (generated_client, sandbox, workflows):
        assert package.__file__ is not None
        assert Path(package.__file__).resolve().parent.parent == ROOT, package.__name__
    spec_file = ROOT / "openapi" / oauth_stamp.SPEC_FILE
    assert hashlib.sha256(spec_file.read_bytes()).hexdigest() == oauth_stamp.SPEC_SHA256
    assert SPEC.token.version == oauth_stamp.SPEC_VERSION


@pytest.mark.parametrize("gateway", GATEWAYS)
async def test_connect_exchange_refresh_partner_assertion_magic_link(
    dev_server_env: WorkflowEnvironment, task_queue: str, gateway: str
) -> None:
    """Every grant and the magic link succeed through the spec's paths, one request each."""
    token_type, auth_method = GATEWAYS[gateway]
    # A client id of its own: partner-token workflows are keyed by it on the shared dev server.
    config = SandboxConfig(client_id=f"flow-{uuid.uuid4().hex[:8]}", auto_approve=True, token_type=token_type)
    client = dev_server_env.client
    async with running_sandbox(config) as gateway_sandbox, httpx.AsyncClient() as browser:
        settings = Settings.from_env(
            {
                "REMOTE_GATEWAY_URL": gateway_sandbox.url,
                "REMOTE_CLIENT_ID": config.client_id,
                "REMOTE_CLIENT_SECRET": config.client_secret,
                "REMOTE_REDIRECT_URI": REDIRECT_URI,
                "REMOTE_TOKEN_AUTH_METHOD": auth_method,
            }
        )
        opts = WorkerOptions(task_queue=task_queue, token_task_queue=task_queue, graceful_shutdown_seconds=0)
        async with running_workers(client, settings, opts):
            oauth = RemoteOAuth(client, task_queue=task_queue, client_id=config.client_id)
            ref = f"flow-{uuid.uuid4().hex[:8]}"

            link = await oauth.onboard(ref)
            assert link.authorize_url is not None
            assert link.authorize_url.startswith(f"{gateway_sandbox.url}{SPEC.authorize.path}?")
            approved = await browser.get(link.authorize_url)
            assert approved.status_code == 302, approved.text
            query = parse_qs(urlsplit(approved.headers["location"]).query)
            callback = Callback(state=query["state"][0], code=query["code"][0])
            assert (await oauth.complete_consent(callback)).phase is Phase.ACTIVE

            first = await oauth.token(ref)
            refreshed = await oauth.token_after_rejection(ref, first)
            partner = await oauth.partner_token()
            acting = await oauth.assertion_token(ref)
            status = await oauth.status(ref)
            assert status.user_id is not None
            url = await oauth.magic_link(ref, user_id=status.user_id)

    store = gateway_sandbox.store
    kinds = [store.introspect(t.access_token)["kind"] for t in (first, refreshed, partner, acting)]
    assert kinds == ["company", "company", "partner", "assertion"]
    assert refreshed.access_token != first.access_token
    assert {grant: n for grant, n in store.token_requests.items() if n} == {
        "authorization_code": 1,
        "refresh_token": 1,
        "client_credentials": 1,
        JWT_BEARER: 1,
    }
    assert dict(store.token_responses) == {"200": 4}
    assert (store.magic_links, url.startswith(f"{gateway_sandbox.url}/magic/")) == (1, True)
