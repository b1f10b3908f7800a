"""The connect flow in a real browser: Debian's chromium, driven over the Chrome DevTools Protocol.

No browser library: a minimal RFC 6455 client (one socket, masked text frames) speaks CDP, so the test needs
no new dependency and never downloads a browser. Screenshots of each page go to tests/artifacts/.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests import ROOT
from tests.support.dev import running_dev

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1000,700",
)


def chromium() -> str:
    """Debian's chromium, installed with apt when missing (as root); a skip that says why otherwise."""
    if shutil.which(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.skip(f"{CHROMIUM} is missing and installing it needs root (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=600, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"{' '.join(step)} took more than 600 s")
        if done.returncode != 0:
            pytest.skip(f"{' '.join(step)} failed: {done.stderr.strip()[-300:]}")
    return CHROMIUM


class DevTools:
    """A CDP session over one WebSocket: commands by id, events collected while waiting."""

    def __init__(self, ws_url: str) -> None:
        parts = urlsplit(ws_url)
        self._sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self._sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self._sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _recv_exact(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def _recv_message(self) -> dict[str, Any]:
        payload = b""
        while True:
            first, second = self._recv_exact(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._recv_exact(2))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._recv_exact(8))[0]
            payload += self._recv_exact(size)
            if first & 0x80:  # FIN: the last fragment
                message: dict[str, Any] = json.loads(payload)
                return message

    def _send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        size = len(data)
        header = bytes([0x81])  # FIN + text
        if size < 126:
            header += bytes([0x80 | size])
        elif size < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", size)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", size)
        self._sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        self._send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        while True:
            message = self._recv_message()
            if message.get("id") == self._next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def wait_for(self, expression: str, deadline_s: float = 20.0) -> Any:
        """Poll a JavaScript expression until it is truthy (pages load asynchronously)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"{expression} stayed falsy; page: {self.evaluate('document.body.innerText')!r}")

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        self._sock.close()


@contextlib.contextmanager
def browser(profile: Path) -> Iterator[DevTools]:
    """A headless chromium with a fresh profile, and a CDP session on its first tab."""
    process = subprocess.Popen(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            assert process.poll() is None, "chromium exited before opening DevTools"
            assert time.monotonic() < deadline, "chromium did not open DevTools in 30 s"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = httpx.get(f"http://127.0.0.1:{port}/json/list", trust_env=False).json()
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        try:
            tools.call("Page.enable")
            yield tools
        finally:
            tools.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait(timeout=10)


LAYOUT = """(() => {
  const box = document.querySelector('main').getBoundingClientRect();
  const style = getComputedStyle(document.body);
  return {left: Math.round(box.left), right: Math.round(innerWidth - box.right), width: Math.round(box.width),
          font: style.fontFamily, color: style.color, background: style.backgroundColor};
})()"""
"""Where the page's card sits and how the body is styled: the stylesheet applied, without JavaScript of ours."""


def lines(tools: DevTools) -> list[str]:
    """The page's visible text, one entry per non-empty line."""
    return [line for line in tools.evaluate("document.body.innerText").splitlines() if line.strip()]


def assert_styled(tools: DevTools) -> None:
    """The card is centred and narrow, the font is not the browser's default serif, text is dark on light."""
    layout = tools.evaluate(LAYOUT)
    assert abs(layout["left"] - layout["right"]) <= 2, layout
    assert 300 <= layout["width"] <= 520, layout
    assert "system-ui" in layout["font"], layout
    assert (layout["color"], layout["background"]) != ("rgb(0, 0, 0)", "rgba(0, 0, 0, 0)"), layout
    assert tools.evaluate("document.scripts.length") == 0  # nothing here needs JavaScript


def test_connect_in_a_browser_shows_consent_then_connected(tmp_path: Path) -> None:
    """/connect/acme leads to the sandbox's consent page; Approve lands on "Connected"; acme is active; a
    reused callback shows the styled error page. Each page is kept as a screenshot in tests/artifacts/."""
    chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with running_dev(tmp_path / "dev") as stack, browser(tmp_path / "profile") as tools:
        tools.call("Page.navigate", url=stack.connect_url)
        title = tools.wait_for("document.querySelector('button[value=approve]') && document.title")
        assert title == "Connect acme"
        assert lines(tools) == [
            "Remote sandbox",
            "Connect acme",
            "The application remote-oauth-dev asks to act for acme with these scopes:",
            *["company:read", "company:write", "employment:read", "employment:write", "magic_link:write"],
            "Approve",
            "Deny",
        ]
        assert_styled(tools)
        tools.screenshot(ARTIFACTS / "dev-1-consent.png")

        tools.evaluate("document.querySelector('button[value=approve]').click()")
        tools.wait_for("document.title === 'Connected'")
        assert lines(tools) == [
            "Connected",
            "Your company is connected. You can close this page.",
            "Company connection to Remote",
        ]
        callback = tools.evaluate("location.href")
        assert urlsplit(callback).path == "/oauth/callback"
        assert_styled(tools)
        tools.screenshot(ARTIFACTS / "dev-2-connected.png")

        status = subprocess.run(
            [sys.executable, "-m", "worker.cli.app", "status", "acme", "--json"],
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert json.loads(status.stdout)["phase"] == "active"

        # The same callback again: the binding cookie went with the success, so it is refused at the door.
        tools.call("Page.navigate", url=callback)
        tools.wait_for("document.title === 'Open the link in the same browser'")
        assert lines(tools) == [
            "Open the link in the same browser",
            "This consent was started in another browser. Open the connect link you were sent in this browser "
            "and approve again.",
            "Company connection to Remote",
        ]
        assert_styled(tools)
        tools.screenshot(ARTIFACTS / "dev-3-error.png")
