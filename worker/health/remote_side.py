"""Doctor's HTTP checks: Remote's gateway over TLS, the client's credentials (one real grant), the redirect
URI routed to a running web app, and the webhook receiver answering a signed test event."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from temporalio.exceptions import ApplicationError

from worker.health.report import Check, failed, passed, skipped
from workflows.io import notify
from workflows.io.activities import TokenActivities
from workflows.io.settings import Settings
from workflows.types.activity import ClientCredentialsInput
from workflows.types.errors import ErrorType, RemoteOAuthError
from workflows.types.untrusted import printable

__all__ = ["TEST_EVENT", "client_credentials", "gateway", "redirect_uri", "webhook"]

TEST_EVENT = "test"
"""The webhook event doctor sends; receivers should answer it 2xx and do nothing."""
BUDGET_NOTE = (
    "1 client-credentials grant, counted against Remote's 250 requests per minute for this client id"
)

_GRANT_FIXES = {
    ErrorType.INVALID_CLIENT: "check REMOTE_CLIENT_ID and REMOTE_CLIENT_SECRET (or REMOTE_CLIENT_SECRET_FILE) "
    "against Remote's partner console; Remote's live gateway wants REMOTE_TOKEN_AUTH_METHOD=client_secret_basic",
    ErrorType.UNAUTHORIZED_CLIENT: "ask Remote to allow the client_credentials grant for this client id",
    ErrorType.UNSUPPORTED_GRANT_TYPE: "ask Remote to allow the client_credentials grant for this client id",
    ErrorType.INVALID_SCOPE: "ask Remote which scopes this client id may request",
    ErrorType.INVALID_REQUEST: "check REMOTE_TOKEN_AUTH_METHOD and that REMOTE_GATEWAY_URL is Remote's gateway",
    ErrorType.MALFORMED_RESPONSE: "REMOTE_GATEWAY_URL may not be Remote's gateway, or its paths differ from the "
    "client's: see docs/spec-bumps.md (Remote's live paths need scripts/regenerate_client --dialect live)",
    ErrorType.RATE_LIMITED: "the client id is over its rate budget now: wait a minute and run doctor again",
}
_RETRYABLE_FIX = "the gateway failed for now (a retryable error): run doctor again in a minute"


def _origin(url: str) -> str:
    """``scheme://host[:port]``: what a message may show of a URL whose path or query might hold a secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _plain_note(url: str) -> str:
    return " (plain http to loopback: a local stand-in, never production)" if url.startswith("http:") else ""


def _cause(err: BaseException) -> str:
    """The exception's type, or the TLS error under it, with the TLS library's reason (no request data)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            reason = getattr(seen, "verify_message", None) or seen.reason or ""
            return f"TLS handshake failed: {type(seen).__name__} {printable(str(reason), 120)}".strip()
        seen = seen.__cause__ or seen.__context__
    return type(err).__name__


async def gateway(settings: Settings, http: httpx.AsyncClient) -> Check:
    """Any HTTP answer from the gateway's base URL: DNS, TCP and (over https) TLS all work."""
    url = settings.gateway_url
    try:
        answer = await http.get(f"{url}/", follow_redirects=False)
    except httpx.HTTPError as err:
        cause = _cause(err)
        fix = (
            "the gateway's certificate is not trusted here: check the host in REMOTE_GATEWAY_URL, and "
            "SSL_CERT_FILE if an inspecting proxy signs traffic"
            if cause.startswith("TLS")
            else "check REMOTE_GATEWAY_URL (Remote's live gateway: https://gateway.remote.com), DNS, and the "
            "outbound firewall or proxy"
        )
        return failed("gateway", f"{url} cannot be reached ({cause})", fix)
    over = " over TLS" if url.startswith("https:") else ""
    return passed("gateway", f"{url} answers{over} (HTTP {answer.status_code}){_plain_note(url)}")


