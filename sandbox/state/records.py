"""What the sandbox remembers: companies, codes, grants and tokens.

These are mutable records, not values: revoking a company or rotating a refresh token changes them in place,
and the store is their only owner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AccessToken",
    "AuthorizationCode",
    "Company",
    "ConsentRequest",
    "Employment",
    "Grant",
    "RefreshToken",
    "TokenKind",
]

TokenKind = str
"""``company`` (code or refresh flow), ``partner`` (client credentials) or ``assertion`` (JWT bearer)."""


@dataclass(slots=True)
class Employment:
    """An employee of a company; only ``invited`` ones can receive magic links."""

    id: str
    status: str


@dataclass(slots=True)
class Company:
    """A company that consented at least once; re-consent under the same name reuses it."""

    id: str
    name: str
    admin_user_id: str
    scope: str
    employments: dict[str, Employment] = field(default_factory=dict)
    revoked: bool = False


@dataclass(slots=True)
class ConsentRequest:
    """A validated authorize request waiting for the admin's Approve or Deny."""

    id: str
    redirect_uri: str
    scope: str
    state: str | None
    company_name: str
    expires_at: float


@dataclass(slots=True)
class AuthorizationCode:
    """A single-use code bound to its client and redirect URI."""

    code: str
    client_id: str
    redirect_uri: str
    company_id: str
    user_id: str
    scope: str
    expires_at: float
    grant_id: str | None = None
    """Set once redeemed, so a replay can revoke what the first redemption issued."""


@dataclass(slots=True)
class Grant:
    """One redeemed code and everything issued from it since."""

    id: str
    company_id: str
    user_id: str
    client_id: str
    scope: str
    access_tokens_issued: int = 0
    rotation_generation: int = 0
    refresh_requests: int = 0
    revoked: bool = False


@dataclass(slots=True)
class AccessToken:
    """An opaque bearer token and what it may do."""

    token: str
    kind: TokenKind
    client_id: str
    scope: str
    expires_at: float
    company_id: str | None = None
    user_id: str | None = None
    employment_id: str | None = None
    grant_id: str | None = None
    revoked: bool = False


@dataclass(slots=True)
class RefreshToken:
    """An opaque refresh token; ``dies_at`` is set when rotation retires it."""

    token: str
    grant_id: str
    generation: int
    dies_at: float | None = None
    revoked: bool = False
