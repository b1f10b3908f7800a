"""Running activities over real HTTP against a sandbox gateway, with a leak watch that scans every log
record and error text for credentials the sandbox issued or was sent."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, asgi_client
from workflows.io.activities import ExchangeCodeInput, IssueStateInput, TokenActivities
from workflows.io.settings import Settings
from workflows.types.tokens import TokenGrant

__all__ = ["CONFIG", "METHODS", "LeakWatch", "admin", "call", "connect", "settings_for"]

CONFIG = SandboxConfig(auto_approve=True)
METHODS = ["client_secret_post", "client_secret_basic"]
"""Both client authentication methods: every exchange here runs with each."""


class LeakWatch:
    """Collects credentials and texts during a test; ``check`` fails if any text holds any credential."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.texts: list[str] = []
        self.credentials: set[str] = {CONFIG.client_secret}
        self.sandboxes: list[RunningSandbox] = []

    def error(self, err: BaseException) -> None:
        """Remember an exception's texts, its whole cause chain included."""
        current: BaseException | None = err
        while current is not None:
            self.texts += [str(current), repr(current)]
            current = current.__cause__ or current.__context__

    def record_request(self, request: httpx.Request) -> None:
        """Learn the credentials a request carried (code, refresh token, assertion, bearer token)."""
        form = httpx.QueryParams(request.content.decode(errors="replace"))
        for name in ("code", "refresh_token", "assertion", "client_secret"):
            if form.get(name):
                self.credentials.add(form[name])
        bearer = request.headers.get("authorization", "")
        if bearer.startswith(("Bearer ", "Basic ")):
            self.credentials.add(bearer.split(" ", 1)[1])

    def check(self) -> None:
        """Fail on any credential found in any text seen (log records included)."""
        for sandbox in self.sandboxes:
            store = sandbox.store
            self.credentials |= set(store.access_tokens) | set(store.refresh_tokens) | set(store.codes)
        texts = [*self.texts]
        records = [*self.caplog.get_records("setup"), *self.caplog.get_records("call"), *self.caplog.records]
        for record in records:
            texts.append(record.getMessage())
            if record.exc_text:
                texts.append(record.exc_text)
        assert texts, "the leak watch saw nothing: it would pass vacuously"
        leaks = [(c[:6], t[:80]) for c in self.credentials if len(c) >= 6 for t in texts if c in t]
        assert leaks == []


def settings_for(sandbox: RunningSandbox, method: str = "client_secret_post", **env: str) -> Settings:
    """The sandbox's dev client with client authentication ``method``, plus ``env``."""
    return Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": sandbox.url,
            "REMOTE_CLIENT_ID": CONFIG.client_id,
            "REMOTE_CLIENT_SECRET": CONFIG.client_secret,
            "REMOTE_REDIRECT_URI": CONFIG.redirect_uris[0],
            "REMOTE_TOKEN_AUTH_METHOD": method,
            "REMOTE_HTTP_TIMEOUT": "5",
            **env,
        }
    )


async def call(leaks: LeakWatch, settings: Settings, method: str, arg: object, *, attempt: int = 1) -> Any:
    """Run one activity method in an activity context, with the worker's own HTTP client."""
    async with TokenActivities.http_client(settings) as http:
        http.event_hooks["request"].append(_async(leaks.record_request))
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=attempt)
        try:
            return await env.run(getattr(TokenActivities(settings, http), method), arg)
        except ApplicationError as err:
            leaks.error(err)
            raise


def _async(hook: Any) -> Any:
    """``hook`` as the coroutine function httpx's async event hooks must be."""

    async def run(request: httpx.Request) -> None:
        hook(request)

    return run


async def admin(sandbox: RunningSandbox, method: str, path: str, body: object = None) -> Any:
    """One call to the sandbox's admin API; its JSON answer."""
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        # The admin API takes only JSON for changes: an empty object where there is nothing to say.
        response = await client.request(method, path, json={} if body is None and method != "GET" else body)
        response.raise_for_status()
        return response.json()


async def connect(leaks: LeakWatch, sandbox: RunningSandbox, settings: Settings) -> TokenGrant:
    """issue_state's authorize URL, approved by the sandbox, then exchange_code."""
    issued = await call(leaks, settings, "issue_state", IssueStateInput(company_ref="acme"))
    url = httpx.URL(issued.authorize_url).copy_add_param("company_name", "Acme")
    async with asgi_client(sandbox.app) as browser:  # in-process: no socket-level debug logs of the code
        response = await browser.get(url)
    assert response.status_code == 302
    back = httpx.URL(response.headers["location"])
    assert back.params["state"] == issued.state
    assert str(back.copy_with(query=None)) == CONFIG.redirect_uris[0]
    grant: TokenGrant = await call(
        leaks, settings, "exchange_code", ExchangeCodeInput(code=back.params["code"])
    )
    return grant
