"""The settings every process reads from its environment, declared once; secrets stay wrapped until used.

Each field names its variable, default, limit and meaning (``settings_vars.setting``): docs/settings.md's
table is rendered from these declarations (``scripts/settings_doc``) and a test fails when the two differ.
Empty values count as unset. Missing credentials do not stop ``from_env``: the activity that needs one fails
with ``Misconfigured`` naming the variable, so the company workflows show the problem and resume once fixed
(``worker.preflight`` is what refuses to start a process without them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from workflows.io import settings_read as read
from workflows.io.settings_read import EnvReader, is_loopback, is_secure_url
from workflows.io.settings_vars import declared, setting
from workflows.options import MAX_HTTP_TIMEOUT_SECONDS
from workflows.types.errors import ConfigurationError

SANDBOX_GATEWAY = "https://gateway.remote-sandbox.com"
"""The seed spec's sandbox server."""
DEFAULT_SCOPES = "company:read company:write employment:read employment:write magic_link:write"
ASSERTION_ALGS = ("HS256", "RS256", "ES256")
MAX_ASSERTION_LIFETIME = 600
"""Remote refuses an assertion whose ``exp`` is more than ten minutes ahead."""
_DAY = 86400


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
    """Everything the processes need from the environment; built by ``from_env`` (see docs/settings.md)."""

    gateway_url: str = setting(
        "REMOTE_GATEWAY_URL", SANDBOX_GATEWAY, "Remote's gateway; `http://` only to loopback"
    )
    """Without a trailing slash."""
    client_id: str | None = setting("REMOTE_CLIENT_ID", None, "your OAuth client id")
    client_secret: Secret | None = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_CLIENT_SECRET", None, "your client secret, or a file holding it", file_variant=True
    )
    redirect_uri: str | None = setting(
        "REMOTE_REDIRECT_URI",
        None,
        "your registered redirect URI, sent byte for byte; its path is the web app's callback; https, or "
        "http to loopback",
    )
    token_auth_method: TokenAuthMethod = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_TOKEN_AUTH_METHOD",
        TokenAuthMethod.CLIENT_SECRET_POST,
        "or `client_secret_basic` (what the live gateway wants)",
    )
    assertion_alg: str = setting(
        "REMOTE_ASSERTION_ALG",
        "HS256",
        "JWT assertions: `HS256` with the client secret, or `RS256`/`ES256` with a key",
    )
    assertion_key: Secret | None = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_ASSERTION_KEY_FILE", None, "a PEM private key file for `RS256`/`ES256`"
    )
    """PEM private key text for RS256/ES256."""
    assertion_audience: str = setting(
        "REMOTE_ASSERTION_AUDIENCE",
        f"{SANDBOX_GATEWAY}/auth",
        "`aud` of assertions",
        shown="`{REMOTE_GATEWAY_URL}/auth`",
    )
    assertion_lifetime: int = setting(
        "REMOTE_ASSERTION_LIFETIME", 300, "seconds from `iat` to `exp`", maximum=MAX_ASSERTION_LIFETIME
    )
    http_timeout: float = setting(
        "REMOTE_HTTP_TIMEOUT", 10.0, "seconds one HTTP request may take", maximum=MAX_HTTP_TIMEOUT_SECONDS
    )
    default_token_lifetime: int = setting(
        "REMOTE_DEFAULT_TOKEN_LIFETIME",
        3600,
        "seconds assumed when a token response has no `expires_in` (logged as a warning)",
        maximum=366 * _DAY,
    )
    codec_keys: Secret | None = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_OAUTH_CODEC_KEYS",
        None,
        "payload codec keys, `kid:base64key` entries: the first encrypts, all decrypt (`remote-oauth keygen`)",
        shown="none (required by every process that talks to Temporal)",
        file_variant=True,
    )
    webhook_url: str | None = setting(
        "REMOTE_OAUTH_WEBHOOK_URL",
        None,
        "where company events are POSTed; https, or http to loopback",
        shown="none (events are only logged)",
    )
    webhook_secret: Secret | None = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_OAUTH_WEBHOOK_SECRET", None, "HMAC-SHA256 key of the `X-Remote-OAuth-Signature` header"
    )
    task_queue: str = setting("REMOTE_OAUTH_TASK_QUEUE", "remote-oauth", "task queue of the workflows")
    token_task_queue: str = setting(
        "REMOTE_OAUTH_TOKEN_TASK_QUEUE",
        "remote-oauth-token-endpoint",
        "task queue of every gateway call (rate limited fleet-wide)",
    )
    scopes: str = setting("REMOTE_OAUTH_SCOPES", DEFAULT_SCOPES, "scopes a connect link asks for")
    state_ttl: int = setting(
        "REMOTE_OAUTH_STATE_TTL",
        900,
        "seconds a consent `state` (the authorize request's) is accepted",
        maximum=7 * _DAY,
    )
    token_rate_per_minute: float = setting(
        "REMOTE_OAUTH_TOKEN_RATE_PER_MINUTE",
        200.0,
        "fleet-wide gateway calls per minute (Remote allows 250 per client id)",
        maximum=100_000,
        unit="requests",
    )
    """Gateway calls per minute for the whole fleet (Temporal enforces it on the token task queue)."""
    max_cached_workflows: int = setting(
        "REMOTE_OAUTH_MAX_CACHED_WORKFLOWS",
        1000,
        "workflows one worker keeps in memory (~0.1 MB each); others replay from history at their next task",
        maximum=1_000_000,
        unit="workflows",
    )
    """A company beyond it is replayed from its history at its next refresh: CPU instead of memory."""
    token_cache_size: int = setting(
        "REMOTE_OAUTH_TOKEN_CACHE_SIZE",
        10_000,
        "tokens one process's API keeps in memory (never on disk), least recently used dropped first",
        maximum=10_000_000,
        unit="tokens",
    )
    """Grants one process's ``RemoteOAuth`` keeps (``worker.api.token_cache``): a hit costs no Temporal call."""
    connect_keys: Secret | None = setting(  # noqa: RUF009 - a Field whose default is immutable
        "REMOTE_OAUTH_CONNECT_KEYS",
        None,
        "HMAC keys of connect links and browser bindings, current first, the same in every process "
        "(`remote-oauth keygen --connect`; at least 32 characters)",
        shown="none (required by `web`; without it `onboard` makes no link)",
        file_variant=True,
    )
    """HMAC keys of connect sessions and browser bindings (``workflows.io.connect_session``), current first."""
    connect_ttl: int = setting(
        "REMOTE_OAUTH_CONNECT_TTL", 7 * _DAY, "seconds a connect link is valid", maximum=90 * _DAY
    )
    public_url: str | None = setting(
        "REMOTE_OAUTH_PUBLIC_URL",
        None,
        "where customers reach the web app (connect links point there); https, or http to loopback",
        shown="the origin of `REMOTE_REDIRECT_URI`",
    )
    """The web app's public base URL; None: the origin of ``redirect_uri``."""
    consent_wait: int = setting(
        "REMOTE_OAUTH_CONSENT_WAIT",
        30 * _DAY,
        "seconds a company nobody consents to waits before it ends as `expired`",
        maximum=366 * _DAY,
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Read and validate every setting.

        Raises:
            ConfigurationError: a value is invalid; the message names the variable (never the value of a
                secret).
        """
        get = EnvReader(env, declared(cls))
        gateway = read.gateway_url(get.name("gateway_url"), get.text("gateway_url") or SANDBOX_GATEWAY)
        alg = get.text("assertion_alg") or cls.assertion_alg
        if alg not in ASSERTION_ALGS:
            raise ConfigurationError(
                f"{get.name('assertion_alg')} must be one of {', '.join(ASSERTION_ALGS)}"
            )
        try:
            auth_method = TokenAuthMethod(get.text("token_auth_method") or cls.token_auth_method)
        except ValueError:
            raise ConfigurationError(
                f"{get.name('token_auth_method')} must be client_secret_post or client_secret_basic"
            ) from None
        return cls(
            gateway_url=gateway,
            client_id=get.text("client_id"),
            client_secret=_secret(get.text("client_secret")),
            redirect_uri=read.redirect_uri(get.name("redirect_uri"), get.raw("redirect_uri")),
            token_auth_method=auth_method,
            assertion_alg=alg,
            assertion_key=_secret(get.file("assertion_key")),
            assertion_audience=get.text("assertion_audience") or f"{gateway}/auth",
            assertion_lifetime=get.whole("assertion_lifetime"),
            http_timeout=get.number("http_timeout", integer=False),
            default_token_lifetime=get.whole("default_token_lifetime"),
            codec_keys=_secret(get.text("codec_keys")),
            webhook_url=read.webhook_url(get.name("webhook_url"), get.text("webhook_url")),
            webhook_secret=_secret(get.text("webhook_secret")),
            task_queue=get.text("task_queue") or cls.task_queue,
            token_task_queue=get.text("token_task_queue") or cls.token_task_queue,
            scopes=read.scopes(get.name("scopes"), get.text("scopes"), cls.scopes),
            state_ttl=get.whole("state_ttl"),
            token_rate_per_minute=get.number("token_rate_per_minute", integer=False),
            max_cached_workflows=get.whole("max_cached_workflows"),
            token_cache_size=get.whole("token_cache_size"),
            connect_keys=_secret(get.text("connect_keys")),
            connect_ttl=get.whole("connect_ttl"),
            public_url=read.public_url(get.name("public_url"), get.text("public_url")),
            consent_wait=get.whole("consent_wait"),
        )


def _secret(value: str | None) -> Secret | None:
    return None if value is None else Secret(value)


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
