"""The worker's settings, read once from the environment; secrets stay wrapped until an activity uses them.

==================================  =========================================  ===============================
Variable                            Meaning                                    Default
==================================  =========================================  ===============================
``REMOTE_GATEWAY_URL``              Remote's gateway (https; http only to      ``https://gateway.remote-sandbox.com``
                                    localhost/127.0.0.0/8/::1)
``REMOTE_CLIENT_ID``                The partner's OAuth client id              none (activities report
                                                                               ``Misconfigured``)
``REMOTE_CLIENT_SECRET``            The client secret (or ``_FILE``: a file    none (activities report
``REMOTE_CLIENT_SECRET_FILE``       holding it; set only one of the two)       ``Misconfigured``)
``REMOTE_REDIRECT_URI``             The registered redirect URI, sent byte     none (connect links and code
                                    for byte (https; http only to loopback)    exchange report ``Misconfigured``)
``REMOTE_TOKEN_AUTH_METHOD``        ``client_secret_post`` (the spec) or       ``client_secret_post``
                                    ``client_secret_basic`` (live gateway)
``REMOTE_ASSERTION_ALG``            ``HS256`` (client secret), ``RS256`` or    ``HS256``
                                    ``ES256`` (private key)
``REMOTE_ASSERTION_KEY_FILE``       PEM private key for RS256/ES256            none
``REMOTE_ASSERTION_AUDIENCE``       ``aud`` of JWT assertions                  ``{REMOTE_GATEWAY_URL}/auth``
``REMOTE_ASSERTION_LIFETIME``       Seconds from ``iat`` to ``exp`` (1-600)    ``300``
``REMOTE_HTTP_TIMEOUT``             Seconds one HTTP request may take          ``10`` (at most 25: the
                                                                               activity's own timeout is 30)
``REMOTE_DEFAULT_TOKEN_LIFETIME``   Seconds assumed when a token response      ``3600``
                                    has no ``expires_in``
``REMOTE_OAUTH_CODEC_KEYS``         Payload codec keyring (or ``_FILE``)       none
``REMOTE_OAUTH_CODEC_KEYS_FILE``
``REMOTE_OAUTH_WEBHOOK_URL``        Partner webhook for consent events         none (events are only logged)
``REMOTE_OAUTH_WEBHOOK_SECRET``     HMAC key of webhook signatures             none
``REMOTE_OAUTH_TASK_QUEUE``         Task queue of workflows                    ``remote-oauth``
``REMOTE_OAUTH_TOKEN_TASK_QUEUE``   Task queue of gateway calls (rate limited) ``remote-oauth-token-endpoint``
``REMOTE_OAUTH_SCOPES``             Scopes a connect link asks for             ``company:read company:write
                                                                               employment:read
                                                                               employment:write
                                                                               magic_link:write``
``REMOTE_OAUTH_STATE_TTL``          Seconds a connect link's ``state`` lives   ``900``
``REMOTE_OAUTH_TOKEN_RATE_PER_MINUTE`` Fleet-wide gateway calls per minute    ``200`` (Remote allows 250)
``REMOTE_OAUTH_MAX_CACHED_WORKFLOWS``  Workflows one worker keeps in memory    ``1000``
``REMOTE_OAUTH_TOKEN_CACHE_SIZE``   Tokens one process's API keeps in memory   ``10000`` (least recently
                                    (``worker.api.token_cache``)                   used beyond it are dropped)
``REMOTE_OAUTH_CONNECT_KEYS``       HMAC keys of connect links and browser     none (no connect links; the
``REMOTE_OAUTH_CONNECT_KEYS_FILE``  bindings, current first                    web app refuses to start)
``REMOTE_OAUTH_CONNECT_TTL``        Seconds a connect link stays valid         ``604800`` (7 days)
``REMOTE_OAUTH_PUBLIC_URL``         Where customers reach the web app          the origin of
                                                                               ``REMOTE_REDIRECT_URI``
``REMOTE_OAUTH_CONSENT_WAIT``       Seconds a company that never consents      ``2592000`` (30 days)
                                    waits before it ends as ``expired``
==================================  =========================================  ===============================

Empty values count as unset. Missing credentials do not stop the worker: the activity that needs one fails
with ``Misconfigured`` naming the variable, so the company workflows show the problem and resume once fixed.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from workflows.options import MAX_HTTP_TIMEOUT_SECONDS
from workflows.types.errors import ConfigurationError

SANDBOX_GATEWAY = "https://gateway.remote-sandbox.com"
"""The seed spec's sandbox server."""
DEFAULT_SCOPES = "company:read company:write employment:read employment:write magic_link:write"
ASSERTION_ALGS = ("HS256", "RS256", "ES256")
MAX_ASSERTION_LIFETIME = 600
"""Remote refuses an assertion whose ``exp`` is more than ten minutes ahead."""


