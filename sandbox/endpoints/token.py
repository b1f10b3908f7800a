"""The token endpoint (``POST /oauth2/token`` in the seed spec): client authentication, rate limit, faults, the grant."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from sandbox.endpoints.assertion import verify_assertion
from sandbox.endpoints.client_auth import ClientClaim, authenticate, claim_client
from sandbox.endpoints.errors import OAuthError
from sandbox.endpoints.grants import (
    IssuedTokens,
    grant_assertion,
    grant_client_credentials,
    grant_code,
    grant_refresh,
)
from sandbox.state.faults import GRANT_PERFORMING_KINDS, echo_response, fault_response
from sandbox.state.store import GRANT_TYPES, SandboxStore

__all__ = ["ConnectionDroppedError", "audience_for", "token_endpoint"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class ConnectionDroppedError(Exception):
    """Raised in-process, where no socket can be closed, to stand for ``commit_then_drop``."""


class _DroppedConnection(Response):
    """Closes the socket without a byte of response, after the grant has really been committed."""

    def __init__(self, store: SandboxStore) -> None:
        super().__init__()
        self._store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Ask the server to close this connection, then wait until it has noticed."""
        dropper = self._store.drop_connection
        if dropper is None or not dropper(scope):
            raise ConnectionDroppedError("commit_then_drop: the grant was committed, the response dropped")
        # Returning before uvicorn sees the disconnect would make it send a 500 instead of nothing.
        while (await receive())["type"] != "http.disconnect":
            pass


def audience_for(store: SandboxStore, request: Request) -> str:
    """``{issuer}/auth``, the issuer configured or else this request's base URL."""
    issuer = store.config.issuer or str(request.base_url)
    return f"{issuer.rstrip('/')}/auth"


async def _read_form(request: Request) -> dict[str, str]:
    """The form body as single values; RFC 6749 forbids repeating a parameter."""
    content_type = request.headers.get("content-type", "application/x-www-form-urlencoded")
    if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        parsed = parse_qs((await request.body()).decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as err:
        raise OAuthError("invalid_request", "the body is not UTF-8") from err
    repeated = sorted(name for name, values in parsed.items() if len(values) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"parameters repeated: {', '.join(repeated)}")
    return {name: values[0] for name, values in parsed.items()}


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request", f"missing parameter: {name}")
    return value


def _spec_required(form: dict[str, str], claim: ClientClaim, required: tuple[str, ...]) -> None:
    """The fields the spec requires; a ``client_id`` carried by HTTP Basic counts (RFC 6749 section 2.3.1)."""
    for name in required:
        if not (name == "client_id" and claim.basic):
            _required(form, name)


def _perform(store: SandboxStore, request: Request, form: dict[str, str], claim: ClientClaim) -> IssuedTokens:
    """Authenticate and run the grant; synchronous, so it commits atomically."""
    grant_type = _required(form, "grant_type")
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    authenticate(claim, store.config, secret_required=grant_type != JWT_BEARER)
    _spec_required(form, claim, request.app.state.contract.token.required)
    scope = form.get("scope") or None
    if grant_type == "authorization_code":
        return grant_code(store, code=_required(form, "code"), redirect_uri=_required(form, "redirect_uri"))
    if grant_type == "refresh_token":
        return grant_refresh(store, refresh_token=_required(form, "refresh_token"), scope=scope)
    if grant_type == "client_credentials":
        return grant_client_credentials(store, scope=scope)
    verified = verify_assertion(
        _required(form, "assertion"),
        config=store.config,
        audience=audience_for(store, request),
        now=store.clock(),
        seen_jtis=store.seen_jtis,
    )
    return grant_assertion(store, verified.subject, scope=scope or verified.scope)


def _token_body(store: SandboxStore, issued: IssuedTokens) -> dict[str, Any]:
    access = issued.access
    body: dict[str, Any] = {
        "access_token": access.token,
        "token_type": store.config.token_type,
        "expires_in": store.config.token_ttl,
        "scope": access.scope,
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    optional = {
        "company_id": access.company_id,
        "user_id": access.user_id,
        "employment_id": access.employment_id,
    }
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def _error(err: OAuthError, headers: dict[str, str]) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status, headers={**NO_STORE, **headers, **err.headers})


async def token_endpoint(request: Request) -> Response:
    """Answer one token request, counting it by grant type whatever the outcome."""
    store: SandboxStore = request.app.state.sandbox
    response = await _answer(store, request)
    if not isinstance(response, _DroppedConnection):
        store.token_responses[str(response.status_code)] += 1
    return response


async def _answer(store: SandboxStore, request: Request) -> Response:
    try:
        form = await _read_form(request)
    except OAuthError as err:
        store.token_requests["other"] += 1
        return _error(err, {})
    grant_type = form.get("grant_type")
    store.token_requests[grant_type if grant_type in GRANT_TYPES else "other"] += 1
    claim: ClientClaim | OAuthError
    try:
        claim = claim_client(form, request.headers.get("authorization"))
        rate_key = claim.client_id or "anonymous"
    except OAuthError as err:
        claim, rate_key = err, form.get("client_id") or "anonymous"
    decision = store.limiter.hit(rate_key, store.config.rate_limit_per_minute)
    if not decision.allowed:
        store.rate_limited += 1
        body = {"error": "rate_limited", "error_description": "Too many requests for this client id."}
        return JSONResponse(body, status_code=429, headers={**NO_STORE, **decision.headers()})
    fault = store.faults.take(grant_type)
    if fault is not None and fault.kind == "echo_request":
        return echo_response(await request.body(), request.headers.get("authorization"))
    if fault is not None and fault.kind not in GRANT_PERFORMING_KINDS:
        return fault_response(fault, store.config.token_type)
    if fault is not None and fault.kind == "latency":
        await asyncio.sleep(fault.delay_seconds)
    try:
        if isinstance(claim, OAuthError):
            raise claim
        issued = _perform(store, request, form, claim)
    except OAuthError as err:
        return _error(err, decision.headers())
    if fault is not None and fault.kind == "commit_then_drop":
        store.dropped_connections += 1
        return _DroppedConnection(store)
    return JSONResponse(_token_body(store, issued), headers={**NO_STORE, **decision.headers()})
