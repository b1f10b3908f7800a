"""What a kept token carries and the pure rules about it: the ``min_ttl`` bound, the digest, re-anchoring, failures.

The company, partner and assertion workflows keep tokens through ``workflows.kept_token``; these are the values
and rules under it that need no workflow context (the API uses ``token_digest`` too). Nothing here reads a
clock or draws a random number: time comes in as an argument.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from temporalio.exceptions import ActivityError, ApplicationError

from workflows.types.errors import ErrorType
from workflows.types.tokens import TokenGrant

T = TypeVar("T")

MAX_MIN_TTL_SECONDS = 24 * 3600.0
"""The longest ``min_ttl_seconds`` any workflow accepts (a day: longer than any token Remote issues)."""

_CONFIGURATION_TYPES = frozenset(str(t) for t in ErrorType if t.is_configuration)


@dataclass(frozen=True)
class FreshnessRequest:
    """Ask for a token valid for at least ``min_ttl_seconds``."""

    min_ttl_seconds: float = 60.0
    rejected_token_sha256: str | None = None
    """The SHA-256 (hex) of an access token a Remote API answered 401 to: refresh unless already replaced."""


@dataclass(frozen=True, kw_only=True)
class KeptTokenMemory:
    """The part of a workflow's continue-as-new memory that keeps its token (the same in every workflow).

    ``CompanyMemory`` and ``PartnerMemory`` extend it with their policy's fields; the JSON stays flat, so
    memories written before this class existed decode unchanged.
    """

    token: TokenGrant | None = None
    last_refresh_at: datetime | None = None
    last_error: str | None = None
    last_error_type: str | None = None
    refreshes: int = 0
    retry_at: datetime | None = None
    """When a misconfigured workflow, or one whose refresh kept failing, tries again on its own."""
    jitter: float | None = None
    """The refresh timer's jitter draw, so the next wake is the same after continue-as-new."""


CARRY_FORWARD_SIGNAL = "carry_forward"
"""The signal every token-keeping workflow (company, partner, assertion) answers with ``CarryForward``."""


@dataclass(frozen=True)
class CarryForward:
    """Continue as new at the next safe point (no handler running), carrying the whole state forward.

    The next run's input is encoded by the worker, so it is encrypted with the worker's current codec key: this
    is how ``remote-oauth rotate-keys`` moves every open workflow off an older key.
    """

    reason: str = "key rotation"


def check_min_ttl(seconds: float) -> None:
    """Refuse a ``min_ttl_seconds`` outside [0, a day] (NaN included) before anything is written.

    Raises:
        ApplicationError: type ``InvalidInput``, non-retryable.
    """
    if not 0 <= seconds <= MAX_MIN_TTL_SECONDS:
        raise ApplicationError(
            f"min_ttl_seconds must be between 0 and {MAX_MIN_TTL_SECONDS:.0f}",
            type=ErrorType.INVALID_INPUT,
            non_retryable=True,
        )


def token_digest(token: TokenGrant) -> str:
    """SHA-256 (hex) of the access token: how a caller names a token it saw rejected without sending it."""
    return hashlib.sha256(token.access_token.encode()).hexdigest()


def is_current(token: TokenGrant, rejected_sha256: str) -> bool:
    """Whether a caller's rejected token is still the kept one (else someone has already replaced it).

    Compared as bytes in constant time: a non-ASCII digest from a caller is just not current.
    """
    return hmac.compare_digest(token_digest(token).encode(), rejected_sha256.encode())


def answers(token: TokenGrant | None, request: FreshnessRequest, now: datetime) -> bool:
    """``token`` answers ``request`` at ``now``: it exists, it is not the one the caller saw rejected, and it
    has ``min_ttl_seconds`` left (a 401 report asks only for another token, whatever its lifetime)."""
    if token is None:
        return False
    if request.rejected_token_sha256 is not None:
        return not is_current(token, request.rejected_token_sha256)
    return token.ttl(now) >= timedelta(seconds=request.min_ttl_seconds)


def reanchor(grant: TokenGrant, requested_at: datetime) -> TokenGrant:
    """``grant`` with its lifetime counted from ``requested_at`` (workflow time, before the request left).

    Deterministic on replay, immune to a worker's clock skew, and never later than the gateway meant.
    """
    lifetime = grant.expires_at - grant.issued_at
    return dataclasses.replace(grant, issued_at=requested_at, expires_at=requested_at + lifetime)


def unavailable(message: str) -> ApplicationError:
    """The typed refusal of a token request (``TokenUnavailable``): there is no usable token now."""
    return ApplicationError(message, type=ErrorType.TOKEN_UNAVAILABLE, non_retryable=True)


class FailureKind(StrEnum):
    """What a failed grant means for the token kept; each workflow's policy decides what to do about it."""

    REVOKED = "revoked"
    """``InvalidGrant``: the code or refresh token is spent or revoked; only a new grant helps."""
    MISMATCH = "mismatch"
    """``CompanyMismatch``: consent came from another Remote company than the pinned one."""
    CONFIGURATION = "configuration"
    """An operator fixes it in settings or Remote's console; trying again soon cannot help."""
    TRANSIENT = "transient"
    """Anything else (network, 5xx, 429 that outlasted the activity's retries): try again soon."""


@dataclass(frozen=True)
class Failure:
    """Why an activity failed: its ``ErrorType`` and message, unwrapped from Temporal's ``ActivityError`` once."""

    error_type: str
    message: str

    @classmethod
    def of(cls, err: ActivityError) -> Failure:
        """The ``ApplicationError`` under ``err`` (type and message), or ``ActivityFailed`` for anything else
        (a timeout, a cancellation)."""
        cause = err.cause
        if isinstance(cause, ApplicationError):
            return cls(cause.type or ErrorType.ACTIVITY_FAILED, cause.message)
        return cls(ErrorType.ACTIVITY_FAILED, str(cause or err))

    @property
    def kind(self) -> FailureKind:
        if self.error_type == ErrorType.INVALID_GRANT:
            return FailureKind.REVOKED
        if self.error_type == ErrorType.COMPANY_MISMATCH:
            return FailureKind.MISMATCH
        if self.error_type in _CONFIGURATION_TYPES:
            return FailureKind.CONFIGURATION
        return FailureKind.TRANSIENT

    def to_error(self) -> ApplicationError:
        """The failure as a workflow's or update's own error: the caller sees the activity's type and message."""
        return ApplicationError(self.message, type=self.error_type, non_retryable=True)


async def attempt(call: Awaitable[T]) -> T | Failure:
    """Await an activity call; its failure comes back as a ``Failure`` value instead of an exception."""
    try:
        return await call
    except ActivityError as err:
        return Failure.of(err)


__all__ = [
    "CARRY_FORWARD_SIGNAL",
    "MAX_MIN_TTL_SECONDS",
    "CarryForward",
    "Failure",
    "FailureKind",
    "FreshnessRequest",
    "KeptTokenMemory",
    "answers",
    "attempt",
    "check_min_ttl",
    "is_current",
    "reanchor",
    "token_digest",
    "unavailable",
]
