"""Sending one gateway request: a whole-request deadline, no redirects, and a capped body read.

We ask for ``Accept-Encoding: identity``; a gateway that compresses anyway is decompressed here, incrementally
and under the same cap, so a small compressed body can never expand into memory before it is refused.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from dataclasses import dataclass
from typing import Any

import httpx

MAX_BODY_BYTES = 64 * 1024
"""Token and magic-link responses are a few hundred bytes; a bigger body is refused, never buffered."""


@dataclass(frozen=True)
class RawResponse:
    """What came back, read fully (under the cap) before the connection was released."""

    status: int
    headers: httpx.Headers
    body: bytes
    too_large: bool = False
    """The body passed ``MAX_BODY_BYTES`` (compressed or not); reading stopped there and ``body`` is empty."""
    undecodable: str | None = None
    """Why the body could not be decompressed (an unknown ``Content-Encoding``, corrupt data); else None."""

    def json(self) -> object:
        """The decoded JSON body, or None when it is not JSON (HTML error pages, truncation, nesting so deep
        that the decoder gives up, which Python reports as ``RecursionError``)."""
        try:
            document: object = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return document


def http_client(*, base_url: str, timeout: float) -> httpx.AsyncClient:
    """The client the worker builds once: per-phase timeouts, redirects off, no env proxies or .netrc."""
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"Accept": "application/json", "User-Agent": "remote-oauth"},
    )


async def send(
    http: httpx.AsyncClient, request_kwargs: dict[str, Any], *, deadline: float, extra_headers: dict[str, str]
) -> RawResponse:
    """Send a request built by a generated operation's ``_get_kwargs``; read at most ``MAX_BODY_BYTES``.

    ``deadline`` (seconds) bounds the whole exchange (httpx's own timeouts are per phase), so an attempt never
    outlives the activity's start-to-close timeout.

    Raises:
        httpx.RequestError: the transport failed (connection refused/reset, dropped, protocol error).
        TimeoutError: the whole exchange took longer than ``deadline``.
    """
    kwargs = dict(request_kwargs)
    # identity on every request, whichever client sends it: nothing to expand before the cap is checked.
    headers = {"Accept-Encoding": "identity", **kwargs.pop("headers", {}), **extra_headers}
    request = http.build_request(**kwargs, headers=headers)
    async with asyncio.timeout(deadline):
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            raw, encoding = await _read_capped(response)
        finally:
            await response.aclose()
    status, received = response.status_code, response.headers
    if raw is None:
        return RawResponse(status=status, headers=received, body=b"", too_large=True)
    try:
        body = decompress(raw, encoding)
    except ValueError as err:
        return RawResponse(status=status, headers=received, body=b"", undecodable=str(err))
    if body is None:
        return RawResponse(status=status, headers=received, body=b"", too_large=True)
    return RawResponse(status=status, headers=received, body=body)


async def _read_capped(response: httpx.Response) -> tuple[bytes | None, str]:
    """The body as sent and the ``Content-Encoding`` still to undo; None as soon as it passes the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None, ""
    if response.is_stream_consumed:
        # An in-memory response (httpx.MockTransport in tests): already read and decoded by httpx.
        body = response.content
        return (body if len(body) <= MAX_BODY_BYTES else None), ""
    chunks: list[bytes] = []
    size = 0
    # aiter_raw: httpx's own decoding would expand a compressed chunk in full before we could count it.
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None, ""
        chunks.append(chunk)
    return b"".join(chunks), response.headers.get("content-encoding", "")


def decompress(data: bytes, encoding: str) -> bytes | None:
    """``data`` decoded per ``Content-Encoding``, or None once it would pass ``MAX_BODY_BYTES``.

    Raises:
        ValueError: an encoding other than identity, gzip or deflate, or data that does not decode.
    """
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise ValueError(f"Content-Encoding {coding[:20]!r} was not asked for and is not supported")
        # wbits 47 reads gzip or zlib headers; raw deflate (no header) is what some servers call deflate.
        decoder = zlib.decompressobj(47 if coding != "deflate" or data[:1] == b"\x78" else -15)
        try:
            out = decoder.decompress(data, MAX_BODY_BYTES + 1)
        except zlib.error:
            raise ValueError(f"the {coding} body does not decompress") from None
        if len(out) > MAX_BODY_BYTES or decoder.unconsumed_tail:
            return None
        data = out
    return data


__all__ = ["MAX_BODY_BYTES", "RawResponse", "decompress", "http_client", "send"]
