"""The error types of remote-oauth.

Two families, one per side of the Temporal boundary::

    RemoteOAuthError              (plain Python code: settings, API, CLI)
     ├── ConfigurationError       a setting is missing or invalid
     ├── NotFoundError            no workflow for that company or partner token
     ├── NotReadyError            the workflow exists but has no usable token (see its state)
     └── RequestRejectedError     the gateway refused a request the caller made (magic link input...)

    ErrorType                     the stable ``type`` of every ``ApplicationError`` an activity raises;
                                  workflows branch on it, so values never change once released.
"""

from __future__ import annotations

from enum import StrEnum


class RemoteOAuthError(Exception):
    """Base of every error raised by remote-oauth outside Temporal."""


class ConfigurationError(RemoteOAuthError):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class NotFoundError(RemoteOAuthError):
    """No workflow exists for the company reference or partner token asked for."""


class NotReadyError(RemoteOAuthError):
    """The workflow exists but cannot give a token now (awaiting consent, revoked, misconfigured...)."""

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        """The workflow's ``ErrorType`` for this refusal, when it gave one: branch on this, not the text."""


class RequestRejectedError(RemoteOAuthError):
    """The gateway refused a request made on the caller's behalf, for a reason the caller can act on."""


class ErrorType(StrEnum):
    """``ApplicationError.type`` values raised by activities and workflows, and error types reported in status."""

    # Retryable: the same request may succeed later.
    TRANSPORT = "Transport"
    """Connection refused/reset, DNS, TLS, or the connection dropped before a response."""
    TIMEOUT = "Timeout"
    """The HTTP request exceeded REMOTE_HTTP_TIMEOUT."""
    RATE_LIMITED = "RateLimited"
    """429 (and 503 with Retry-After): the next attempt waits as long as the gateway asked."""
    SERVER_ERROR = "ServerError"
    """408, 5xx, ``server_error``, or a malformed body on a 5xx."""
    TEMPORARILY_UNAVAILABLE = "TemporarilyUnavailable"
    """``temporarily_unavailable`` from the token endpoint."""

    # Final: retrying the same request cannot help.
    INVALID_GRANT = "InvalidGrant"
    """The code or refresh token is spent, expired or revoked: consent must be given again."""
    INVALID_CLIENT = "InvalidClient"
    """Client authentication failed (wrong id/secret, wrong auth method, or a 401)."""
    UNAUTHORIZED_CLIENT = "UnauthorizedClient"
    """The client may not use this grant type."""
    UNSUPPORTED_GRANT_TYPE = "UnsupportedGrantType"
    """The gateway does not support this grant type."""
    INVALID_SCOPE = "InvalidScope"
    """A requested scope is unknown or not allowed for this client."""
    INVALID_REQUEST = "InvalidRequest"
    """The request is malformed (often a redirect URI or parameter mismatch)."""
    MALFORMED_RESPONSE = "MalformedResponse"
    """A 2xx whose body is not a valid token response; retried a few times, then final."""
    MISCONFIGURED = "Misconfigured"
    """A local setting needed by the activity is missing or invalid (for example the assertion key)."""
    REQUEST_REJECTED = "RequestRejected"
    """A Remote API call was refused for the given input (422) or permissions (403)."""
    UNAUTHORIZED = "Unauthorized"
    """A Remote API call got 401: the bearer token is expired or revoked."""
    COMPANY_MISMATCH = "CompanyMismatch"
    """Consent was given for another Remote company than the one the ref is pinned to; nothing was bound."""
    CALLBACK_REJECTED = "CallbackRejected"
    """A consent callback's state is wrong, reused or replaced, or the company is not waiting for consent."""
    CONSENT_STATE_EXPIRED = "ConsentStateExpired"
    """A consent callback came after its state's REMOTE_OAUTH_STATE_TTL: the admin needs a new link."""
    TOKEN_UNAVAILABLE = "TokenUnavailable"  # noqa: S105 - an error type, not a secret
    """The workflow has no usable token now (awaiting consent, revoked, misconfigured, failing refresh)."""
    ACTIVITY_FAILED = "ActivityFailed"
    """An activity failed without a type of ours (a worker bug or an SDK error); the message says what."""
    STATUS_UNAVAILABLE = "StatusUnavailable"
    """``list()`` could not query a company in time and shows what visibility knows instead."""

    @property
    def is_configuration(self) -> bool:
        """Errors an operator fixes in settings or in Remote's partner console."""
        return self in _CONFIGURATION


_CONFIGURATION = frozenset(
    {
        ErrorType.INVALID_CLIENT,
        ErrorType.UNAUTHORIZED_CLIENT,
        ErrorType.UNSUPPORTED_GRANT_TYPE,
        ErrorType.INVALID_SCOPE,
        ErrorType.INVALID_REQUEST,
        ErrorType.MALFORMED_RESPONSE,
        ErrorType.MISCONFIGURED,
    }
)

__all__ = [
    "ConfigurationError",
    "ErrorType",
    "NotFoundError",
    "NotReadyError",
    "RemoteOAuthError",
    "RequestRejectedError",
]
