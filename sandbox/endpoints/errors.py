"""OAuth errors as the token endpoint reports them (RFC 6749 section 5.2)."""

from __future__ import annotations

__all__ = ["OAuthError"]


class OAuthError(Exception):
    """A failed grant: ``error`` is the RFC 6749 code, ``status`` its HTTP status."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        """The JSON body every OAuth error carries."""
        return {"error": self.error, "error_description": self.description}
