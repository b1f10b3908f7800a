"""Sending one gateway request: a whole-request deadline, no redirects, and a capped body read."""

from __future__ import annotations

import asyncio
import json
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
    """The body passed ``MAX_BODY_BYTES``; reading stopped there and ``body`` is empty."""

    def json(self) -> object:
        """The decoded JSON body, or None when it is not JSON (HTML error pages, truncation...)."""
        try:
            document: object = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
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
    headers = {**kwargs.pop("headers", {}), **extra_headers}
    request = http.build_request(**kwargs, headers=headers)
    async with asyncio.timeout(deadline):
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            body = await _read_capped(response)
        finally:
            await response.aclose()
    if body is None:
        return RawResponse(status=response.status_code, headers=response.headers, body=b"", too_large=True)
    return RawResponse(status=response.status_code, headers=response.headers, body=body)


async def _read_capped(response: httpx.Response) -> bytes | None:
    """The (decoded) body, or None as soon as it passes the cap: a huge or endless body is never buffered."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = ["MAX_BODY_BYTES", "RawResponse", "http_client", "send"]
