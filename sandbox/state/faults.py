"""Scheduled misbehaviour of the token endpoint and the bearer-protected API, for testing how clients
classify failures and wait out rate limits."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

__all__ = [
    "API_FAULT_KINDS",
    "FAULT_KINDS",
    "FAULT_TARGETS",
    "GRANT_PERFORMING_KINDS",
    "FaultPlan",
    "FaultSpec",
    "api_fault_response",
    "echo_response",
    "fault_response",
    "parse_fault",
]

FAULT_KINDS = (
    "latency",
    "http_500",
    "http_502",
    "http_503",
    "rate_limited",
    "truncated_json",
    "json_array",
    "missing_access_token",
    "expires_in_string",
    "expires_in_negative",
    "expires_in_missing",
    "unknown_token_type",
    "oversized_body",
    "redirect",
    "commit_then_drop",
    "invalid_grant",
    "server_error_json",
    "temporarily_unavailable",
    "echo_request",
)

FAULT_TARGETS = ("token", "api")
"""Where a fault fires: the token endpoint, or the bearer-protected API (``/v1/...``) after the bearer checks."""

API_FAULT_KINDS = ("rate_limited", "http_500", "http_502", "http_503")
"""The kinds an ``api`` fault may have: answers an API gateway gives whatever the resource."""

GRANT_PERFORMING_KINDS = ("latency", "commit_then_drop")
"""Faults after which the grant still happens; every other kind answers instead of the grant."""

MAX_DELAY_SECONDS = 120.0
_PLAUSIBLE_TOKEN = {"access_token": "fault-injected", "token_type": "bearer", "expires_in": 3600}


@dataclass(frozen=True)
class FaultSpec:
    """One scheduled fault: for the next ``count`` matching requests, or for a ``fraction`` of them."""

    kind: str
    count: int | None = None
    fraction: float | None = None
    delay_seconds: float = 0.0
    retry_after: str | None = None
    grant_type: str | None = None
    """Only token requests of this grant type match; None matches all."""
    target: str = "token"
    """``token`` (the token endpoint) or ``api`` (every bearer-protected API endpoint)."""


def parse_fault(body: object) -> FaultSpec:
    """Validate an admin request body; raises ``ValueError`` with a message fit for a 422."""
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    known = {"kind", "count", "fraction", "delay_seconds", "retry_after", "grant_type", "target"}
    unknown = set(body) - known
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    kind = body.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"kind must be one of {list(FAULT_KINDS)}")
    count, fraction = body.get("count"), body.get("fraction")
    if (count is None) == (fraction is None):
        raise ValueError("give exactly one of count and fraction")
    if count is not None and (type(count) is not int or count < 1):
        raise ValueError("count must be a positive integer")
    if fraction is not None and (
        type(fraction) not in (int, float) or not math.isfinite(fraction) or not 0 <= fraction <= 1
    ):
        raise ValueError("fraction must be a number from 0.0 to 1.0")
    delay = body.get("delay_seconds", 0.0)
    if type(delay) not in (int, float) or not 0 <= delay <= MAX_DELAY_SECONDS:
        raise ValueError(f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS}")
    retry_after, grant_type = body.get("retry_after"), body.get("grant_type")
    if retry_after is not None and not isinstance(retry_after, str):
        raise ValueError("retry_after must be a string, as the header is")
    if grant_type is not None and not isinstance(grant_type, str):
        raise ValueError("grant_type must be a string")
    target = body.get("target", "token")
    if target not in FAULT_TARGETS:
        raise ValueError(f"target must be one of {list(FAULT_TARGETS)}")
    if target == "api" and (kind not in API_FAULT_KINDS or grant_type is not None):
        raise ValueError(f"an api fault has a kind of {list(API_FAULT_KINDS)} and no grant_type")
    return FaultSpec(
        kind=kind,
        count=count,
        fraction=None if fraction is None else float(fraction),
        delay_seconds=float(delay),
        retry_after=retry_after,
        grant_type=grant_type,
        target=target,
    )


@dataclass(slots=True)
class _Scheduled:
    spec: FaultSpec
    matched: int = 0
    fired: int = 0


class FaultPlan:
    """The faults waiting for token and API requests, first scheduled first served."""

    def __init__(self) -> None:
        self._scheduled: list[_Scheduled] = []

    def add(self, spec: FaultSpec) -> None:
        """Schedule a fault after those already waiting."""
        self._scheduled.append(_Scheduled(spec))

    def clear(self) -> None:
        """Drop every scheduled fault."""
        self._scheduled.clear()

    def describe(self) -> list[dict[str, Any]]:
        """What is scheduled and how often each fault has fired."""
        return [{**asdict(item.spec), "fired": item.fired} for item in self._scheduled]

    def take(self, grant_type: str | None, *, target: str = "token") -> FaultSpec | None:
        """The fault for this request to ``target``, if any; counted faults are used up, fractional ones stay.

        A fraction fires deterministically (error diffusion: the n-th match fires when
        ``floor(n * fraction)`` grows), so a test asking for 0.5 sees every second request fail.
        """
        for item in self._scheduled:
            spec = item.spec
            if spec.target != target or (spec.grant_type is not None and spec.grant_type != grant_type):
                continue
            if spec.count is not None:
                item.fired += 1
                if item.fired >= spec.count:
                    self._scheduled.remove(item)
                return spec
            assert spec.fraction is not None  # parse_fault guarantees one of the two
            item.matched += 1
            if math.floor(item.matched * spec.fraction) > math.floor((item.matched - 1) * spec.fraction):
                item.fired += 1
                return spec
        return None


def fault_response(spec: FaultSpec, token_type: str) -> Response:
    """The response that replaces the grant for every kind outside ``GRANT_PERFORMING_KINDS``."""
    kind = spec.kind
    no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    token = {**_PLAUSIBLE_TOKEN, "token_type": token_type}
    if kind in ("http_500", "http_502", "http_503"):
        status = int(kind.removeprefix("http_"))
        headers = {"Retry-After": spec.retry_after} if status == 503 and spec.retry_after else {}
        page = f"<html><body><h1>{status}</h1><p>The gateway is having a moment.</p></body></html>"
        return HTMLResponse(page, status_code=status, headers=headers)
    if kind == "rate_limited":
        body = {"error": "rate_limited", "error_description": "Too many requests (injected fault)."}
        return JSONResponse(body, status_code=429, headers={"Retry-After": spec.retry_after or "7"})
    if kind == "truncated_json":
        text = json.dumps(token)
        return Response(text[: len(text) // 2], media_type="application/json", headers=no_store)
    if kind == "json_array":
        return JSONResponse([], headers=no_store)
    if kind == "redirect":
        return RedirectResponse("http://127.0.0.1:9/elsewhere", status_code=302)
    if kind in ("invalid_grant", "server_error_json", "temporarily_unavailable"):
        error, status = {
            "invalid_grant": ("invalid_grant", 400),
            "server_error_json": ("server_error", 500),
            "temporarily_unavailable": ("temporarily_unavailable", 503),
        }[kind]
        headers = {"Retry-After": spec.retry_after} if spec.retry_after else {}
        body = {"error": error, "error_description": "Injected fault."}
        return JSONResponse(body, status_code=status, headers={**no_store, **headers})
    mangle = _MANGLERS.get(kind)
    if mangle is None:
        raise ValueError(f"{kind!r} does not replace the response")
    mangled: dict[str, object] = dict(token)
    mangle(mangled)
    return JSONResponse(mangled, headers=no_store)


def api_fault_response(spec: FaultSpec, limit: int) -> Response:
    """What an ``api`` fault answers: a 429 shaped like the API's own (``Retry-After``, no budget left), or an
    HTML 5xx page as from the token endpoint."""
    if spec.kind != "rate_limited":
        return fault_response(spec, "bearer")
    body = {"error": "rate_limited", "message": "Too many requests for this client id (injected fault)."}
    headers = {
        "Retry-After": spec.retry_after or "7",
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": "0",
    }
    return JSONResponse(body, status_code=429, headers=headers)


def echo_response(body: bytes, authorization: str | None) -> Response:
    """A hostile gateway: a 400 whose description echoes the request (form body and Basic credential),
    with a forged log line and a terminal escape in it, as a misbehaving proxy or gateway might."""
    said = f"bad request {body.decode('utf-8', 'replace')} auth={authorization}\nINFO forged line \x1b[31mred"
    return JSONResponse({"error": "invalid_request", "error_description": said}, status_code=400)


def _drop(name: str) -> Callable[[dict[str, object]], None]:
    def drop(body: dict[str, object]) -> None:
        body.pop(name, None)

    return drop


def _put(name: str, value: object) -> Callable[[dict[str, object]], None]:
    return lambda body: body.update({name: value})


_MANGLERS: dict[str, Callable[[dict[str, object]], None]] = {
    "missing_access_token": _drop("access_token"),
    "expires_in_string": _put("expires_in", "3600"),
    "expires_in_negative": _put("expires_in", -5),
    "expires_in_missing": _drop("expires_in"),
    "unknown_token_type": _put("token_type", "mac"),
    # Past any sane response cap (100 KiB), still valid JSON so only the size is wrong.
    "oversized_body": _put("padding", "x" * (150 * 1024)),
}
"""The 200 faults: a plausible token response with one thing wrong."""
