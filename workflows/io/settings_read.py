"""How a declared variable is read: trimmed, empty as unset, ``_FILE`` variants, bounded numbers, safe URLs.

Every error is a ``ConfigurationError`` that names the variable and never quotes a secret's value.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from workflows.io.settings_vars import Variable
from workflows.types.errors import ConfigurationError


class EnvReader:
    """Reads the fields of one declared dataclass (``settings_vars.declared``) from an environment."""

    def __init__(self, env: Mapping[str, str], variables: Mapping[str, Variable]) -> None:
        self._env = env
        self._variables = variables

    def name(self, field: str) -> str:
        """The environment variable of ``field``."""
        return self._variables[field].env

    def text(self, field: str) -> str | None:
        """The trimmed value (or, for a ``file_variant``, the file's), None when unset or empty."""
        variable = self._variables[field]
        direct = self._get(variable.env)
        if not variable.file_variant:
            return direct
        file_name = f"{variable.env}_FILE"
        from_file = self._get(file_name)
        if direct is not None and from_file is not None:
            raise ConfigurationError(f"set only one of {variable.env} and {file_name}")
        return direct if from_file is None else _read_file(file_name, from_file)

    def raw(self, field: str) -> str | None:
        """The value exactly as set (not trimmed), None when unset or empty."""
        return self._env.get(self._variables[field].env) or None

    def file(self, field: str) -> str | None:
        """The content of the file the variable names, None when unset."""
        variable = self._variables[field]
        path = self._get(variable.env)
        return None if path is None else _read_file(variable.env, path)

    def number(self, field: str, *, integer: bool = True) -> float:
        """A number more than 0 and at most the declared maximum; the declared default when unset."""
        variable = self._variables[field]
        default, maximum = variable.default, variable.maximum
        assert isinstance(default, int | float), variable  # numbers are declared with a default
        assert maximum is not None, variable  # and a maximum
        raw = self._get(variable.env)
        if raw is None:
            return default
        unit = variable.unit
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = f"a whole number of {unit}" if integer else f"a number of {unit}"
            raise ConfigurationError(f"{variable.env} must be {kind}, not {raw!r}") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise ConfigurationError(f"{variable.env} must be more than 0 and at most {maximum:g} {unit}")
        return value

    def whole(self, field: str) -> int:
        """A whole number (see :meth:`number`)."""
        return int(self.number(field))

    def _get(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None


def _read_file(name: str, path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"{name}: cannot read the file it names ({type(err).__name__})") from None
    if not text:
        raise ConfigurationError(f"{name}: the file it names is empty")
    return text


def is_loopback(host: str) -> bool:
    """Whether ``host`` is localhost, 127.0.0.0/8 or ::1: the only hosts plain http may reach."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_secure_url(parts: SplitResult) -> bool:
    """https to any host, or plain http to a loopback host: the URLs a setting may point at."""
    host = parts.hostname
    return bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host or "")))


def gateway_url(name: str, value: str) -> str:
    """The gateway's base URL without a trailing slash."""
    url = value.rstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError(f"{name} must be a plain base URL (no query, fragment or user)")
    if is_secure_url(parts):
        return url
    raise ConfigurationError(
        f"{name} must be an https:// URL (http:// only to localhost, 127.0.0.0/8 or ::1)"
    )


def redirect_uri(name: str, raw: str | None) -> str | None:
    """The redirect URI byte for byte: the authorize request and the code exchange must send it as registered."""
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment or raw != raw.strip():
        raise ConfigurationError(
            f"{name} must be an absolute http(s) URL without a fragment or surrounding spaces"
        )
    if not is_secure_url(parts):
        # Over plain http the code (and the binding cookie) would cross the network readable by anyone on it.
        raise ConfigurationError(f"{name} must be https:// (http:// only to localhost, 127.0.0.0/8 or ::1)")
    return raw


def public_url(name: str, url: str | None) -> str | None:
    """The web app's public base URL without a trailing slash."""
    if url is None:
        return None
    parts = urlsplit(url)
    if not is_secure_url(parts) or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(
            f"{name} must be a plain https:// base URL (http:// only to loopback), e.g. https://partner.example"
        )
    return url.rstrip("/")


def webhook_url(name: str, url: str | None) -> str | None:
    """Where webhook events go: https, or http to loopback."""
    if url is None or is_secure_url(urlsplit(url)):
        return url
    raise ConfigurationError(f"{name} must be an https:// URL (http:// only to localhost or 127.0.0.1)")


def scopes(name: str, raw: str | None, default: str) -> str:
    """Space-separated scope names, whitespace normalised."""
    if raw is None:
        return default
    names = raw.split()
    if not all(scope.isprintable() and '"' not in scope and "\\" not in scope for scope in names):
        raise ConfigurationError(f"{name} must be space-separated scope names")
    return " ".join(names)


__all__ = [
    "EnvReader",
    "gateway_url",
    "is_loopback",
    "is_secure_url",
    "public_url",
    "redirect_uri",
    "scopes",
    "webhook_url",
]
