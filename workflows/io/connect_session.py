"""Connect sessions: the signed, expiring links only the partner's backend can mint, and the browser binding.

A connect link is ``{public base}/connect/{ref}?session=<token>``. The token names the ref and an expiry and is
an HMAC under ``REMOTE_OAUTH_CONNECT_KEYS`` (the first key signs, every key verifies, so keys rotate like the
codec's), so the web app refuses a forged or stale link without asking Temporal anything: a stranger who knows a
ref starts nothing and learns nothing.

Opening a valid link sets a cookie that binds the browser to the ``state`` sent to Remote (RFC 9700 sections
2.1 and 4.7): an HMAC of that state, which only our web app can compute. A callback is accepted only from the
browser that holds it, so a leaked authorize URL or callback URL cannot complete a consent in another browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from workflows.io.settings import Settings, is_loopback
from workflows.types.errors import ConfigurationError

SESSION_PARAM = "session"
"""The connect link's query parameter holding the session token."""
COOKIE_PREFIX = "remote_oauth_consent_"
MIN_KEY_LENGTH = 32
"""Characters a connect key must have at least (``remote-oauth keygen --connect`` makes 43)."""
SETTING = "REMOTE_OAUTH_CONNECT_KEYS"
KEYGEN_HINT = f"make one with `remote-oauth keygen --connect` and set {SETTING} (or {SETTING}_FILE)"

_SESSION_CONTEXT = b"remote-oauth connect-session v1\x00"
_BINDING_CONTEXT = b"remote-oauth consent-binding v1\x00"
_TOKEN = re.compile(r"v1\.([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})")
_SEPARATORS = re.compile(r"[\s,]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_connect_key() -> str:
    """A new random connect key (256 bits, URL-safe base64)."""
    return secrets.token_urlsafe(32)


def cookie_name(company_ref: str) -> str:
    """One cookie per company, so onboarding two companies in one browser keeps both flows working."""
    return COOKIE_PREFIX + hashlib.sha256(company_ref.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ConnectKeys:
    """The HMAC keys of connect sessions and browser bindings: the first signs, all verify."""

    keys: tuple[bytes, ...] = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> ConnectKeys:
        """Keys separated by commas or white space, current first.

        Raises:
            ConfigurationError: no key, or a key shorter than ``MIN_KEY_LENGTH`` (never quoting the key).
        """
        entries = [entry for entry in _SEPARATORS.split(text.strip()) if entry]
        if not entries:
            raise ConfigurationError(f"{SETTING} holds no key; {KEYGEN_HINT}")
        for position, entry in enumerate(entries, 1):
            if len(entry) < MIN_KEY_LENGTH:
                raise ConfigurationError(
                    f"{SETTING} key {position} is shorter than {MIN_KEY_LENGTH} characters; {KEYGEN_HINT}"
                )
        return cls(tuple(entry.encode() for entry in entries))

    def _mac(self, key: bytes, context: bytes, *parts: str) -> str:
        message = context + b"\x00".join(part.encode() for part in parts)
        return _b64(hmac.new(key, message, hashlib.sha256).digest())

    def mint(self, company_ref: str, *, expires_at: datetime) -> str:
        """A session token for ``company_ref``, valid until ``expires_at``."""
        expiry = str(int(expires_at.timestamp()))
        nonce = _b64(secrets.token_bytes(12))
        mac = self._mac(self.keys[0], _SESSION_CONTEXT, company_ref, expiry, nonce)
        return f"v1.{expiry}.{nonce}.{mac}"

    def verify(self, company_ref: str, token: str, *, now: datetime) -> bool:
        """Whether ``token`` was minted for ``company_ref`` by a key of the ring and has not expired."""
        match = _TOKEN.fullmatch(token)
        if match is None:
            return False
        expiry, nonce, mac = match.groups()
        if int(expiry) <= now.timestamp():
            return False
        return any(
            hmac.compare_digest(mac, self._mac(key, _SESSION_CONTEXT, company_ref, expiry, nonce))
            for key in self.keys
        )

    def binding(self, state: str) -> str:
        """The cookie value that binds a browser to ``state``."""
        return self._mac(self.keys[0], _BINDING_CONTEXT, state)

    def is_bound(self, state: str, cookie: str | None) -> bool:
        """Whether the browser's cookie is the binding of ``state`` (under any key of the ring)."""
        if not cookie:
            return False
        return any(hmac.compare_digest(cookie, self._mac(key, _BINDING_CONTEXT, state)) for key in self.keys)


@dataclass(frozen=True)
class ConnectLinks:
    """Everything needed to mint connect links and check them: keys, where the web app is, how long."""

    keys: ConnectKeys
    public_url: str
    """The partner web app's origin (and path prefix, if any), without a trailing slash."""
    ttl_seconds: int = 7 * 86400
    secure_cookie: bool = True
    """False only when the redirect URI is plain http on loopback (the dev stack), where browsers drop
    Secure cookies."""

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectLinks | None:
        """None when no connect key is configured (the API then hands out no links)."""
        if settings.connect_keys is None:
            return None
        redirect = urlsplit(settings.redirect_uri or "")
        public = settings.public_url or (
            f"{redirect.scheme}://{redirect.netloc}" if redirect.scheme and redirect.netloc else None
        )
        if public is None:
            raise ConfigurationError(
                "connect links need REMOTE_OAUTH_PUBLIC_URL or REMOTE_REDIRECT_URI (its origin is the default)"
            )
        insecure = redirect.scheme == "http" and is_loopback(redirect.hostname or "")
        return cls(
            keys=ConnectKeys.parse(settings.connect_keys.reveal()),
            public_url=public.rstrip("/"),
            ttl_seconds=settings.connect_ttl,
            secure_cookie=not insecure,
        )

    def link(self, company_ref: str, *, now: datetime | None = None) -> tuple[str, datetime]:
        """A fresh connect link for ``company_ref`` and when it expires."""
        start = now or datetime.now(UTC)
        expires_at = datetime.fromtimestamp(int(start.timestamp()) + self.ttl_seconds, UTC)
        token = self.keys.mint(company_ref, expires_at=expires_at)
        url = f"{self.public_url}/connect/{quote(company_ref, safe='@:')}?{SESSION_PARAM}={token}"
        return url, expires_at


__all__ = [
    "COOKIE_PREFIX",
    "KEYGEN_HINT",
    "MIN_KEY_LENGTH",
    "SESSION_PARAM",
    "ConnectKeys",
    "ConnectLinks",
    "cookie_name",
    "generate_connect_key",
]
