"""``remote-oauth codec-server`` as a real process: loopback-only without a token, the token required with
one, CORS for the configured UI origin only."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from tests.support.cli import CLI, base_env, run
from tests.support.scene import free_port
from tests.support.temporal import TEST_KEYS

TOKEN = "codec-server-token-for-tests-0123456789"
UI = "https://temporal.partner.example"
BODY = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImhlbGxvIg=="}]}


@contextlib.asynccontextmanager
async def codec_server(*args: str) -> AsyncIterator[httpx.AsyncClient]:
    """The command on a free loopback port until it answers; a client for it; SIGTERM on exit."""
    port = free_port()
    env = base_env(REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS)
    proc = await asyncio.create_subprocess_exec(
        *CLI, "codec-server", "--port", str(port), *args, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    await http.options("/encode")
                    break
                except httpx.TransportError:
                    assert proc.returncode is None, "the codec server exited"
                    assert time.monotonic() < deadline, "the codec server did not start"
                    await asyncio.sleep(0.05)
            yield http
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 20)


async def test_without_a_token_it_binds_only_to_loopback() -> None:
    """--host 0.0.0.0 without a token is refused (exit 1, saying how); on loopback it serves without one, and
    a request naming another host (DNS rebinding) is refused."""
    everywhere = "0.0.0.0"  # noqa: S104 - the refused value itself
    done = await run("codec-server", "--host", everywhere, env=base_env(REMOTE_OAUTH_CODEC_KEYS=TEST_KEYS))
    assert (done.code, done.out) == (1, "")
    assert done.err == (
        "error: without --token-file or --issuer the codec server binds only to loopback, not 0.0.0.0: give it "
        "a token, or keep --host 127.0.0.1\n"
    )
    async with codec_server() as http:
        assert (await http.post("/encode", json=BODY)).status_code == 200
        rebound = await http.post("/encode", json=BODY, headers={"Host": "evil.example"})
        assert rebound.status_code == 421


async def test_with_a_token_file_it_refuses_requests_without_the_token(tmp_path: Path) -> None:
    """Without the token: 401; with it: encoded; CORS headers only for --ui-origin."""
    token_file = tmp_path / "codec-token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    async with codec_server("--token-file", str(token_file), "--ui-origin", UI) as http:
        refused = await http.post("/encode", json=BODY, headers={"Origin": UI})
        assert (refused.status_code, refused.json()) == (401, {"error": "unauthorized: no bearer token"})
        ok = await http.post("/encode", json=BODY, headers={"Origin": UI, "Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == UI
        other = await http.post(
            "/encode",
            json=BODY,
            headers={"Origin": "https://evil.example", "Authorization": f"Bearer {TOKEN}"},
        )
        assert not [name for name in other.headers if name.startswith("access-control-")]
