"""``/oauth/authorize`` and its form ``/oauth/consent``: what a company admin sees, and the way back."""

from __future__ import annotations

import secrets
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sandbox.config import DEFAULT_SCOPE
from sandbox.endpoints.errors import OAuthError
from sandbox.endpoints.grants import parse_scope
from sandbox.state.store import SandboxStore

__all__ = ["authorize_page", "decide", "with_query"]

_STYLE = """
:root { color-scheme: light; --ink: #1f2430; --muted: #545b6b; --line: #dfe2e8; --brand: #5b3cc4; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  padding: 1.5rem; background: #f3f1fb; color: var(--ink);
  font: 17px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: 100%; max-width: 30rem; background: #fff; border: 1px solid var(--line);
  border-radius: 12px; padding: 2rem; box-shadow: 0 2px 14px rgba(40, 24, 90, .08); }
.brand { margin: 0 0 1.25rem; color: var(--brand); font-weight: 700; letter-spacing: .02em; }
.brand small { color: var(--muted); font-weight: 400; letter-spacing: 0; }
h1 { margin: 0 0 .75rem; font-size: 1.5rem; line-height: 1.25; overflow-wrap: anywhere; }
p { margin: 0 0 1rem; }
ul { margin: 0 0 1.5rem; padding: .75rem 1rem .75rem 2rem; background: #f7f7fa; border-radius: 8px; }
code { font: .95em ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
form { display: flex; gap: .75rem; flex-wrap: wrap; }
button { flex: 1 1 8rem; font: inherit; font-weight: 600; padding: .7rem 1rem; border-radius: 8px;
  border: 2px solid var(--brand); cursor: pointer; }
button[value=approve] { background: var(--brand); color: #fff; }
button[value=deny] { background: #fff; color: var(--brand); }
button:focus-visible { outline: 3px solid #1f2430; outline-offset: 2px; }
"""
"""Inline and self-contained: the page works without JavaScript and loads nothing else."""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style></head>
<body><main>
<p class="brand">Remote <small>sandbox</small></p>
{body}
</main></body></html>
"""


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` appended, keeping any query string it already has."""
    parts = urlsplit(uri)
    extra = urlencode({name: value for name, value in params.items() if value is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


PAGE_HEADERS = {
    # The consent page must not be framed (clickjacking the Approve button) nor load anything foreign. No
    # form-action: browsers apply it to the redirect back to the partner that follows the form post.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _name_in(state: str | None) -> str | None:
    """The company reference that starts a ``<ref>.<random>`` state (remote-oauth's), as the company's name.

    Remote shows the company its admin is signed in to; the sandbox has no sign-in, so it names the company
    after the partner's reference, and a second consent for that reference finds the same company.
    """
    ref, dot, nonce = (state or "").rpartition(".")
    if not dot or not nonce or not 0 < len(ref) <= 128 or not ref.isprintable():
        return None
    return ref


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    page = _PAGE.format(title=escape(title), style=_STYLE, body=body)
    return HTMLResponse(page, status_code=status, headers=PAGE_HEADERS)


def _error_page(message: str) -> HTMLResponse:
    """Shown instead of a redirect: RFC 6749 section 4.1.2.1 forbids redirecting to an unverified URI."""
    body = f"<h1>Authorization error</h1>\n<p>{escape(message)}</p>"
    return _page("Authorization error", body, status=400)


def _redirect(uri: str, params: dict[str, str | None]) -> RedirectResponse:
    return RedirectResponse(with_query(uri, params), status_code=302, headers={"Cache-Control": "no-store"})


def _approve(
    store: SandboxStore, *, redirect_uri: str, scope: str, state: str | None, company_name: str
) -> Response:
    company = store.consent(company_name, scope)
    code = store.issue_code(company, redirect_uri=redirect_uri, scope=scope)
    return _redirect(redirect_uri, {"code": code, "state": state})


def _consent_page(store: SandboxStore, request_id: str, company_name: str, scope: str) -> HTMLResponse:
    items = "\n".join(f"  <li><code>{escape(one)}</code></li>" for one in scope.split())
    body = f"""<h1>Connect {escape(company_name)}</h1>
<p>The application <strong>{escape(store.config.client_id)}</strong> asks to act for
<strong>{escape(company_name)}</strong> with these scopes:</p>
<ul>
{items}
</ul>
<form method="post" action="/oauth/consent">
  <input type="hidden" name="request_id" value="{escape(request_id)}">
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>"""
    return _page(f"Connect {company_name}", body)


async def authorize_page(request: Request) -> Response:
    """Validate an authorize request, then show the consent page (or approve at once when configured)."""
    store: SandboxStore = request.app.state.sandbox
    query = request.query_params
    if query.get("client_id") != store.config.client_id:
        return _error_page("Unknown client_id.")
    redirect_uri = query.get("redirect_uri")
    if redirect_uri not in store.config.redirect_uris:
        return _error_page("redirect_uri is not registered for this client.")
    state = query.get("state")
    response_type = query.get("response_type")
    if response_type is None:
        return _redirect(redirect_uri, {"error": "invalid_request", "state": state})
    if response_type != "code":
        return _redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
    try:
        scope = " ".join(parse_scope(query["scope"])) if "scope" in query else DEFAULT_SCOPE
    except OAuthError as err:
        return _redirect(
            redirect_uri, {"error": err.error, "error_description": err.description, "state": state}
        )
    company_name = query.get("company_name") or _name_in(state) or f"Acme {secrets.token_hex(2)}"
    # auto_approve=0 lets a human see the page even on an auto-approving sandbox; =1 alone grants nothing.
    if store.config.auto_approve and query.get("auto_approve") != "0":
        return _approve(store, redirect_uri=redirect_uri, scope=scope, state=state, company_name=company_name)
    request_id = store.open_consent(
        redirect_uri=redirect_uri, scope=scope, state=state, company_name=company_name
    )
    return _consent_page(store, request_id, company_name, scope)


async def decide(request: Request) -> Response:
    """The consent form's post: Approve redirects with a code, Deny with ``access_denied``."""
    store: SandboxStore = request.app.state.sandbox
    try:
        form = parse_qs((await request.body()).decode())
    except UnicodeDecodeError:
        return _error_page("The form was not UTF-8.")
    pending = store.take_consent(form.get("request_id", [""])[0])
    if pending is None:
        return _error_page("This consent request is unknown, already answered or expired; start again.")
    decision = form.get("decision", [""])[0]
    if decision == "approve":
        return _approve(
            store,
            redirect_uri=pending.redirect_uri,
            scope=pending.scope,
            state=pending.state,
            company_name=pending.company_name,
        )
    if decision == "deny":
        return _redirect(pending.redirect_uri, {"error": "access_denied", "state": pending.state})
    return _error_page("Choose Approve or Deny.")
