"""The partner's web endpoints: connect link, OAuth callback pages, health; in-process against a real worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.test_company import EXACT, REDIRECT_URI, Stack, make_stack
from worker.web import create_web_app
from workflows.consent import Phase


@dataclass(frozen=True)
class Web:
    stack: Stack
    client: httpx.AsyncClient

    async def consent(self, ref: str, *, decision: str = "approve") -> httpx.URL:
        """Follow /connect/{ref} to the sandbox, decide, and return where the browser is sent back to."""
        start = await self.client.get(f"/connect/{ref}")
        assert start.status_code == 302
        authorize = httpx.URL(start.headers["location"])
        assert str(authorize).startswith(self.stack.sandbox.url)
        # The sandbox auto-approves; a denial is what the consent page's Deny button sends back.
        url = authorize.copy_add_param("company_name", ref)
        answer = await self.stack.http.get(url)
        assert answer.status_code == 302
        back = httpx.URL(answer.headers["location"])
        if decision == "deny":
            back = back.copy_with(params={"state": back.params["state"], "error": "access_denied"})
        assert str(back).startswith(REDIRECT_URI)
        return back


@pytest_asyncio.fixture(loop_scope="session")
async def web(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Web]:
    config = SandboxConfig(auto_approve=True)
    async with make_stack(dev_server_env, task_queue, config=config) as stack:
        assert stack.oauth is not None
        assert stack.oauth.links is not None
        app = create_web_app(stack.oauth, redirect_uri=REDIRECT_URI, links=stack.oauth.links)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield Web(stack=stack, client=client)


def _ref(web: Web, name: str) -> str:
    # The dev server is shared by the session: company refs stay unique per test.
    return f"{name}-{web.stack.task_queue[-12:]}"


async def test_connect_approve_connected(web: Web) -> None:
    """/connect redirects to the gateway; the approved callback shows Connected and the company is active."""
    ref = _ref(web, "acme")
    back = await web.consent(ref)
    page = await web.client.get(back.raw_path.decode())
    assert page.status_code == 200
    assert "<h1>Connected</h1>" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<body>")[1]  # no third-party content, no links out
    assert (await web.stack.oauth.status(ref)).phase is Phase.ACTIVE
    again = await web.client.get(f"/connect/{ref}")
    assert (again.status_code, "<h1>Already connected</h1>" in again.text) == (200, True)


async def test_denied_callback(web: Web) -> None:
    """A denial shows Access denied and leaves the company in consent_denied."""
    ref = _ref(web, "shy")
    back = await web.consent(ref, decision="deny")
    page = await web.client.get(back.raw_path.decode())
    assert (page.status_code, "<h1>Access denied</h1>" in page.text) == (200, True)
    assert (await web.stack.oauth.status(ref)).phase is Phase.CONSENT_DENIED


async def test_reused_and_forged_callbacks(web: Web) -> None:
    """A used link and a state we never issued are refused with a page, never an exchange."""
    ref = _ref(web, "twice")
    back = await web.consent(ref)
    assert (await web.client.get(back.raw_path.decode())).status_code == 200
    reused = await web.client.get(back.raw_path.decode())
    assert (reused.status_code, "<h1>Invalid link</h1>" in reused.text) == (400, True)
    forged = await web.client.get("/oauth/callback", params={"state": "no-dot-here", "code": "x"})
    assert (forged.status_code, "<h1>Invalid link</h1>" in forged.text) == (400, True)
    assert await web.stack.stats() == {"authorization_code": 1}


async def test_callback_without_parameters(web: Web) -> None:
    """A bare callback URL explains itself and touches nothing."""
    page = await web.client.get("/oauth/callback")
    assert (page.status_code, "<h1>Invalid callback</h1>" in page.text) == (400, True)
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_invalid_company_reference(web: Web) -> None:
    """A company reference outside the allowed characters is refused before any workflow starts."""
    page = await web.client.get("/connect/bad%20ref")
    assert (page.status_code, "<h1>Invalid company</h1>" in page.text) == (400, True)


async def test_healthz(web: Web) -> None:
    """The health endpoint answers without touching Temporal."""
    response = await web.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_settings_apply_to_onboarding(web: Web) -> None:
    """The web app onboards with the API's company settings (the exact-timing ones in these tests)."""
    ref = _ref(web, "timed")
    await web.consent(ref)
    status = await web.stack.oauth.status(ref)
    assert status.refresh_policy is EXACT.refresh_policy
