"""The partner's web endpoints: the connect link, the OAuth callback, and a health check.

Pages are tiny, self-contained HTML (no third-party content) sent with ``Referrer-Policy: no-referrer``,
so the code and state in the callback URL never leak to another site. Nothing here logs a query string.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from worker.api import RemoteOAuth
from workflows.consent import Callback, Phase, validate_company_ref
from workflows.errors import NotFoundError, NotReadyError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'",
}
_MAX_PARAM = 2048


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    # Readable and centred without JavaScript or any fetched resource (the CSP allows inline styles only).
    style = (
        ":root{color-scheme:light;--ink:#1f2430;--muted:#545b6b;--line:#dfe2e8;--accent:#1d6b3a}"
        "*{box-sizing:border-box}"
        "body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1.5rem;"
        "background:#f3f4f7;color:var(--ink);font:17px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
        "main{width:100%;max-width:30rem;background:#fff;border:1px solid var(--line);border-top:4px solid "
        "var(--accent);border-radius:10px;padding:2rem 2rem 1.5rem;box-shadow:0 2px 12px rgba(20,24,40,.06)}"
        "main.problem{--accent:#b3261e}"
        "h1{margin:0 0 .75rem;font-size:1.5rem;line-height:1.25}"
        "p{margin:0 0 1rem}"
        "footer{margin-top:1.5rem;padding-top:1rem;border-top:1px solid var(--line);color:var(--muted);"
        "font-size:.85rem}"
    )
    kind = "problem" if status >= 400 else "done"
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head>"
        f"<body><main class={kind}><h1>{html.escape(title)}</h1>{body}"
        "<footer>Company connection to Remote</footer></main></body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=SECURITY_HEADERS)


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def create_web_app(oauth: RemoteOAuth, *, redirect_uri: str) -> Starlette:
    """The ASGI app; the callback is served at the path of ``redirect_uri`` (REMOTE_REDIRECT_URI)."""
    callback_path = urlsplit(redirect_uri).path or "/"

    async def connect(request: Request) -> Response:
        ref = request.path_params["company_ref"]
        try:
            validate_company_ref(ref)
        except ValueError as err:
            return _page("Invalid company", _p(str(err)), 400)
        link = await oauth.onboard(ref)
        if link.authorize_url is None:
            return _page("Already connected", _p(f"{ref} is {link.phase}: there is nothing to approve."))
        return RedirectResponse(link.authorize_url, status_code=302, headers=SECURITY_HEADERS)

    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state", "")[:_MAX_PARAM]
        code = params.get("code")
        error = params.get("error")
        if not state or (code is None and error is None):
            return _page(
                "Invalid callback", _p("This address is only reached from Remote's consent page."), 400
            )
        try:
            result = await oauth.complete_consent(
                Callback(
                    state=state,
                    code=code[:_MAX_PARAM] if code else None,
                    error=error[:100] if error else None,
                    error_description=(params.get("error_description") or "")[:300] or None,
                )
            )
        except NotFoundError:
            return _page("Invalid link", _p("This connect link was not issued here. Ask for a new one."), 400)
        except NotReadyError as err:
            if "expired" in str(err):
                return _page("Link expired", _p("This connect link expired. Ask for a new one."), 400)
            log.info("callback rejected: %s", err)
            return _page("Invalid link", _p("This connect link was already used or replaced."), 400)
        if result.phase is Phase.ACTIVE:
            return _page("Connected", _p("Your company is connected. You can close this page."))
        if result.phase is Phase.CONSENT_DENIED:
            return _page("Access denied", _p("Access was not granted. Nothing was shared."))
        return _page("Not connected", _p(result.message), 502)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/connect/{company_ref}", connect, methods=["GET"]),
            Route(callback_path, callback, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
