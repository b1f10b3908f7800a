"""Liveness and readiness of the web app and the worker's metrics port, against a real dev server that is
stopped half-way: ``/readyz`` flips to 503 and says why, ``/healthz`` stays 200."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator

import httpx

from bench.stack import dev_server
from tests.support.cli import CLI, base_env
from tests.support.scene import free_port
from tests.support.stack import CONNECT_KEY, REDIRECT_URI
from tests.support.temporal import TEST_KEYS
from worker.api import RemoteOAuth
from worker.web import create_web_app
from workflows.io.codec import Keyring
from workflows.io.connect_session import ConnectLinks
from workflows.io.settings import Settings

DEADLINE = 30.0


async def _until(http: httpx.AsyncClient, url: str, status: int) -> httpx.Response:
    """GET ``url`` until it answers ``status`` (the worker starting, Temporal going away), within DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            answer = await http.get(url)
            if answer.status_code == status:
                return answer
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def worker_process(address: str, port: int) -> AsyncIterator[asyncio.subprocess.Process]:
    """``remote-oauth worker --metrics-port PORT`` against ``address``; SIGTERM on exit."""
    env = base_env(
        TEMPORAL_ADDRESS=address,
        REMOTE_GATEWAY_URL="http://127.0.0.1:9",  # never called: no company is onboarded
        REMOTE_CLIENT_ID="health-test",
        REMOTE_CLIENT_SECRET="health-test-secret",
        REMOTE_REDIRECT_URI=REDIRECT_URI,
        REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS,
        REMOTE_OAUTH_TASK_QUEUE=f"health-{port}",
        REMOTE_OAUTH_TOKEN_TASK_QUEUE=f"health-{port}-token",
    )
    proc = await asyncio.create_subprocess_exec(
        *CLI, "worker", "--metrics-port", str(port), env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_readiness_flips_when_temporal_stops(temporal_binary: str) -> None:
    """Both processes are live and ready while the dev server runs (the worker's port also serves the SDK's
    Prometheus metrics); once it stops, /readyz is 503 naming Temporal and /healthz is still 200."""
    settings = Settings.from_env(
        {"REMOTE_OAUTH_CONNECT_KEYS": CONNECT_KEY, "REMOTE_REDIRECT_URI": REDIRECT_URI}
    )
    links = ConnectLinks.from_settings(settings)
    assert links is not None
    port = free_port()
    worker_url = f"http://127.0.0.1:{port}"
    async with contextlib.AsyncExitStack() as stack:
        env = await stack.enter_async_context(dev_server(Keyring.parse(TEST_KEYS), binary=temporal_binary))
        address = env.client.service_client.config.target_host
        app = create_web_app(
            RemoteOAuth(env.client, task_queue="health"), redirect_uri=REDIRECT_URI, links=links
        )
        web = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
        )
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=10))
        await stack.enter_async_context(worker_process(address, port))

        ready = await _until(http, f"{worker_url}/readyz", 200)
        assert ready.json() == {"status": "ready"}
        assert (await web.get("/readyz")).json() == {"status": "ready"}
        metrics = await http.get(f"{worker_url}/metrics")
        assert metrics.status_code == 200
        assert "temporal_" in metrics.text  # the SDK runtime's exporter, passed through

        await env.shutdown()

        down = await _until(http, f"{worker_url}/readyz", 503)
        assert down.json()["status"] == "unavailable"
        assert "Temporal" in down.json()["reason"]
        web_down = await web.get("/readyz")
        assert (web_down.status_code, web_down.json()["status"]) == (503, "unavailable")
        for live in (await http.get(f"{worker_url}/healthz"), await web.get("/healthz")):
            assert (live.status_code, live.json()) == (200, {"status": "ok"})
            assert live.headers["cache-control"] == "no-store"
