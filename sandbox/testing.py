"""Running a real sandbox on 127.0.0.1 for tests, plus a warning-free way to sign HS256 assertions."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.contract import load_contract
from sandbox.server import build_server
from sandbox.state.store import SandboxStore

__all__ = [
    "Connected",
    "FakeClock",
    "RunningSandbox",
    "asgi_client",
    "connect_company",
    "hs256_assertion",
    "running_sandbox",
    "running_sandbox_in_thread",
]

STARTUP_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox listening on 127.0.0.1."""

    url: str
    """Its base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
    app: Starlette
    """The served app; ``app.state.sandbox`` is its state."""

    @property
    def store(self) -> SandboxStore:
        """The sandbox's state, for assertions about what it issued."""
        store: SandboxStore = self.app.state.sandbox
        return store


@asynccontextmanager
async def running_sandbox(
    config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[RunningSandbox]:
    """Serve a fresh sandbox on a free port in the current event loop; stop it on exit."""
    app = create_app(config, clock=clock)
    server = build_server(app, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if task.done():
            task.result()  # surfaces the startup error
            raise RuntimeError("the sandbox server stopped before it started")
        if time.monotonic() > deadline:
            task.cancel()
            raise TimeoutError(f"the sandbox server did not start within {STARTUP_SECONDS} s")
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningSandbox(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        await task


@contextmanager
def running_sandbox_in_thread(
    config: SandboxConfig | None = None, *, clock: Callable[[], float] = time.time
) -> Iterator[RunningSandbox]:
    """``running_sandbox`` for synchronous code: the server runs in its own thread and event loop.

    Its state is mutated in that thread; inspect it through the ``/sandbox/`` admin API, not directly.
    """
    ready = threading.Event()
    outcome: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        outcome["stop"], outcome["loop"] = stop, asyncio.get_running_loop()
        async with running_sandbox(config, clock=clock) as sandbox:
            outcome["sandbox"] = sandbox
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as err:  # handed to the caller's thread below
            outcome["error"] = err
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    ready.wait(STARTUP_SECONDS)
    if "sandbox" not in outcome:
        raise RuntimeError("the sandbox server did not start") from outcome.get("error")
    try:
        yield outcome["sandbox"]
    finally:
        outcome["loop"].call_soon_threadsafe(outcome["stop"].set)
        thread.join(STARTUP_SECONDS)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_assertion(claims: dict[str, Any], secret: str) -> str:
    """An HS256 JWT signed with ``secret``.

    pyjwt warns (``InsecureKeyLengthWarning``) on HMAC keys under 32 bytes, such as the sandbox's dev
    secret; with warnings as errors that breaks tests, so this signs with ``hmac`` directly.
    """
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


class FakeClock:
    """A clock that moves only when a test says so, for expiry, rotation grace and rate windows."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        """The current fake time, in seconds since the epoch."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


def asgi_client(app: Starlette, *, base_url: str = "http://sandbox.test") -> httpx.AsyncClient:
    """An httpx client that calls ``app`` in-process, without a socket."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@dataclass(frozen=True)
class Connected:
    """Where the consent flow sent the browser back to, split into its parts."""

    location: str
    code: str | None
    state: str | None
    error: str | None


_REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


async def connect_company(
    client: httpx.AsyncClient,
    *,
    company_name: str | None = None,
    scope: str | None = None,
    state: str = "state-1",
    config: SandboxConfig | None = None,
    decision: str = "approve",
) -> Connected:
    """Walk the consent flow like a browser: open the authorize URL, press Approve (or Deny)."""
    config = config or SandboxConfig()
    params = {
        "client_id": config.client_id,
        "response_type": "code",
        "redirect_uri": config.redirect_uris[0],
        "state": state,
    }
    if company_name is not None:
        params["company_name"] = company_name
    if scope is not None:
        params["scope"] = scope
    response = await client.get(load_contract().authorize.path, params=params)
    if response.status_code == 200:
        found = _REQUEST_ID.search(response.text)
        if found is None:
            raise AssertionError("the consent page has no request_id")
        form = {"request_id": found.group(1), "decision": decision}
        response = await client.post("/oauth/consent", data=form)
    if response.status_code != 302:
        raise AssertionError(f"expected a redirect, got {response.status_code}: {response.text[:200]}")
    location = response.headers["location"]
    query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
    return Connected(
        location=location, code=query.get("code"), state=query.get("state"), error=query.get("error")
    )
