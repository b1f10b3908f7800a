"""The ``/sandbox/`` admin API: what tests use to inspect state, revoke consent and schedule faults."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.config import DEFAULT_SCOPE, SandboxConfig
from sandbox.endpoints.errors import OAuthError
from sandbox.endpoints.grants import parse_scope
from sandbox.state.faults import parse_fault
from sandbox.state.records import Grant
from sandbox.state.store import SandboxStore

__all__ = ["SETTABLE", "admin_routes"]

Handler = Callable[[Request], Awaitable[Response]]

SETTABLE: dict[str, type] = {
    "token_ttl": int,
    "token_type": str,
    "refresh_rotation": str,
    "rotation_grace_seconds": int,
    "rate_limit_per_minute": int,
    "magic_links_enabled": bool,
    "auto_approve": bool,
}
"""Settings ``POST /sandbox/settings`` may change while the sandbox runs."""

EMPLOYMENT_STATUSES = ("invited", "active")


class _BadRequest(Exception):
    """An admin request the sandbox cannot act on; answered 422 with the message."""


def _store(request: Request) -> SandboxStore:
    store: SandboxStore = request.app.state.sandbox
    return store


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _BadRequest("the body must be JSON") from err
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    return body


def _settings(config: SandboxConfig) -> dict[str, Any]:
    return {name: getattr(config, name) for name in SETTABLE}


def _handles_bad_requests(handler: Handler) -> Handler:
    """Turn ``_BadRequest`` and config ``ValueError`` into 422 ``{"message": ...}``; refuse non-JSON changes.

    Every request that changes something must say ``Content-Type: application/json``: a browser sends that
    cross-site only after a CORS preflight, which the sandbox never grants, so no web page a developer visits
    can switch on auto-approve, revoke a company or reset the sandbox.
    """

    async def wrapped(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method != "GET" and media_type != "application/json":
            message = "the sandbox admin API accepts only Content-Type: application/json (send a JSON body, e.g. {})"
            return JSONResponse({"message": message}, status_code=415)
        try:
            return await handler(request)
        except (_BadRequest, ValueError) as err:
            return JSONResponse({"message": str(err)}, status_code=422)

    return wrapped


async def _list_companies(request: Request) -> Response:
    return JSONResponse({"companies": _store(request).describe_companies()})


async def _create_company(request: Request) -> Response:
    """A consenting company without the consent page, for assertion and partner tests."""
    body = await _body(request)
    name, scope = body.get("name"), body.get("scope", DEFAULT_SCOPE)
    if not isinstance(name, str) or not name or not isinstance(scope, str):
        raise _BadRequest("name (a non-empty string) is required; scope must be a string")
    company = _store(request).consent(name, scope)
    return JSONResponse({"company_id": company.id, "user_id": company.admin_user_id, "name": company.name})


async def _revoke(request: Request) -> Response:
    company_id = request.path_params["company_id"]
    if not _store(request).revoke_company(company_id):
        return JSONResponse({"message": "no such company"}, status_code=404)
    return JSONResponse({"company_id": company_id, "revoked": True})


async def _add_employment(request: Request) -> Response:
    status = (await _body(request)).get("status", "invited")
    if status not in EMPLOYMENT_STATUSES:
        raise _BadRequest(f"status must be one of {list(EMPLOYMENT_STATUSES)}")
    employment = _store(request).add_employment(request.path_params["company_id"], status)
    if employment is None:
        return JSONResponse({"message": "no such company"}, status_code=404)
    return JSONResponse({"employment_id": employment.id, "status": employment.status})


async def _grant_elsewhere(request: Request) -> Response:
    """A grant as if the company had consented to this client through another app: a refresh token made
    outside the project under test, for tests of importing one."""
    store = _store(request)
    company = store.companies.get(request.path_params["company_id"])
    if company is None:
        return JSONResponse({"message": "no such company"}, status_code=404)
    if company.revoked:
        raise _BadRequest("the company revoked its consent; POST /sandbox/companies again to restore it")
    scope = (await _body(request)).get("scope", company.scope)
    if not isinstance(scope, str):
        raise _BadRequest("scope must be a string")
    try:
        granted = " ".join(parse_scope(scope))
    except OAuthError as err:
        raise _BadRequest(err.description) from None
    grant = Grant(
        id=str(uuid.uuid4()),
        company_id=company.id,
        user_id=company.admin_user_id,
        client_id=store.config.client_id,
        scope=granted,
    )
    store.grants[grant.id] = grant
    refresh = store.mint_refresh_token(grant)
    return JSONResponse(
        {"refresh_token": refresh.token, "company_id": company.id, "user_id": grant.user_id, "scope": granted}
    )


async def _grants(request: Request) -> Response:
    return JSONResponse({"grants": _store(request).describe_grants()})


async def _stats(request: Request) -> Response:
    return JSONResponse(_store(request).stats())


async def _introspect(request: Request) -> Response:
    token = (await _body(request)).get("token")
    if not isinstance(token, str):
        raise _BadRequest("token (a string) is required")
    return JSONResponse(_store(request).introspect(token))


async def _schedule_fault(request: Request) -> Response:
    store = _store(request)
    store.faults.add(parse_fault(await _body(request)))
    return JSONResponse({"faults": store.faults.describe()})


async def _list_faults(request: Request) -> Response:
    return JSONResponse({"faults": _store(request).faults.describe()})


async def _clear_faults(request: Request) -> Response:
    _store(request).faults.clear()
    return JSONResponse({"faults": []})


async def _reset(request: Request) -> Response:
    _store(request).reset()
    return JSONResponse({"reset": True})


async def _get_settings(request: Request) -> Response:
    return JSONResponse(_settings(_store(request).config))


async def _change_settings(request: Request) -> Response:
    """Change settings at run time; the config's own validation rejects impossible values."""
    store = _store(request)
    body = await _body(request)
    unknown = sorted(set(body) - set(SETTABLE))
    if unknown:
        raise _BadRequest(f"unknown settings {unknown}; settable: {sorted(SETTABLE)}")
    for name, value in body.items():
        if type(value) is not SETTABLE[name]:
            raise _BadRequest(f"{name} must be a JSON {SETTABLE[name].__name__}")
    store.config = dataclasses.replace(store.config, **body)
    return JSONResponse(_settings(store.config))


