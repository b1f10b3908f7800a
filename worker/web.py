"""The partner's web endpoints: the connect link, the OAuth callback, and the health probes.

Pages are tiny, self-contained HTML (no third-party content) sent with ``Referrer-Policy: no-referrer``,
so the code and state in the callback URL never leak to another site. Nothing here logs a query string.

Trust: ``/connect/{ref}`` acts only on a valid signed session (``workflows.io.connect_session``), checked without
a Temporal call, and binds the browser to the state it sends to Remote with a cookie; the callback is refused
before it reaches the workflow unless that cookie comes back. The customer's browser never sees gateway text:
a failed consent shows a plain message and a reference the partner looks up with ``remote-oauth status``.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from worker.api import RemoteOAuth
from worker.health.probes import health_routes
from workflows.io.connect_session import SESSION_PARAM, ConnectLinks, cookie_name
from workflows.types.company import Callback, Phase, company_ref_from_state, validate_company_ref
from workflows.types.errors import ErrorType, NotFoundError, NotReadyError
from workflows.types.untrusted import error_code, printable

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


def create_web_app(oauth: RemoteOAuth, *, redirect_uri: str, links: ConnectLinks) -> Starlette:
    """The ASGI app; the callback is served at the path of ``redirect_uri`` (REMOTE_REDIRECT_URI)."""
    callback_path = urlsplit(redirect_uri).path or "/"

    async def connect(request: Request) -> Response:
        ref = request.path_params["company_ref"]
        session = request.query_params.get(SESSION_PARAM, "")[:_MAX_PARAM]
        try:
            validate_company_ref(ref)
        except ValueError:
            return _forbidden()
        # Checked before anything else: a stranger's request costs one HMAC and reaches nothing.
        if not links.keys.verify(ref, session, now=datetime.now(UTC)):
            return _forbidden()
        try:
            link = await oauth.consent_page(ref)
        except (NotFoundError, NotReadyError):
            return _page(
                "Link no longer valid", _p("This connect link is no longer valid. Ask for a new one."), 410
            )
        if link.authorize_url is None and link.phase.has_token:
            return _page(
                "Already connected", _p("This company is already connected: there is nothing to do.")
            )
        if link.authorize_url is None:
            # Exchanging a code, or misconfigured on our side: nothing the admin can do now.
            return _page(
                "Not available right now",
                _p("This connection cannot be completed right now. Please try again later or contact us."),
                409,
            )
        state = parse_qs(urlsplit(link.authorize_url).query).get("state", [""])[0]
        response = RedirectResponse(link.authorize_url, status_code=302, headers=SECURITY_HEADERS)
        response.set_cookie(
            cookie_name(ref),
            links.keys.binding(state),
            max_age=int((link.expires_at - datetime.now(UTC)).total_seconds()) if link.expires_at else None,
            path=callback_path,
            secure=links.secure_cookie,
            httponly=True,
            samesite="lax",  # sent on Remote's top-level redirect back to us, never on cross-site subrequests
        )
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state", "")[:_MAX_PARAM]
        code = params.get("code")
        error = params.get("error")
        ref = company_ref_from_state(state)
        if ref is None or (code is None and error is None):
            return _page(
                "Invalid callback", _p("This address is only reached from Remote's consent page."), 400
            )
        if not links.keys.is_bound(state, request.cookies.get(cookie_name(ref))):
            # Refused before the workflow: the state stays open for the browser that started the flow.
            log.warning("callback for %s refused: this browser did not open the connect link", ref)
            return _page(
                "Open the link in the same browser",
                _p(
                    "This consent was started in another browser. Open the connect link you were sent in this "
                    "browser and approve again."
                ),
                403,
            )
        try:
            result = await oauth.complete_consent(
                # error_description is never passed on: it is the browser's text, shown nowhere.
                Callback(state=state, code=code[:_MAX_PARAM] if code else None, error=error_code(error))
            )
        except NotFoundError:
            return _page("Invalid link", _p("This connect link was not issued here. Ask for a new one."), 400)
        except NotReadyError as err:
            if err.kind == ErrorType.CONSENT_STATE_EXPIRED:
                return _page("Link expired", _p("This connect link expired. Ask for a new one."), 400)
            log.info("callback for %s rejected: %s", ref, printable(str(err), 300))
            return _page("Invalid link", _p("This connect link was already used or replaced."), 400)
        if result.phase is Phase.ACTIVE and result.error_type is None:
            page = _page("Connected", _p("Your company is connected. You can close this page."))
            page.delete_cookie(
                cookie_name(ref), path=callback_path, secure=links.secure_cookie, httponly=True
            )
            return page
        if (
            result.phase is Phase.CONSENT_DENIED or result.error_type == "access_denied"
        ):  # a reconnect stays active
            return _page("Access denied", _p("Access was not granted. Nothing was shared."))
        reference = f"{ref} / {result.error_type or 'error'}"
        return _page(
            "Not connected",
            _p("The connection could not be completed. Nothing was shared. Please contact us and quote:")
            + f"<p><code>{html.escape(reference)}</code></p>",
            502,
        )

    return Starlette(
        routes=[
            Route("/connect/{company_ref}", connect, methods=["GET"]),
            Route(callback_path, callback, methods=["GET"]),
            *health_routes(lambda: oauth.client),
        ]
    )


def _forbidden() -> HTMLResponse:
    """The same page for every invalid connect link: it tells a stranger nothing about the ref."""
    return _page(
        "Link not valid",
        _p("This connect link is not valid or has expired. Ask the company that sent it for a new one."),
        403,
    )
