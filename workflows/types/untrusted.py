"""Rules for text we did not write: the gateway's answers, callback parameters, and what we print of them.

Standard library only (workflows import it). Everything the gateway or a browser says is hostile until it
passed one of these: a ``Redactor`` removes the secrets a request carried (a gateway that echoes the request
would otherwise put them into messages, logs, status and webhooks), ``printable`` strips control characters
(forged log lines, terminal escapes) and bounds the length; ``workflows.io.gateway.classify.clean`` applies both.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
ERROR_CODE_LIMIT = 64
"""The longest callback ``error`` code kept; RFC 6749's codes are all far shorter."""
INVALID_CALLBACK = "invalid_callback"
"""What a callback ``error`` that is not an RFC 6749 error code is recorded as."""

# RFC 6749 appendix A.7: error = 1*NQSCHAR, NQSCHAR = %x20-21 / %x23-5B / %x5D-7E.
_ERROR_CODE = re.compile(rf"[\x20\x21\x23-\x5b\x5d-\x7e]{{1,{ERROR_CODE_LIMIT}}}")
# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_SHORTEST_SECRET = 4
"""Shorter values are not searched for: redacting every "a" would mangle the message, not protect it."""


def printable(text: str, limit: int = 200) -> str:
    """``text`` with every control or non-printable character replaced, runs of spaces folded, bounded."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    folded = " ".join(cleaned.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def is_error_code(value: str) -> bool:
    """Whether ``value`` is a syntactically valid OAuth error code (RFC 6749 NQSCHAR, bounded)."""
    return _ERROR_CODE.fullmatch(value) is not None


def error_code(value: str | None) -> str | None:
    """A callback's ``error`` as we may store it: itself if it is an error code, else ``invalid_callback``."""
    if value is None:
        return None
    return value if is_error_code(value) else INVALID_CALLBACK


def is_b64token(value: str) -> bool:
    """Whether ``value`` may be sent as ``Authorization: Bearer <value>`` (RFC 6750 b64token)."""
    return _B64TOKEN.fullmatch(value) is not None


def secret_forms(value: str) -> set[str]:
    """The ways a secret can appear in an echoed request: raw, percent-encoded (path and form style)."""
    return {value, quote(value, safe=""), quote_plus(value, safe=""), quote(value)}


def basic_forms(client_id: str, secret: str) -> set[str]:
    """The HTTP Basic credential carrying ``secret`` (RFC 6749 2.3.1 encodes both parts first), and plain."""
    forms = set()
    for pair in (f"{quote(client_id, safe='')}:{quote(secret, safe='')}", f"{client_id}:{secret}"):
        encoded = base64.b64encode(pair.encode()).decode()
        forms |= {encoded, encoded.rstrip("=")}
    return forms


class Redactor:
    """Removes every occurrence of the secrets one request carried from text the gateway sent back.

    Built for every request but used only when something failed, so the pattern is compiled on first use:
    a successful exchange pays for a tuple, not a regular expression.
    """

    __slots__ = ("_basic", "_pattern", "_values")

    def __init__(self, values: Iterable[str | None], *, basic: tuple[str, str] | None = None) -> None:
        """``values``: every secret the request carried; ``basic``: (client id, secret) sent as HTTP Basic."""
        self._values = tuple(value for value in values if value and len(value) >= _SHORTEST_SECRET)
        self._basic = basic if basic is not None and len(basic[1]) >= _SHORTEST_SECRET else None
        self._pattern: re.Pattern[str] | None = None

    def __call__(self, text: str) -> str:
        if not self._values and self._basic is None:
            return text
        if self._pattern is None:
            forms = {form for value in self._values for form in secret_forms(value)}
            if self._basic is not None:
                forms |= basic_forms(*self._basic)
            # Longest first, so a secret's encoded form is not half-replaced through a shorter one inside it.
            ordered = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(map(re.escape, ordered)))
        return self._pattern.sub(REDACTED, text)

    def __repr__(self) -> str:
        return "Redactor(<secrets>)"


NO_SECRETS = Redactor(())
"""A redactor with nothing to hide (tests, and text that carried no secret)."""


__all__ = [
    "ERROR_CODE_LIMIT",
    "INVALID_CALLBACK",
    "NO_SECRETS",
    "REDACTED",
    "Redactor",
    "basic_forms",
    "error_code",
    "is_b64token",
    "is_error_code",
    "printable",
    "secret_forms",
]
