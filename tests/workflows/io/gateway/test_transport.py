"""Reading a gateway's answer: identity asked for, compressed bodies decoded under the cap, never expanded
whole into memory; over in-process ASGI, which streams the raw bytes as a socket would."""

from __future__ import annotations

import gzip
import sys
import zlib

import httpx
from httpcore._synchronization import current_async_library
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workflows.io.gateway import transport

BODY = b'{"access_token":"at-1","token_type":"bearer","expires_in":3600}'


def gateway(payload: bytes, encoding: str, seen: list[str]) -> Starlette:
    async def token(request: Request) -> Response:
        seen.append(request.headers.get("accept-encoding", ""))
        headers = {"Content-Encoding": encoding} if encoding else {}
        return Response(payload, media_type="application/json", headers=headers)

    return Starlette(routes=[Route("/token", token, methods=["POST"])])


async def send(payload: bytes, encoding: str = "") -> tuple[transport.RawResponse, list[str]]:
    seen: list[str] = []
    app = gateway(payload, encoding, seen)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        raw = await transport.send(http, {"method": "post", "url": "/token"}, deadline=5, extra_headers={})
    return raw, seen


async def test_identity_is_asked_for_and_plain_bodies_pass() -> None:
    """Every request says Accept-Encoding: identity; a plain body is read as sent."""
    raw, seen = await send(BODY)
    assert (seen, raw.body, raw.too_large) == (["identity"], BODY, False)


async def test_a_gzip_body_is_decoded_when_small() -> None:
    """A gateway that compresses anyway is still understood (gzip and zlib-wrapped deflate)."""
    assert (await send(gzip.compress(BODY), "gzip"))[0].json() == {
        "access_token": "at-1",
        "token_type": "bearer",
        "expires_in": 3600,
    }
    assert (await send(zlib.compress(BODY), "deflate"))[0].body == BODY


async def test_a_compression_bomb_is_refused_at_the_cap() -> None:
    """50 KB of gzip that would expand to 128 MiB is refused once the output passes the cap."""
    bomb = gzip.compress(b"\0" * (128 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < transport.MAX_BODY_BYTES * 2
    raw, _ = await send(bomb[: transport.MAX_BODY_BYTES], "gzip")
    assert (raw.too_large, raw.body) == (True, b"")
    assert transport.decompress(bomb[: transport.MAX_BODY_BYTES], "gzip") is None


async def test_an_unknown_or_corrupt_encoding_is_named() -> None:
    """br (not asked for) and corrupt gzip are reported, never passed on as a body."""
    raw, _ = await send(b"\x8b\x00junk", "br")
    assert raw.undecodable == "Content-Encoding 'br' was not asked for and is not supported"
    raw, _ = await send(b"\x1f\x8b\x08junk-not-gzip", "gzip")
    assert raw.undecodable == "the gzip body does not decompress"


async def test_httpcore_finds_sniffio_instead_of_failing_an_import_per_request() -> None:
    """httpcore asks sniffio which event loop runs on every connection-pool request; without the package
    each request pays a failed import (measured: a third of a loopback exchange). pyproject pins it."""
    before = sys.modules.pop("sniffio", None)
    try:
        assert current_async_library() == "asyncio"
        assert "sniffio" in sys.modules
    finally:
        if before is not None:
            sys.modules["sniffio"] = before