class Secret:
    """A value that never shows in ``repr``/``str`` (logs, tracebacks, dataclass reprs); ``reveal()`` it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is sent or used as a key."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class TokenAuthMethod(StrEnum):
    """How the client authenticates at the token endpoint (RFC 6749 section 2.3.1); one per request."""

    CLIENT_SECRET_POST = "client_secret_post"  # noqa: S105 - a method name, not a secret
    """``client_secret`` in the form body, as the seed spec shows."""
    CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 - a method name, not a secret
    """``Authorization: Basic``, as Remote's live gateway wants."""


@dataclass(frozen=True)
class Settings:
    """Everything the worker's activities need; built by ``from_env`` (see the module table)."""

    gateway_url: str = SANDBOX_GATEWAY
    """Without a trailing slash."""
    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_uri: str | None = None
    token_auth_method: TokenAuthMethod = TokenAuthMethod.CLIENT_SECRET_POST
    assertion_alg: str = "HS256"
    assertion_key: Secret | None = None
    """PEM private key text for RS256/ES256."""
    assertion_audience: str = f"{SANDBOX_GATEWAY}/auth"
    assertion_lifetime: int = 300
    http_timeout: float = 10.0
    default_token_lifetime: int = 3600
    codec_keys: Secret | None = None
    webhook_url: str | None = None
    webhook_secret: Secret | None = None
    task_queue: str = "remote-oauth"
    token_task_queue: str = "remote-oauth-token-endpoint"  # noqa: S105 - a queue name, not a secret
    scopes: str = DEFAULT_SCOPES
    state_ttl: int = 900
    token_rate_per_minute: float = 200.0
    """Gateway calls per minute for the whole fleet (Temporal enforces it on the token task queue)."""
    max_cached_workflows: int = 1000
    """Workflows one worker process keeps in memory (about 0.1 MB each); a company beyond it is replayed
    from its history at its next refresh, which costs CPU instead of memory."""
    token_cache_size: int = 10_000
    """Grants one process's ``RemoteOAuth`` keeps in memory (``worker.api.token_cache``), least recently used
    dropped first: a hit costs no Temporal call."""
    connect_keys: Secret | None = None
    """HMAC keys of connect sessions and browser bindings (``workflows.io.connect_session``), current first."""
    connect_ttl: int = 7 * 86400
    public_url: str | None = None
    """The web app's public base URL; None: the origin of ``redirect_uri``."""
    consent_wait: int = 30 * 86400

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate every setting.

        Raises:
            ConfigurationError: a value is invalid; the message names the variable (never the value of a
                secret).
        """
        gateway = _gateway(env)
        alg = _get(env, "REMOTE_ASSERTION_ALG") or "HS256"
        if alg not in ASSERTION_ALGS:
            raise ConfigurationError(f"REMOTE_ASSERTION_ALG must be one of {', '.join(ASSERTION_ALGS)}")
        method = _get(env, "REMOTE_TOKEN_AUTH_METHOD") or TokenAuthMethod.CLIENT_SECRET_POST.value
        try:
            auth_method = TokenAuthMethod(method)
        except ValueError:
            raise ConfigurationError(
                "REMOTE_TOKEN_AUTH_METHOD must be client_secret_post or client_secret_basic"
            ) from None
        return cls(
            gateway_url=gateway,
            client_id=_get(env, "REMOTE_CLIENT_ID"),
            client_secret=_secret(env, "REMOTE_CLIENT_SECRET"),
            redirect_uri=_redirect_uri(env),
            token_auth_method=auth_method,
            assertion_alg=alg,
            assertion_key=_file_secret(env, "REMOTE_ASSERTION_KEY_FILE"),
            assertion_audience=_get(env, "REMOTE_ASSERTION_AUDIENCE") or f"{gateway}/auth",
            assertion_lifetime=int(_number(env, "REMOTE_ASSERTION_LIFETIME", 300, MAX_ASSERTION_LIFETIME)),
            http_timeout=_number(env, "REMOTE_HTTP_TIMEOUT", 10, MAX_HTTP_TIMEOUT_SECONDS, integer=False),
            default_token_lifetime=int(_number(env, "REMOTE_DEFAULT_TOKEN_LIFETIME", 3600, 366 * 86400)),
            codec_keys=_secret(env, "REMOTE_OAUTH_CODEC_KEYS"),
            webhook_url=_webhook_url(env),
            webhook_secret=_secret(env, "REMOTE_OAUTH_WEBHOOK_SECRET", file_variant=False),
            task_queue=_get(env, "REMOTE_OAUTH_TASK_QUEUE") or "remote-oauth",
            token_task_queue=_get(env, "REMOTE_OAUTH_TOKEN_TASK_QUEUE") or "remote-oauth-token-endpoint",
            scopes=_scopes(env),
            state_ttl=int(_number(env, "REMOTE_OAUTH_STATE_TTL", 900, 7 * 86400)),
            token_rate_per_minute=_number(
                env, "REMOTE_OAUTH_TOKEN_RATE_PER_MINUTE", 200, 100_000, integer=False, unit="requests"
            ),
            max_cached_workflows=int(
                _number(env, "REMOTE_OAUTH_MAX_CACHED_WORKFLOWS", 1000, 1_000_000, unit="workflows")
            ),
            token_cache_size=int(
                _number(env, "REMOTE_OAUTH_TOKEN_CACHE_SIZE", 10_000, 10_000_000, unit="tokens")
            ),
            connect_keys=_secret(env, "REMOTE_OAUTH_CONNECT_KEYS"),
            connect_ttl=int(_number(env, "REMOTE_OAUTH_CONNECT_TTL", 7 * 86400, 90 * 86400)),
            public_url=_public_url(env),
            consent_wait=int(_number(env, "REMOTE_OAUTH_CONSENT_WAIT", 30 * 86400, 366 * 86400)),
        )


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _read_file(name: str, path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(f"{name}: cannot read the file it names ({type(err).__name__})") from None
    if not text:
        raise ConfigurationError(f"{name}: the file it names is empty")
    return text


def _file_secret(env: Mapping[str, str], name: str) -> Secret | None:
    path = _get(env, name)
    return None if path is None else Secret(_read_file(name, path))


def _secret(env: Mapping[str, str], name: str, *, file_variant: bool = True) -> Secret | None:
    """``NAME`` or the file named by ``NAME_FILE`` (never both)."""
    direct = _get(env, name)
    from_file = _get(env, f"{name}_FILE") if file_variant else None
    if direct is not None and from_file is not None:
        raise ConfigurationError(f"set only one of {name} and {name}_FILE")
    if from_file is not None:
        return Secret(_read_file(f"{name}_FILE", from_file))
    return None if direct is None else Secret(direct)


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    maximum: float,
    *,
    integer: bool = True,
    unit: str = "seconds",
) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = f"a whole number of {unit}" if integer else f"a number of {unit}"
        raise ConfigurationError(f"{name} must be {kind}, not {raw!r}") from None
    if not math.isfinite(value) or not 0 < value <= maximum:
        raise ConfigurationError(f"{name} must be more than 0 and at most {maximum:g} {unit}")
    return value


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


def _gateway(env: Mapping[str, str]) -> str:
    url = (_get(env, "REMOTE_GATEWAY_URL") or SANDBOX_GATEWAY).rstrip("/")
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigurationError("REMOTE_GATEWAY_URL must be a plain base URL (no query, fragment or user)")
    if is_secure_url(parts):
        return url
    raise ConfigurationError(
        "REMOTE_GATEWAY_URL must be an https:// URL (http:// only to localhost, 127.0.0.0/8 or ::1)"
    )


def _redirect_uri(env: Mapping[str, str]) -> str | None:
    # Not stripped: the authorize request and the code exchange must send it byte for byte as registered.
    raw = env.get("REMOTE_REDIRECT_URI") or None
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment or raw != raw.strip():
        raise ConfigurationError(
            "REMOTE_REDIRECT_URI must be an absolute http(s) URL without a fragment or surrounding spaces"
        )
    if not is_secure_url(parts):
        # Over plain http the code (and the binding cookie) would cross the network readable by anyone on it.
        raise ConfigurationError(
            "REMOTE_REDIRECT_URI must be https:// (http:// only to localhost, 127.0.0.0/8 or ::1)"
        )
    return raw


def _public_url(env: Mapping[str, str]) -> str | None:
    url = _get(env, "REMOTE_OAUTH_PUBLIC_URL")
    if url is None:
        return None
    parts = urlsplit(url)
    if not is_secure_url(parts) or parts.query or parts.fragment or parts.username:
        raise ConfigurationError(
            "REMOTE_OAUTH_PUBLIC_URL must be a plain https:// base URL (http:// only to loopback), e.g. "
            "https://partner.example"
        )
    return url.rstrip("/")


def _webhook_url(env: Mapping[str, str]) -> str | None:
    url = _get(env, "REMOTE_OAUTH_WEBHOOK_URL")
    if url is None:
        return None
    parts = urlsplit(url)
    if is_secure_url(parts):
        return url
    raise ConfigurationError(
        "REMOTE_OAUTH_WEBHOOK_URL must be an https:// URL (http:// only to localhost or 127.0.0.1)"
    )


def _scopes(env: Mapping[str, str]) -> str:
    raw = _get(env, "REMOTE_OAUTH_SCOPES")
    if raw is None:
        return DEFAULT_SCOPES
    scopes = raw.split()
    if not all(scope.isprintable() and '"' not in scope and "\\" not in scope for scope in scopes):
        raise ConfigurationError("REMOTE_OAUTH_SCOPES must be space-separated scope names")
    return " ".join(scopes)


__all__ = [
    "ASSERTION_ALGS",
    "DEFAULT_SCOPES",
    "SANDBOX_GATEWAY",
    "Secret",
    "Settings",
    "TokenAuthMethod",
    "is_loopback",
    "is_secure_url",
]
