"""Token values as they cross the Temporal boundary, and the rules that turn a token response into one.

Imported by workflows, so standard library only: the activities decode JSON, run these rules, then build
the generated client's model from the normalised document.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from workflows.types.untrusted import is_b64token


@dataclass(frozen=True)
class TokenGrant:
    """A token endpoint's answer, parsed and normalised; what workflows keep and callers receive."""

    access_token: str
    token_type: str
    """Always lower case (``bearer``): RFC 6749 makes it case-insensitive and Remote sends ``Bearer``."""
    issued_at: datetime
    """When the request was sent (UTC), so ``expires_at`` is never later than the server meant."""
    expires_at: datetime
    """``issued_at + expires_in``."""
    refresh_token: str | None = None
    scope: str | None = None
    company_id: str | None = None
    user_id: str | None = None
    expires_in_defaulted: bool = False
    """True when the response had no ``expires_in`` and the configured default lifetime was used."""

    def __repr__(self) -> str:
        # Never let a token reach a log through repr().
        return (
            f"TokenGrant(token_type={self.token_type!r}, expires_at={self.expires_at.isoformat()}, "
            f"scope={self.scope!r}, company_id={self.company_id!r}, user_id={self.user_id!r}, "
            f"refresh_token={'<set>' if self.refresh_token else None})"
        )

    def ttl(self, now: datetime) -> timedelta:
        """Time left before expiry at ``now`` (negative once expired)."""
        return self.expires_at - now


TOKEN_TYPES = frozenset({"bearer"})
"""Token types we can use; compared case-insensitively (RFC 6749 section 7.1)."""


MAX_EXPIRES_IN = 100 * 366 * 86400
"""Anything longer is a bug on the other side (and would overflow date arithmetic)."""


class MalformedTokenError(ValueError):
    """A token response broke a rule; the message names the field, never a token value."""


@dataclass(frozen=True)
class NormalisedToken:
    """A token response that passed every rule: ``document`` fits the spec's 200 schema."""

    document: dict[str, Any]
    """The response with ``token_type`` lower-cased and ``expires_in`` an ``int`` (unknown fields kept)."""
    expires_in_defaulted: bool = False


def normalise_token_response(document: object, *, default_lifetime: int) -> NormalisedToken:
    """Check a decoded token response and normalise what RFC 6749 lets servers vary.

    ``token_type`` is case-insensitive; ``expires_in`` may be a numeric string; a missing ``expires_in``
    becomes ``default_lifetime``. Unknown fields are kept (the generated model stores them).

    Raises:
        MalformedTokenError: not an object, no ``access_token``, an access or refresh token outside RFC 6750's
            b64token characters, an unknown ``token_type``, an
            ``expires_in`` that is not a positive finite whole number, or an optional field of the wrong type.
    """
    if not isinstance(document, dict):
        raise MalformedTokenError(f"the token response is a JSON {_json_kind(document)}, not an object")
    body = dict(document)
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise MalformedTokenError("the token response has no access_token")
    if not is_b64token(access_token):
        # A space or CR/LF would break (or inject into) the Authorization header of every later call.
        raise MalformedTokenError(
            "the token response's access_token has characters a bearer token cannot have"
        )
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() not in TOKEN_TYPES:
        shown = _clip(token_type) if isinstance(token_type, str) else _json_kind(token_type)
        raise MalformedTokenError(f"the token response has token_type {shown!r}; only bearer is usable")
    body["token_type"] = token_type.lower()
    defaulted = "expires_in" not in body or body["expires_in"] is None
    body["expires_in"] = default_lifetime if defaulted else _expires_in(body["expires_in"])
    for name in ("refresh_token", "scope", "company_id", "user_id"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise MalformedTokenError(
                f"the token response's {name} is a {_json_kind(body[name])}, not a string"
            )
        if body.get(name) in (None, ""):
            body.pop(name, None)
    refresh_token = body.get("refresh_token")
    if isinstance(refresh_token, str) and not is_b64token(refresh_token):
        raise MalformedTokenError("the token response's refresh_token has characters a token cannot have")
    return NormalisedToken(document=body, expires_in_defaulted=defaulted)


def _expires_in(value: object) -> int:
    """A positive whole number of seconds from an int, an integral float or a numeric string."""
    # bool is an int subclass: a JSON true is not a lifetime.
    if isinstance(value, bool):
        raise MalformedTokenError("expires_in is a boolean, not a number of seconds")
    number: float
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise MalformedTokenError(f"expires_in {_clip(value)!r} is not a number") from None
    else:
        raise MalformedTokenError(f"expires_in is a {_json_kind(value)}, not a number")
    if not math.isfinite(number) or number != int(number):
        raise MalformedTokenError("expires_in is not a finite whole number of seconds")
    if number <= 0:
        raise MalformedTokenError(f"expires_in is {int(number)}; a token's lifetime must be positive")
    if number > MAX_EXPIRES_IN:
        raise MalformedTokenError("expires_in is more than a century; refusing an implausible lifetime")
    return int(number)


def _json_kind(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _clip(text: str, limit: int = 40) -> str:
    """Untrusted text, short and printable, for a message."""
    clean = "".join(ch for ch in text if ch.isprintable())
    return clean[:limit]


def token_grant(
    *,
    access_token: str,
    token_type: str,
    expires_in: int,
    issued_at: datetime,
    refresh_token: str | None = None,
    scope: str | None = None,
    company_id: str | None = None,
    user_id: str | None = None,
    expires_in_defaulted: bool = False,
) -> TokenGrant:
    """A ``TokenGrant`` whose ``expires_at`` counts from when the request was sent, not when it came back."""
    return TokenGrant(
        access_token=access_token,
        token_type=token_type.lower(),
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=expires_in),
        refresh_token=refresh_token,
        scope=scope,
        company_id=company_id,
        user_id=user_id,
        expires_in_defaulted=expires_in_defaulted,
    )


__all__ = [
    "MAX_EXPIRES_IN",
    "TOKEN_TYPES",
    "MalformedTokenError",
    "NormalisedToken",
    "TokenGrant",
    "normalise_token_response",
    "token_grant",
]
