"""The partner's web endpoints, tried as the admin and as an attacker: connect sessions, browser binding,
callback pages; in-process ASGI against a real worker and the sandbox on 127.0.0.1."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.stack import EXACT, REDIRECT_URI, Stack, make_stack
from worker.api import Onboarding
from worker.web import create_web_app
from workflows.io.connect_session import cookie_name
from workflows.types.company import Phase

ORIGIN = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Web:
    stack: Stack
    app: Starlette
    client: httpx.AsyncClient
    """The admin's browser (keeps its cookies)."""

    @contextlib.asynccontextmanager
    async def browser(self) -> AsyncIterator[httpx.AsyncClient]:
        """Another browser, with a cookie jar of its own."""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=ORIGIN) as other:
            yield other

    async def onboard(self, ref: str, *, company_id: str | None = None) -> Onboarding:
        link = await self.stack.oauth.onboard(ref, company_id=company_id)
        assert link.connect_url is not None
        assert link.connect_url.startswith(f"{ORIGIN}/connect/{ref}?session=v1.")
        return link

    async def open_link(self, link: Onboarding, browser: httpx.AsyncClient | None = None) -> httpx.URL:
        """Open the connect link in a browser; return Remote's authorize URL it is sent to."""
        assert link.connect_url is not None
        start = await (browser or self.client).get(link.connect_url)
        assert start.status_code == 302, start.text
        authorize = httpx.URL(start.headers["location"])
        assert str(authorize).startswith(self.stack.sandbox.url)
        return authorize

    async def approve(self, authorize: httpx.URL, *, company: str, deny: bool = False) -> str:
        """Approve at Remote (the sandbox) as an admin of ``company``; return the callback path."""
        answer = await self.stack.http.get(authorize.copy_add_param("company_name", company))
        assert answer.status_code == 302
        back = httpx.URL(answer.headers["location"])
        if deny:
            back = back.copy_with(params={"state": back.params["state"], "error": "access_denied"})
        assert str(back).startswith(REDIRECT_URI)
        return back.raw_path.decode()

    async def consent(self, ref: str, *, company: str = "Acme", deny: bool = False) -> str:
        return await self.approve(await self.open_link(await self.onboard(ref)), company=company, deny=deny)


@pytest_asyncio.fixture(loop_scope="session")
async def web(dev_server_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[Web]:
    config = SandboxConfig(auto_approve=True)
    async with make_stack(dev_server_env, task_queue, config=config) as stack:
        assert stack.oauth.links is not None
        app = create_web_app(stack.oauth, redirect_uri=REDIRECT_URI, links=stack.oauth.links)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as client:
            yield Web(stack=stack, app=app, client=client)


def _ref(web: Web, name: str) -> str:
    # The dev server is shared by the session: company refs stay unique per test.
    return f"{name}-{web.stack.task_queue[-12:]}"


async def _started(web: Web, ref: str) -> bool:
    try:
        await web.stack.handle(ref).describe()
    except RPCError:
        return False
    return True


async def test_connect_approve_connected(web: Web) -> None:
    """The connect link sets a binding cookie and redirects to Remote; the callback in the same browser
    connects the company, shows Connected and clears the cookie."""
    ref = _ref(web, "acme")
    link = await web.onboard(ref)
    assert link.connect_url is not None
    start = await web.client.get(link.connect_url)
    assert start.status_code == 302
    cookie = start.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(ref)}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "path=/oauth/callback" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in attributes  # a loopback http redirect URI: browsers would drop a Secure cookie
    callback = await web.approve(httpx.URL(start.headers["location"]), company="Acme")
    page = await web.client.get(callback)
    assert page.status_code == 200
    assert "<h1>Connected</h1>" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.split("<body>")[1]  # no third-party content, no links out
    assert web.client.cookies.get(cookie_name(ref)) is None
    assert (await web.stack.oauth.status(ref)).phase is Phase.ACTIVE
    again = await web.client.get(link.connect_url)
    assert (again.status_code, "<h1>Already connected</h1>" in again.text) == (200, True)


