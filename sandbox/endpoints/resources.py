"""The bearer-protected API: ``POST /v1/magic-link`` and ``GET /v1/companies``."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.state.faults import api_fault_response
from sandbox.state.ratelimit import RateDecision
from sandbox.state.records import AccessToken
from sandbox.state.store import SandboxStore

__all__ = ["companies", "magic_link"]

_PATH = re.compile(r"(/[A-Za-z0-9_-]+)+")
_INVALID_TOKEN = 'Bearer error="invalid_token"'  # noqa: S105 - an RFC 6750 challenge, not a secret


class _Refused(Exception):
    """An API request answered with an error instead of data."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _message(status: int, message: str, headers: dict[str, str] | None = None) -> _Refused:
    return _Refused(JSONResponse({"message": message}, status_code=status, headers=headers))


def _bearer(store: SandboxStore, request: Request) -> tuple[AccessToken, RateDecision]:
    """The live access token of this request, counted against its client's rate limit; then any ``api``
    fault scheduled answers instead (so a 401 or a real 429 comes first, as from the gateway)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    access = store.live_access_token(token.strip()) if scheme.lower() == "bearer" else None
    if access is None:
        raise _message(
            401, "Missing, unknown, expired or revoked access token.", {"WWW-Authenticate": _INVALID_TOKEN}
        )
    decision = store.limiter.hit(access.client_id, store.config.rate_limit_per_minute)
    if not decision.allowed:
        store.rate_limited += 1
        body = {"error": "rate_limited", "message": "Too many requests for this client id."}
        raise _Refused(JSONResponse(body, status_code=429, headers=decision.headers()))
    fault = store.faults.take(None, target="api")
    if fault is not None:
        raise _Refused(api_fault_response(fault, store.config.rate_limit_per_minute))
    return access, decision


def _uuid(value: object, name: str) -> str:
    """The canonical lower-case form of a UUID string; 422 for anything else."""
    if isinstance(value, str):
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            canonical = ""
        if canonical == value.lower():
            return canonical
    raise _Refused(JSONResponse({"errors": {name: ["must be a UUID"]}}, status_code=422))


async def _json_object(request: Request) -> dict[str, object]:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _message(422, "The body must be a JSON object.") from err
    if not isinstance(body, dict):
        raise _message(422, "The body must be a JSON object.")
    return body


async def magic_link(request: Request) -> Response:
    """Create a sign-in link for a company admin or an invited employee of the token's company."""
    store: SandboxStore = request.app.state.sandbox
    try:
        access, decision = _bearer(store, request)
        if access.kind != "company":
            raise _message(
                403, "Magic links need a company token from the authorization code or refresh flow."
            )
        if "magic_link:write" not in access.scope.split():
            raise _message(403, "The token lacks the magic_link:write scope.")
        if not store.config.magic_links_enabled:
            raise _message(403, "Magic links are not enabled for this integration.")
        body = await _json_object(request)
        if ("user_id" in body) == ("employment_id" in body):
            raise _message(422, "Send exactly one of user_id and employment_id.")
        path = body.get("path", "/dashboard")
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            raise _Refused(
                JSONResponse({"errors": {"path": ["must look like /segment/segment"]}}, status_code=422)
            )
        company = store.companies[str(access.company_id)]
        if "user_id" in body:
            if _uuid(body["user_id"], "user_id") != company.admin_user_id:
                raise _message(422, "No such user in this company.")
        else:
            employment = company.employments.get(_uuid(body["employment_id"], "employment_id"))
            if employment is None:
                raise _message(422, "No such employment in this company.")
            if employment.status != "invited":
                raise _message(
                    422, f"The employment is {employment.status}; only invited employees get links."
                )
    except _Refused as refused:
        return refused.response
    store.magic_links += 1
    base = str(request.base_url).rstrip("/")
    url = f"{base}/magic/{secrets.token_urlsafe(24)}?{urlencode({'path': path})}"
    return JSONResponse({"data": {"url": url}}, headers=decision.headers())


async def companies(request: Request) -> Response:
    """The token's own company, or every consenting company for a partner token."""
    store: SandboxStore = request.app.state.sandbox
    try:
        access, decision = _bearer(store, request)
    except _Refused as refused:
        return refused.response
    visible = [
        company
        for company in store.companies.values()
        if not company.revoked and (access.kind == "partner" or company.id == access.company_id)
    ]
    listed = [{"id": company.id, "name": company.name} for company in visible]
    return JSONResponse({"data": {"companies": listed}}, headers=decision.headers())
