"""The codec server the Temporal UI calls: encode and decode round trips, reasons for refusals, CORS for the
UI's origin only, and no answer to a rebound host name (in-process ASGI)."""

from __future__ import annotations

import base64

import httpx

from workflows.io.codec import Keyring
from workflows.io.codec_server import codec_app

KEY_A = "a:" + base64.b64encode(bytes(range(32))).decode()
KEY_C = "c:" + base64.b64encode(bytes(range(2, 34))).decode()
ORIGIN = "http://localhost:8233"


async def codec_server_post(path: str, body: object, *, keys: str = KEY_A) -> httpx.Response:
    """POST ``body`` as the UI at ``ORIGIN`` would, to a codec server holding ``keys``."""
    app = codec_app(Keyring.parse(keys), allowed_origins=[ORIGIN])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8081"
    ) as http:
        return await http.post(path, json=body, headers={"Origin": ORIGIN, "X-Namespace": "default"})


async def test_codec_server_encodes_and_decodes() -> None:
    """``/encode`` output is what the codec writes, and ``/decode`` turns it back into the original JSON."""
    original = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImhlbGxvIg=="}]}
    encoded = await codec_server_post("/encode", original)
    assert encoded.status_code == 200
    assert encoded.headers["access-control-allow-origin"] == ORIGIN
    [payload] = encoded.json()["payloads"]
    assert payload["metadata"] == {"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "YQ=="}
    decoded = await codec_server_post("/decode", encoded.json())
    assert decoded.status_code == 200
    assert decoded.json() == original


async def test_codec_server_rejects_unknown_keys_and_bad_bodies() -> None:
    """A payload from a missing key or a non-Payloads body gets a 400 with a reason, not a crash."""
    encoded = (await codec_server_post("/encode", {"payloads": [{"data": "eA=="}]})).json()
    missing = await codec_server_post("/decode", encoded, keys=KEY_C)
    assert missing.status_code == 400
    assert missing.json()["error"].startswith(
        "payload encrypted with key id 'a', which is not in the keyring"
    )
    bad = await codec_server_post("/decode", {"payloads": "nope"})
    assert (bad.status_code, bad.json()) == (400, {"error": "body is not JSON Payloads"})


async def test_codec_server_answers_cors_preflight_for_allowed_origins_only() -> None:
    """The UI's origin gets the preflight headers it needs; any other origin gets none."""
    app = codec_app(Keyring.parse(KEY_A), allowed_origins=[ORIGIN])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8081"
    ) as http:
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
        allowed = await http.options("/decode", headers={"Origin": ORIGIN, **preflight})
        other = await http.options("/decode", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.status_code == 200
    assert {
        name: allowed.headers[name] for name in allowed.headers if name.startswith("access-control-")
    } == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "POST, OPTIONS",
        "access-control-allow-headers": "Content-Type, X-Namespace, Authorization",
    }
    assert not [name for name in other.headers if name.startswith("access-control-")]


async def test_codec_server_refuses_a_rebound_host_name() -> None:
    """A page on an attacker's domain re-pointed at 127.0.0.1 (DNS rebinding) sends its own Host: refused,
    nothing decoded; loopback names and addresses are served."""
    app = codec_app(Keyring.parse(KEY_A), allowed_origins=[ORIGIN])
    body = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "ImhlbGxvIg=="}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        refused = [
            await http.post("/encode", json=body, headers={"Host": host})
            for host in ("evil.example:8081", "127.0.0.1.evil.example", "[::1", "")
        ]
        served = [
            await http.post("/encode", json=body, headers={"Host": host})
            for host in ("localhost:8081", "127.0.0.1:8081", "[::1]:8081")
        ]
    assert [r.status_code for r in refused] == [421, 421, 421, 421]
    assert "payloads" not in refused[0].text
    assert [r.status_code for r in served] == [200, 200, 200]


async def test_codec_server_names_a_truncated_ciphertext() -> None:
    """A payload too short to hold a nonce and a tag is a 400 saying so, not a 500."""
    encoded = (await codec_server_post("/encode", {"payloads": [{"data": "eA=="}]})).json()
    encoded["payloads"][0]["data"] = "AAEC"  # three bytes
    answer = await codec_server_post("/decode", encoded)
    assert answer.status_code == 400
    assert "too short to be AES-GCM ciphertext" in answer.json()["error"]