async def client_credentials(settings: Settings, http: httpx.AsyncClient) -> Check:
    """One client-credentials grant, sent exactly as the worker sends it (the same activity code)."""
    if settings.client_id is None or settings.client_secret is None:
        return skipped("client-credentials", "needs REMOTE_CLIENT_ID and its secret (see settings)")
    try:
        grant = await TokenActivities(settings, http).client_credentials(ClientCredentialsInput())
    except ApplicationError as err:
        kind = ErrorType.known(err.type)
        fix = _GRANT_FIXES.get(kind, _RETRYABLE_FIX) if kind is not None else _RETRYABLE_FIX
        return failed(
            "client-credentials",
            f"refused ({err.type}): {printable(err.message, 240)} [{BUDGET_NOTE}]",
            fix,
        )
    lifetime = int((grant.expires_at - grant.issued_at).total_seconds())
    return passed(
        "client-credentials",
        f"{settings.client_id} accepted with {settings.token_auth_method}: a partner token valid {lifetime} s "
        f"[{BUDGET_NOTE}]",
    )


async def redirect_uri(settings: Settings, http: httpx.AsyncClient) -> Check:
    """The redirect URI is https (loopback http in dev) and its origin's ``/healthz`` is our web app's."""
    uri = settings.redirect_uri
    if uri is None:
        return skipped("redirect-uri", "REMOTE_REDIRECT_URI is not set (see settings)")
    origin = _origin(uri)
    fix = (
        f"start `remote-oauth web` and route {origin} to it: your proxy must pass /healthz and "
        f"{urlsplit(uri).path or '/'} (with its query string and cookies) to the web app"
    )
    try:
        answer = await http.get(f"{origin}/healthz", follow_redirects=False)
    except httpx.HTTPError as err:
        return failed("redirect-uri", f"{origin}/healthz cannot be reached ({_cause(err)})", fix)
    try:
        ours = answer.status_code == 200 and answer.json() == {"status": "ok"}
    except ValueError:
        ours = False
    if not ours:
        return failed(
            "redirect-uri",
            f'{origin}/healthz answered HTTP {answer.status_code}, not the web app\'s {{"status": "ok"}}',
            fix,
        )
    secure = "https" if uri.startswith("https:") else "http"
    return passed("redirect-uri", f"{secure}, and {origin}/healthz is a running web app{_plain_note(uri)}")


async def webhook(settings: Settings, http: httpx.AsyncClient) -> Check:
    """A signed ``test`` event, POSTed as the worker posts every event; a 2xx passes."""
    url = settings.webhook_url
    if url is None:
        return skipped("webhook", "REMOTE_OAUTH_WEBHOOK_URL is not set: events are only logged")
    secret = settings.webhook_secret
    shown = _origin(url)
    if secret is None:
        return failed(
            "webhook",
            "REMOTE_OAUTH_WEBHOOK_URL is set but REMOTE_OAUTH_WEBHOOK_SECRET is not",
            "set REMOTE_OAUTH_WEBHOOK_SECRET to the secret your receiver verifies signatures with",
        )
    note = notify.Notification(
        event=TEST_EVENT,
        company_ref="remote-oauth-doctor",
        state="test",
        occurred_at=datetime.now(UTC),
        detail="a test event from `remote-oauth doctor`: nothing changed",
    )
    try:
        await notify.send(http, url, secret.reveal(), note)
    except httpx.HTTPStatusError as err:
        status = err.response.status_code
        return failed(
            "webhook",
            f"{shown} answered HTTP {status} to a signed test event",
            "make the receiver answer 2xx to event `test`; a 401 or 403 usually means it verifies with "
            "another secret than REMOTE_OAUTH_WEBHOOK_SECRET (docs/webhooks.md)",
        )
    except (httpx.HTTPError, RemoteOAuthError) as err:
        return failed(
            "webhook",
            f"{shown} cannot be reached ({_cause(err)})",
            "check REMOTE_OAUTH_WEBHOOK_URL and that the receiver is running",
        )
    return passed("webhook", f"{shown} accepted a signed test event")
