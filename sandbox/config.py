"""How a sandbox gateway behaves: credentials, token lifetimes, rotation and limits."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SCOPE",
    "ROTATION_MODES",
    "SCOPE_TOKEN",
    "TOKEN_TYPES",
    "SandboxConfig",
]

ROTATION_MODES = ("off", "strict", "grace")
TOKEN_TYPES = ("bearer", "Bearer")

SCOPE_TOKEN = re.compile(r"[a-z_]+(:[a-z_]+)?")
"""One scope as Remote spells them (``company:read``, ``magic_link:write``)."""

DEFAULT_SCOPE = "company:read company:write employment:read employment:write magic_link:write"
"""Granted when an authorize request names no scope, so a bare connect link can do everything."""


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that makes one sandbox differ from another; the defaults follow the seed spec."""

    client_id: str = "remote-oauth-dev"
    """The one registered client."""
    client_secret: str = "dev-secret-not-for-production"  # noqa: S105 - a published dev credential
    """Its secret; also the HS256 key of its JWT assertions."""
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/oauth/callback",)
    """Redirect URIs compared byte for byte, as RFC 6749 asks."""
    token_ttl: int = 3600
    """Access-token lifetime in seconds (``expires_in``)."""
    token_type: str = "bearer"  # noqa: S105 - an OAuth token type, not a password
    """``bearer`` as the spec says, or ``Bearer`` as the live gateway answers."""
    refresh_rotation: str = "off"
    """``off`` (Remote: same refresh token back), ``strict`` or ``grace``."""
    rotation_grace_seconds: int = 60
    """How long a rotated-out refresh token still works under ``grace``."""
    rate_limit_per_minute: int = 250
    """Requests per client id per 60-second window, token requests included."""
    auto_approve: bool = False
    """Skip the consent page and approve at once (``auto_approve=0`` still shows it)."""
    issuer: str | None = None
    """Base URL for the assertion audience ``{issuer}/auth``; None derives it from the request."""
    public_keys: tuple[str, ...] = ()
    """PEM public keys that may verify RS256/ES256 assertions."""
    magic_links_enabled: bool = True
    """Whether ``POST /v1/magic-link`` is enabled for the client (403 otherwise)."""
    code_ttl: int = 300
    """Authorization-code lifetime in seconds."""

    def __post_init__(self) -> None:
        """Reject settings the gateway could never have, so a typo fails at start, not mid-flow."""
        if self.token_type not in TOKEN_TYPES:
            raise ValueError(f"token_type must be one of {TOKEN_TYPES}, not {self.token_type!r}")
        if self.refresh_rotation not in ROTATION_MODES:
            raise ValueError(
                f"refresh_rotation must be one of {ROTATION_MODES}, not {self.refresh_rotation!r}"
            )
        if self.token_ttl <= 0 or self.code_ttl <= 0:
            raise ValueError("token_ttl and code_ttl must be positive")
        if self.rotation_grace_seconds < 0:
            raise ValueError("rotation_grace_seconds must not be negative")
        if self.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_per_minute must be positive")
        if not self.client_id or not self.client_secret:
            raise ValueError("client_id and client_secret must not be empty")
        if not self.redirect_uris:
            raise ValueError("at least one redirect URI must be registered")
