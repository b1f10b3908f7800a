"""The error types of remote-oauth: one enum of every type, and the exceptions of code outside Temporal.

Every error the project raises or reports names an ``ErrorType``: an ``ApplicationError`` as its ``type``, a
``RemoteOAuthError`` as its ``kind``, a status as its ``last_error_type``. Callers branch on that, never on
message text (messages may quote a gateway and change wording)::

    ErrorType                     the stable type of every error: values never change once released
                                  (workflows branch on them, histories and statuses store them)

    RemoteOAuthError              plain Python code (settings, API, CLI); ``kind`` says which ErrorType
     ├── ConfigurationError       a setting is missing or invalid                    (Misconfigured)
     ├── NotFoundError            no workflow for that company or partner token      (NotFound)
     ├── NotReadyError            the workflow has no usable token, or refused       (the workflow's type,
     │                                                                               else TokenUnavailable)
     ├── RequestRejectedError     the gateway refused a request the caller made      (the gateway's type,
     │                                                                               else RequestRejected)
     ├── InvalidInputError        a value given to the API cannot be used            (InvalidInput)
     └── TemporalUnavailableError Temporal cannot be reached                         (CannotReachTemporal)
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorType(StrEnum):
    """``ApplicationError.type`` of activities and workflows, ``kind`` of ``RemoteOAuthError``, and the error
    types reported in status."""

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
    """A local setting is missing or invalid (the assertion key, a codec key, a port in use...)."""
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

    # Outside Temporal: raised by the API and the CLI, never by a workflow.
    NOT_FOUND = "NotFound"
    """No workflow for the company reference or partner token asked for (never onboarded, offboarded...)."""
    INVALID_INPUT = "InvalidInput"
    """A value given on the command line or to the API cannot be used (a flag, `min_ttl` out of bounds); the
    message names it. Nothing was sent."""
    CANNOT_REACH_TEMPORAL = "CannotReachTemporal"
    """Temporal could not be reached at the configured address (TEMPORAL_ADDRESS, a profile...)."""

    @property
    def is_configuration(self) -> bool:
        """Errors an operator fixes in settings or in Remote's partner console."""
        return self in _CONFIGURATION

    @classmethod
    def known(cls, value: str | None) -> ErrorType | None:
        """The member spelt ``value`` (an ``ApplicationError.type`` from a workflow), or None if none is."""
        try:
            return None if value is None else cls(value)
        except ValueError:
            return None


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


class RemoteOAuthError(Exception):
    """Base of every error raised by remote-oauth outside Temporal; ``kind`` is what to branch on."""

    default_kind: ClassVar[ErrorType]
    """The ``kind`` of an error raised without one; every subclass sets it."""

    def __init__(self, message: str, *, kind: ErrorType | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorType = self.default_kind if kind is None else kind
        """This error's type: branch on this, never on the message."""


class ConfigurationError(RemoteOAuthError):
    """A setting is missing or invalid; the message names it and says how to fix it."""

    default_kind = ErrorType.MISCONFIGURED


class InvalidInputError(RemoteOAuthError):
    """A value given to the API cannot be used (a malformed scope, metadata, import row); nothing was done."""

    default_kind = ErrorType.INVALID_INPUT


class NotFoundError(RemoteOAuthError):
    """No workflow exists for the company reference or partner token asked for."""

    default_kind = ErrorType.NOT_FOUND


class NotReadyError(RemoteOAuthError):
    """The workflow exists but cannot give a token now (awaiting consent, revoked, misconfigured...).

    ``kind`` is the workflow's ``ErrorType`` for the refusal when it gave one (``ConsentStateExpired``,
    ``CallbackRejected``, ``Unauthorized``...), else ``TokenUnavailable``.
    """

    default_kind = ErrorType.TOKEN_UNAVAILABLE


class RequestRejectedError(RemoteOAuthError):
    """The gateway refused a request made on the caller's behalf, for a reason the caller can act on."""

    default_kind = ErrorType.REQUEST_REJECTED


class TemporalUnavailableError(RemoteOAuthError):
    """Temporal could not be reached: nothing was asked or changed; start it or point TEMPORAL_ADDRESS at it."""

    default_kind = ErrorType.CANNOT_REACH_TEMPORAL


__all__ = [
    "ConfigurationError",
    "ErrorType",
    "InvalidInputError",
    "NotFoundError",
    "NotReadyError",
    "RemoteOAuthError",
    "RequestRejectedError",
    "TemporalUnavailableError",
]