async def test_a_stranger_with_only_the_ref_starts_and_learns_nothing(web: Web) -> None:
    """No session, a forged one, one for another ref, an expired one: the same 403 page, no workflow
    started, nothing said about the company, whether it exists or not."""
    known, unknown = _ref(web, "known"), _ref(web, "unknown")
    await web.consent(known)
    links = web.stack.oauth.links
    assert links is not None
    other_session = httpx.URL((await web.onboard(_ref(web, "other"))).connect_url or "").params["session"]
    expired = links.keys.mint(unknown, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    forged = "v1.9999999999.AAAAAAAAAAAAAAAA." + "A" * 43
    pages = []
    for ref in (known, unknown):
        for query in (
            "",
            "?session=",
            f"?session={forged}",
            f"?session={other_session}",
            f"?session={expired}",
        ):
            pages.append(await web.client.get(f"/connect/{ref}{query}"))
    pages.append(await web.client.get("/connect/bad%20ref"))
    assert {page.status_code for page in pages} == {403}
    assert len({page.text for page in pages}) == 1  # one page for all: nothing to tell them apart
    assert "active" not in pages[0].text
    assert not any("set-cookie" in page.headers for page in pages)
    assert not await _started(web, unknown)


async def test_a_leaked_authorize_url_cannot_finish_in_another_browser(web: Web) -> None:
    """An attacker holding the authorize URL approves as their own company in their own browser: the
    callback is refused before the workflow, nothing binds, the state stays open, and the admin's own
    callback still connects the right company."""
    ref = _ref(web, "leaky")
    authorize = await web.open_link(await web.onboard(ref))  # the admin's browser holds the cookie
    async with web.browser() as attacker:
        stolen = await web.approve(authorize, company="Evil Corp")
        refused = await attacker.get(stolen)
    assert refused.status_code == 403
    assert "<h1>Open the link in the same browser</h1>" in refused.text
    status = await web.stack.oauth.status(ref)
    assert (status.phase, status.company_id, status.last_error) == (Phase.AWAITING_CONSENT, None, None)
    assert await web.stack.stats() == {}  # no token request was spent
    # The admin finishes in the browser that opened the link: the same, unconsumed state works.
    page = await web.client.get(await web.approve(authorize, company="Acme Leaky"))
    assert "<h1>Connected</h1>" in page.text
    companies = (await web.stack.http.get("/sandbox/companies")).json()["companies"]
    acme = next(c for c in companies if c["name"] == "Acme Leaky")
    assert (await web.stack.oauth.status(ref)).company_id == acme["id"]


async def test_a_forged_error_callback_from_another_browser_keeps_the_link(web: Web) -> None:
    """error=access_denied from a browser that did not open the link changes nothing (it used to kill
    the admin's link); the admin then connects."""
    ref = _ref(web, "kept")
    authorize = await web.open_link(await web.onboard(ref))
    state = authorize.params["state"]
    async with web.browser() as attacker:
        refused = await attacker.get("/oauth/callback", params={"state": state, "error": "access_denied"})
    assert refused.status_code == 403
    assert (await web.stack.oauth.status(ref)).phase is Phase.AWAITING_CONSENT
    page = await web.client.get(await web.approve(authorize, company="Acme Kept"))
    assert "<h1>Connected</h1>" in page.text


async def test_a_callback_with_control_characters_is_stored_as_a_code(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    """error= with newlines and a terminal escape is recorded as invalid_callback; error_description is
    never stored; no log line, status or page carries the raw text."""
    caplog.set_level(logging.DEBUG)
    ref = _ref(web, "escape")
    authorize = await web.open_link(await web.onboard(ref))
    hostile = "access_denied\r\nINFO forged log line \x1b[31m"
    page = await web.client.get(
        "/oauth/callback",
        params={"state": authorize.params["state"], "error": hostile, "error_description": "\x1b[2Jsecret"},
    )
    assert page.status_code == 200
    assert "<h1>Access denied</h1>" in page.text
    status = await web.stack.oauth.status(ref)
    assert (status.phase, status.last_error_type) == (Phase.CONSENT_DENIED, "invalid_callback")
    assert status.last_error == "the consent page answered error=invalid_callback"
    texts = [page.text, *(record.getMessage() for record in caplog.records)]
    assert not any("forged log line" in text or "\x1b" in text for text in texts)


async def test_denied_callback(web: Web) -> None:
    """A denial shows Access denied and leaves the company in consent_denied."""
    ref = _ref(web, "shy")
    page = await web.client.get(await web.consent(ref, deny=True))
    assert (page.status_code, "<h1>Access denied</h1>" in page.text) == (200, True)
    assert (await web.stack.oauth.status(ref)).phase is Phase.CONSENT_DENIED


async def test_reused_and_forged_callbacks(web: Web) -> None:
    """A used link and a state we never issued are refused with a page, never an exchange."""
    ref = _ref(web, "twice")
    callback = await web.consent(ref)
    assert (await web.client.get(callback)).status_code == 200
    # The cookie was cleared on success, so a replay in the same browser is refused before the workflow.
    reused = await web.client.get(callback)
    assert (reused.status_code, "<h1>Open the link in the same browser</h1>" in reused.text) == (403, True)
    forged = await web.client.get("/oauth/callback", params={"state": "no-dot-here", "code": "x"})
    assert (forged.status_code, "<h1>Invalid callback</h1>" in forged.text) == (400, True)
    assert await web.stack.stats() == {"authorization_code": 1}


async def test_the_failure_page_shows_a_reference_never_gateway_text(web: Web) -> None:
    """A failed exchange tells the customer to quote a reference (looked up in status), not what the
    gateway said."""
    ref = _ref(web, "failing")
    callback = await web.consent(ref)
    fault = {"kind": "echo_request", "count": 1, "grant_type": "authorization_code"}
    await web.stack.http.post("/sandbox/faults", json=fault)
    page = await web.client.get(callback)
    assert page.status_code == 502
    assert f"<code>{ref} / InvalidRequest</code>" in page.text
    assert "forged" not in page.text
    assert "gateway" not in page.text.lower()
    status = await web.stack.oauth.status(ref)
    assert status.last_error_type == "InvalidRequest"


async def test_callback_without_parameters(web: Web) -> None:
    """A bare callback URL explains itself and touches nothing."""
    page = await web.client.get("/oauth/callback")
    assert (page.status_code, "<h1>Invalid callback</h1>" in page.text) == (400, True)
    assert page.headers["referrer-policy"] == "no-referrer"


async def test_healthz(web: Web) -> None:
    """The health endpoint answers without touching Temporal."""
    response = await web.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_settings_apply_to_onboarding(web: Web) -> None:
    """Onboarding uses the API's company settings (the exact-timing ones in these tests)."""
    ref = _ref(web, "timed")
    await web.consent(ref)
    status = await web.stack.oauth.status(ref)
    assert status.refresh_policy is EXACT.refresh_policy


async def test_a_callback_after_the_state_expired_says_so(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A callback later than REMOTE_OAUTH_STATE_TTL shows "Link expired" (chosen by the workflow's error
    type, not its wording); a fresh connect link then works."""
    async with make_stack(own_time_skipping_env, task_queue) as stack:
        assert stack.oauth.links is not None
        app = create_web_app(stack.oauth, redirect_uri=REDIRECT_URI, links=stack.oauth.links)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN) as client:
            web = Web(stack=stack, app=app, client=client)
            callback = await web.consent("late")
            await stack.env.sleep(timedelta(minutes=16))
            page = await client.get(callback)
            assert (page.status_code, "<h1>Link expired</h1>" in page.text) == (400, True)
            page = await client.get(await web.consent("late"))
            assert "<h1>Connected</h1>" in page.text


async def test_a_reconnect_through_the_web_app(web: Web) -> None:
    """A connected company's reconnect link goes through the same connect page and browser binding; the
    page says Connected only when the new grant replaced the old, and never for a denial or a mismatch."""
    ref = _ref(web, "again")
    await web.client.get(await web.consent(ref, company="Again Co"))
    narrow = "company:read employment:read"
    denied = await web.stack.oauth.reconnect(ref, scope=narrow)
    page = await web.client.get(await web.approve(await web.open_link(denied), company="Again Co", deny=True))
    assert (page.status_code, "<h1>Access denied</h1>" in page.text) == (200, True)
    other = await web.stack.oauth.reconnect(ref, scope=narrow)
    page = await web.client.get(await web.approve(await web.open_link(other), company="Evil Corp"))
    assert (page.status_code, f"{ref} / CompanyMismatch" in page.text) == (502, True)
    assert (await web.stack.oauth.status(ref)).scope != narrow
    link = await web.stack.oauth.reconnect(ref, scope=narrow)
    authorize = await web.open_link(link)
    assert authorize.params["scope"] == narrow
    page = await web.client.get(await web.approve(authorize, company="Again Co"))
    assert (page.status_code, "<h1>Connected</h1>" in page.text) == (200, True)
    status = await web.stack.oauth.status(ref)
    assert (status.phase, status.scope) == (Phase.ACTIVE, narrow)
