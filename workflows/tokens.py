"""Token values as they cross the Temporal boundary, and their inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


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
