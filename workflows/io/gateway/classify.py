"""Turning what the gateway answered (or failed to) into an ``ApplicationError`` with a stable type.

Retryable: transport errors, timeouts, 408, 429, 5xx, ``server_error``, ``temporarily_unavailable``; the
gateway's ``Retry-After`` (seconds or HTTP date) or, on a 429, ``x-ratelimit-reset`` (milliseconds) becomes
``next_retry_delay``, capped at ``MAX_RETRY_DELAY``. Final: the OAuth error codes that retrying cannot fix,
any 401, and malformed 2xx bodies once ``MALFORMED_ATTEMPTS`` attempts have seen one. Gateway text is
untrusted: every piece of it passes ``clean`` (the request's secrets removed, control characters stripped,
length capped) before it reaches a message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from workflows.types.errors import ErrorType
from workflows.types.untrusted import NO_SECRETS, Redactor, printable

MAX_RETRY_DELAY = timedelta(minutes=10)
"""The longest wait a gateway can impose on one retry (the token options' schedule-to-close allows it)."""
MALFORMED_ATTEMPTS = 3
"""Attempts that may see a malformed 2xx before it is final: a glitch passes, a broken gateway does not loop."""
DESCRIPTION_LIMIT = 200

_OAUTH_FINAL: dict[str, tuple[ErrorType, str]] = {
    "invalid_grant": (
        ErrorType.INVALID_GRANT,
        "the grant was refused (invalid_grant): the code, refresh token or assertion is spent, expired or "
        "revoked; the company must give consent again (or fix the assertion's subject)",
    ),
    "invalid_client": (
        ErrorType.INVALID_CLIENT,
        "client authentication failed (invalid_client): check REMOTE_CLIENT_ID, REMOTE_CLIENT_SECRET and "
        "REMOTE_TOKEN_AUTH_METHOD (Remote's live gateway wants client_secret_basic)",
    ),
    "unauthorized_client": (
        ErrorType.UNAUTHORIZED_CLIENT,
        "this client may not use this grant type (unauthorized_client): enable it for the integration in "
        "Remote's partner settings",
    ),
    "unsupported_grant_type": (
        ErrorType.UNSUPPORTED_GRANT_TYPE,
        "the gateway does not support this grant type (unsupported_grant_type): check REMOTE_GATEWAY_URL",
    ),
    "invalid_scope": (
        ErrorType.INVALID_SCOPE,
        "a requested scope is unknown or not allowed (invalid_scope): check REMOTE_OAUTH_SCOPES or the "
        "scope asked for",
    ),
    "invalid_request": (
        ErrorType.INVALID_REQUEST,
        "the gateway refused the request (invalid_request): check that REMOTE_REDIRECT_URI is the registered "
        "URI byte for byte, and REMOTE_GATEWAY_URL",
    ),
}


def clean(text: object, limit: int = DESCRIPTION_LIMIT, redact: Redactor = NO_SECRETS) -> str:
    """Untrusted gateway text fit for a message, a log, a status or a webhook: no secret of ``redact``,
    printable, at most ``limit`` long.

    Non-strings (a JSON number where text was expected) become "", so a hostile type cannot reach a message.
    The whole text is searched before it is cut (bodies are capped at 64 KiB), so no secret is half-shown.
    """
    if not isinstance(text, str):
        return ""
    return printable(redact(text), limit)


def attempt() -> int:
    """This activity attempt's number (1 outside an activity, as in plain unit tests)."""
    return activity.info().attempt if activity.in_activity() else 1


def retry_delay(status: int, headers: Mapping[str, str], now: datetime | None = None) -> timedelta | None:
    """How long the gateway asked us to wait, capped; None when it did not say."""
    delay: timedelta | None = None
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        delay = _retry_after(retry_after.strip(), now or datetime.now(UTC))
    if delay is None and status == 429:
        reset = headers.get("x-ratelimit-reset", "").strip()
        try:
            millis = float(reset)
        except ValueError:
            millis = math.nan
        if math.isfinite(millis) and millis > 0:
            delay = timedelta(milliseconds=math.ceil(millis))
    if delay is None or delay <= timedelta(0):
        return None
    return min(delay, MAX_RETRY_DELAY)


def _retry_after(value: str, now: datetime) -> timedelta | None:
    if value.isdigit():
        return timedelta(seconds=int(value[:9]))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when - now


def misconfigured(message: str) -> ApplicationError:
    """Our own settings are wrong: final for this attempt; the workflow waits for a fix (never a retry loop)."""
    return ApplicationError(message, type=ErrorType.MISCONFIGURED, non_retryable=True)


def rejected(message: str) -> ApplicationError:
    """The input is one the gateway would refuse: final, and no request is sent."""
    return ApplicationError(message, type=ErrorType.REQUEST_REJECTED, non_retryable=True)


def transport_failure(err: BaseException, what: str, redact: Redactor = NO_SECRETS) -> ApplicationError:
    """A request that got no response: always retryable (the gateway may have committed it, see README)."""
    kind = type(err).__name__
    if isinstance(err, httpx.TimeoutException | TimeoutError):
        return ApplicationError(
            f"{what}: no answer within REMOTE_HTTP_TIMEOUT ({kind}); retrying", type=ErrorType.TIMEOUT
        )
    detail = clean(str(err), 120, redact)
    return ApplicationError(
        f"{what}: the gateway could not be reached or dropped the connection ({kind}{': ' + detail if detail else ''}); retrying",
        type=ErrorType.TRANSPORT,
    )


def malformed(what: str, reason: str, redact: Redactor = NO_SECRETS) -> ApplicationError:
    """A 2xx (or 3xx) we cannot use: retried for a few attempts, then final.

    ``reason`` may quote the gateway (a token type it sent), so it is cleaned like any gateway text.
    """
    reason = clean(reason, 300, redact)
    final = attempt() >= MALFORMED_ATTEMPTS
    hint = (
        "giving up: check REMOTE_GATEWAY_URL points at Remote's gateway"
        if final
        else "retrying in case it was a glitch"
    )
    return ApplicationError(
        f"{what}: malformed response ({reason}); {hint}",
        type=ErrorType.MALFORMED_RESPONSE,
        non_retryable=final,
    )


def retryable_status(status: int) -> bool:
    """408, 429 and every 5xx: the same request may succeed later."""
    return status in (408, 429) or 500 <= status <= 599


def _retryable(
    status: int,
    headers: Mapping[str, str],
    what: str,
    error_type: ErrorType,
    reason: str,
    *,
    now: datetime | None = None,
) -> ApplicationError:
    delay = retry_delay(status, headers, now)
    if status in (429, 503) and delay is not None and error_type is ErrorType.SERVER_ERROR:
        error_type = ErrorType.RATE_LIMITED
    waiting = f"retrying in {delay.total_seconds():g} s as the gateway asked" if delay else "retrying"
    return ApplicationError(f"{what}: {reason}; {waiting}", type=error_type, next_retry_delay=delay)


def token_failure(
    status: int,
    headers: Mapping[str, str],
    document: object,
    what: str,
    *,
    now: datetime | None = None,
    redact: Redactor = NO_SECRETS,
) -> ApplicationError:
    """A failed answer of the token endpoint (any status); ``document`` is the decoded JSON body or None.

    ``now`` is the caller's clock, against which a ``Retry-After`` HTTP date is measured; ``redact`` hides
    the secrets the request carried, should the gateway echo them.
    """
    error = clean(document.get("error"), 64, redact) if isinstance(document, dict) else ""
    description = (
        clean(document.get("error_description"), redact=redact) if isinstance(document, dict) else ""
    )
    said = f" (gateway said: {description})" if description else ""
    if 300 <= status <= 399:
        return malformed(what, f"HTTP {status} redirect, which is never followed")
    if status == 401:
        return ApplicationError(
            f"{what}: {_OAUTH_FINAL['invalid_client'][1]}{said}",
            type=ErrorType.INVALID_CLIENT,
            non_retryable=True,
        )
    if error in _OAUTH_FINAL and not retryable_status(status):
        error_type, message = _OAUTH_FINAL[error]
        return ApplicationError(f"{what}: {message}{said}", type=error_type, non_retryable=True)
    if error == "temporarily_unavailable":
        return _retryable(
            status,
            headers,
            what,
            ErrorType.TEMPORARILY_UNAVAILABLE,
            f"temporarily_unavailable{said}",
            now=now,
        )
    if status == 429:
        return _retryable(status, headers, what, ErrorType.RATE_LIMITED, "rate limited (HTTP 429)", now=now)
    if error == "server_error" or retryable_status(status):
        shape = "" if isinstance(document, dict) else ", body not JSON"
        return _retryable(
            status, headers, what, ErrorType.SERVER_ERROR, f"HTTP {status}{shape}{said}", now=now
        )
    code = f" ({error})" if error else ""
    return ApplicationError(
        f"{what}: the gateway refused the request with HTTP {status}{code}{said}; check REMOTE_GATEWAY_URL and the "
        "client settings",
        type=ErrorType.INVALID_REQUEST,
        non_retryable=True,
    )


def api_failure(
    status: int,
    headers: Mapping[str, str],
    document: object,
    what: str,
    *,
    now: datetime | None = None,
    redact: Redactor = NO_SECRETS,
) -> ApplicationError:
    """A non-2xx answer of a bearer-protected API call such as ``POST /v1/magic-link``."""
    message = _api_message(document, redact)
    said = f" (gateway said: {message})" if message else ""
    if status == 401:
        return ApplicationError(
            f"{what}: the access token was refused (HTTP 401: expired, revoked or not company-scoped); "
            f"refresh the company's token and try again{said}",
            type=ErrorType.UNAUTHORIZED,
            non_retryable=True,
        )
    if status == 403:
        return ApplicationError(
            f"{what}: forbidden (HTTP 403): the token lacks the magic_link:write scope or magic links are not "
            f"enabled for this integration; reconnect the company with that scope or ask Remote to enable them{said}",
            type=ErrorType.REQUEST_REJECTED,
            non_retryable=True,
        )
    if 300 <= status <= 399:
        return malformed(what, f"HTTP {status} redirect, which is never followed")
    if retryable_status(status):
        return _retryable(status, headers, what, ErrorType.SERVER_ERROR, f"HTTP {status}{said}", now=now)
    return ApplicationError(
        f"{what}: the gateway rejected the request (HTTP {status}){said or '; it gave no reason'}",
        type=ErrorType.REQUEST_REJECTED,
        non_retryable=True,
    )


def _api_message(document: object, redact: Redactor) -> str:
    """``message``, or ``errors`` flattened as ``field: problem; ...`` (strings only), cleaned."""
    if not isinstance(document, dict):
        return ""
    if isinstance(document.get("message"), str):
        return clean(document["message"], redact=redact)
    errors = document.get("errors")
    if isinstance(errors, dict):
        parts = []
        for field, problems in list(errors.items())[:20]:
            listed = problems if isinstance(problems, list) else [problems]
            # Only strings: str() of a deeply nested value could recurse without bound.
            said = ", ".join(p for p in listed[:10] if isinstance(p, str))
            parts.append(f"{field}: {said}")
        return clean("; ".join(parts), redact=redact)
    return ""


__all__ = [
    "DESCRIPTION_LIMIT",
    "MALFORMED_ATTEMPTS",
    "MAX_RETRY_DELAY",
    "api_failure",
    "attempt",
    "clean",
    "malformed",
    "retry_delay",
    "retryable_status",
    "token_failure",
    "transport_failure",
]