async def _expire(request: Request) -> Response:
    company_id = (await _body(request)).get("company_id")
    if not isinstance(company_id, str):
        raise _BadRequest("company_id (a string) is required")
    return JSONResponse({"expired": _store(request).expire_access_tokens(company_id)})


def admin_routes() -> list[Route]:
    """Every ``/sandbox/`` route, with 422 for bodies it cannot act on."""
    table: list[tuple[str, Handler, list[str]]] = [
        ("/sandbox/companies", _list_companies, ["GET"]),
        ("/sandbox/companies", _create_company, ["POST"]),
        ("/sandbox/companies/{company_id}/revoke", _revoke, ["POST"]),
        ("/sandbox/companies/{company_id}/employments", _add_employment, ["POST"]),
        ("/sandbox/companies/{company_id}/grants", _grant_elsewhere, ["POST"]),
        ("/sandbox/grants", _grants, ["GET"]),
        ("/sandbox/stats", _stats, ["GET"]),
        ("/sandbox/introspect", _introspect, ["POST"]),
        ("/sandbox/faults", _schedule_fault, ["POST"]),
        ("/sandbox/faults", _list_faults, ["GET"]),
        ("/sandbox/faults", _clear_faults, ["DELETE"]),
        ("/sandbox/reset", _reset, ["POST"]),
        ("/sandbox/settings", _get_settings, ["GET"]),
        ("/sandbox/settings", _change_settings, ["POST"]),
        ("/sandbox/access-tokens/expire", _expire, ["POST"]),
    ]
    return [Route(path, _handles_bad_requests(handler), methods=methods) for path, handler, methods in table]
