"""Settings.from_env: defaults, validation naming the variable, secrets that never print."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from worker.runner import options_from
from workflows.io.connect_session import ConnectLinks
from workflows.io.settings import DEFAULT_SCOPES, Secret, Settings, TokenAuthMethod
from workflows.io.settings_vars import Variable, declared, render
from workflows.types.errors import ConfigurationError


def test_defaults_from_an_empty_environment() -> None:
    """Nothing set: the spec's sandbox gateway, no credentials, the documented defaults."""
    settings = Settings.from_env({})
    assert settings == Settings(
        gateway_url="https://gateway.remote-sandbox.com",
        client_id=None,
        client_secret=None,
        redirect_uri=None,
        token_auth_method=TokenAuthMethod.CLIENT_SECRET_POST,
        assertion_alg="HS256",
        assertion_key=None,
        assertion_audience="https://gateway.remote-sandbox.com/auth",
        assertion_lifetime=300,
        http_timeout=10.0,
        default_token_lifetime=3600,
        codec_keys=None,
        webhook_url=None,
        webhook_secret=None,
        task_queue="remote-oauth",
        token_task_queue="remote-oauth-token-endpoint",
        scopes=DEFAULT_SCOPES,
        state_ttl=900,
    )


def test_every_variable_is_read(tmp_path: Path) -> None:
    """Each documented variable lands in its field."""
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n")
    settings = Settings.from_env(
        {
            "REMOTE_GATEWAY_URL": "http://127.0.0.1:8123/",
            "REMOTE_CLIENT_ID": "client-1",
            "REMOTE_CLIENT_SECRET": "s3cret",
            "REMOTE_REDIRECT_URI": "https://partner.example/cb?x=1",
            "REMOTE_TOKEN_AUTH_METHOD": "client_secret_basic",
            "REMOTE_ASSERTION_ALG": "RS256",
            "REMOTE_ASSERTION_KEY_FILE": str(key),
            "REMOTE_ASSERTION_LIFETIME": "120",
            "REMOTE_HTTP_TIMEOUT": "2.5",
            "REMOTE_DEFAULT_TOKEN_LIFETIME": "600",
            "REMOTE_OAUTH_CODEC_KEYS": "k1:abc",
            "REMOTE_OAUTH_WEBHOOK_URL": "https://partner.example/hook",
            "REMOTE_OAUTH_WEBHOOK_SECRET": "hook-secret",
            "REMOTE_OAUTH_TASK_QUEUE": "q1",
            "REMOTE_OAUTH_TOKEN_TASK_QUEUE": "q2",
            "REMOTE_OAUTH_SCOPES": "  company:read   magic_link:write ",
            "REMOTE_OAUTH_STATE_TTL": "60",
            "REMOTE_OAUTH_TOKEN_RATE_PER_MINUTE": "150.5",
            "REMOTE_OAUTH_MAX_CACHED_WORKFLOWS": "20000",
        }
    )
    assert settings.gateway_url == "http://127.0.0.1:8123"
    assert settings.assertion_audience == "http://127.0.0.1:8123/auth"
    assert settings.client_id == "client-1"
    assert settings.client_secret == Secret("s3cret")
    assert settings.redirect_uri == "https://partner.example/cb?x=1"
    assert settings.token_auth_method is TokenAuthMethod.CLIENT_SECRET_BASIC
    assert settings.assertion_alg == "RS256"
    assert settings.assertion_key is not None
    assert settings.assertion_key.reveal().startswith("-----BEGIN PRIVATE KEY-----")
    assert (settings.assertion_lifetime, settings.http_timeout, settings.default_token_lifetime) == (
        120,
        2.5,
        600,
    )
    assert settings.codec_keys == Secret("k1:abc")
    assert settings.webhook_url == "https://partner.example/hook"
    assert settings.webhook_secret == Secret("hook-secret")
    assert (settings.task_queue, settings.token_task_queue) == ("q1", "q2")
    assert settings.scopes == "company:read magic_link:write"
    assert settings.state_ttl == 60
    assert (settings.token_rate_per_minute, settings.max_cached_workflows) == (150.5, 20_000)
    opts = options_from(settings)
    assert (opts.token_requests_per_minute, opts.max_cached_workflows) == (150.5, 20_000)


def test_secret_files_are_read_and_stripped(tmp_path: Path) -> None:
    """``*_FILE`` variants read the file (trailing newline dropped)."""
    secret, keys = tmp_path / "secret", tmp_path / "keys"
    secret.write_text("from-file\n")
    keys.write_text("k1:xyz\n")
    settings = Settings.from_env(
        {"REMOTE_CLIENT_SECRET_FILE": str(secret), "REMOTE_OAUTH_CODEC_KEYS_FILE": str(keys)}
    )
    assert settings.client_secret == Secret("from-file")
    assert settings.codec_keys == Secret("k1:xyz")


def test_secrets_never_print() -> None:
    """repr/str of the settings and of a Secret show no secret value."""
    settings = Settings.from_env(
        {
            "REMOTE_CLIENT_SECRET": "very-secret-value",
            "REMOTE_OAUTH_WEBHOOK_SECRET": "hook-secret-value",
            "REMOTE_OAUTH_CODEC_KEYS": "k1:codec-secret-value",
        }
    )
    for text in (repr(settings), str(settings), f"{settings.client_secret}"):
        assert "secret-value" not in text
    assert settings.client_secret is not None
    assert settings.client_secret.reveal() == "very-secret-value"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REMOTE_GATEWAY_URL": "http://gateway.remote.com"}, "REMOTE_GATEWAY_URL"),
        ({"REMOTE_GATEWAY_URL": "ftp://127.0.0.1"}, "REMOTE_GATEWAY_URL"),
        ({"REMOTE_GATEWAY_URL": "https://gw.example/?q=1"}, "REMOTE_GATEWAY_URL"),
        ({"REMOTE_TOKEN_AUTH_METHOD": "private_key_jwt"}, "REMOTE_TOKEN_AUTH_METHOD"),
        ({"REMOTE_ASSERTION_ALG": "none"}, "REMOTE_ASSERTION_ALG"),
        ({"REMOTE_ASSERTION_LIFETIME": "601"}, "REMOTE_ASSERTION_LIFETIME"),
        ({"REMOTE_HTTP_TIMEOUT": "0"}, "REMOTE_HTTP_TIMEOUT"),
        ({"REMOTE_HTTP_TIMEOUT": "nan"}, "REMOTE_HTTP_TIMEOUT"),
        ({"REMOTE_HTTP_TIMEOUT": "26"}, "REMOTE_HTTP_TIMEOUT"),
        ({"REMOTE_DEFAULT_TOKEN_LIFETIME": "-1"}, "REMOTE_DEFAULT_TOKEN_LIFETIME"),
        ({"REMOTE_DEFAULT_TOKEN_LIFETIME": "1h"}, "REMOTE_DEFAULT_TOKEN_LIFETIME"),
        ({"REMOTE_OAUTH_STATE_TTL": "0"}, "REMOTE_OAUTH_STATE_TTL"),
        ({"REMOTE_OAUTH_MAX_CACHED_WORKFLOWS": "0"}, "REMOTE_OAUTH_MAX_CACHED_WORKFLOWS"),
        ({"REMOTE_OAUTH_MAX_CACHED_WORKFLOWS": "1e3"}, "REMOTE_OAUTH_MAX_CACHED_WORKFLOWS"),
        ({"REMOTE_REDIRECT_URI": "/callback"}, "REMOTE_REDIRECT_URI"),
        ({"REMOTE_REDIRECT_URI": "https://p.example/cb#frag"}, "REMOTE_REDIRECT_URI"),
        ({"REMOTE_REDIRECT_URI": "http://partner.example/oauth/callback"}, "REMOTE_REDIRECT_URI"),
        ({"REMOTE_OAUTH_PUBLIC_URL": "http://partner.example"}, "REMOTE_OAUTH_PUBLIC_URL"),
        ({"REMOTE_OAUTH_PUBLIC_URL": "https://partner.example/?x=1"}, "REMOTE_OAUTH_PUBLIC_URL"),
        ({"REMOTE_OAUTH_CONNECT_TTL": "0"}, "REMOTE_OAUTH_CONNECT_TTL"),
        ({"REMOTE_OAUTH_CONSENT_WAIT": "forever"}, "REMOTE_OAUTH_CONSENT_WAIT"),
        ({"REMOTE_OAUTH_WEBHOOK_URL": "http://partner.example/hook"}, "REMOTE_OAUTH_WEBHOOK_URL"),
        ({"REMOTE_CLIENT_SECRET": "a", "REMOTE_CLIENT_SECRET_FILE": "/x"}, "REMOTE_CLIENT_SECRET"),
        ({"REMOTE_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "REMOTE_CLIENT_SECRET_FILE"),
        ({"REMOTE_ASSERTION_KEY_FILE": "/nonexistent/key.pem"}, "REMOTE_ASSERTION_KEY_FILE"),
    ],
)
def test_invalid_values_name_their_variable(env: dict[str, str], named: str) -> None:
    """Every invalid value raises ConfigurationError whose message names the variable."""
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env(env)
    assert named in str(err.value)


def test_secret_values_stay_out_of_errors() -> None:
    """A bad value next to a secret never echoes the secret."""
    with pytest.raises(ConfigurationError) as err:
        Settings.from_env({"REMOTE_CLIENT_SECRET": "hunter2-secret", "REMOTE_CLIENT_SECRET_FILE": "/x"})
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    "url", ["http://localhost:8000", "http://127.0.0.2:1", "http://[::1]:9000", "https://gateway.remote.com"]
)
def test_loopback_http_and_any_https_are_accepted(url: str) -> None:
    """Plain http only to loopback hosts."""
    assert Settings.from_env({"REMOTE_GATEWAY_URL": url}).gateway_url == url


def test_redirect_uri_is_kept_byte_for_byte() -> None:
    """No normalisation: the exchange must send exactly what was registered."""
    uri = "https://partner.example/oauth/callback/?tenant=a%2Fb&x="
    assert Settings.from_env({"REMOTE_REDIRECT_URI": uri}).redirect_uri == uri


def test_empty_values_count_as_unset() -> None:
    """An exported-but-empty variable falls back to its default."""
    settings = Settings.from_env(
        {"REMOTE_CLIENT_ID": "", "REMOTE_HTTP_TIMEOUT": " ", "REMOTE_OAUTH_TASK_QUEUE": ""}
    )
    assert (settings.client_id, settings.http_timeout, settings.task_queue) == (None, 10.0, "remote-oauth")


def test_connect_links_default_to_the_redirect_uri_origin() -> None:
    """Connect links live on the web app: the redirect URI's origin unless REMOTE_OAUTH_PUBLIC_URL says;
    the binding cookie is Secure except for a loopback http redirect URI; keys are at least 32 characters."""
    key = "k" * 32
    base = {"REMOTE_OAUTH_CONNECT_KEYS": key, "REMOTE_REDIRECT_URI": "https://partner.example/oauth/cb"}
    links = ConnectLinks.from_settings(Settings.from_env(base))
    assert links is not None
    assert (links.public_url, links.secure_cookie, links.ttl_seconds) == (
        "https://partner.example",
        True,
        604800,
    )
    url, _ = links.link("acme")
    assert url.startswith("https://partner.example/connect/acme?session=v1.")
    moved = Settings.from_env({**base, "REMOTE_OAUTH_PUBLIC_URL": "https://app.partner.example/oauth/"})
    assert ConnectLinks.from_settings(moved) is not None
    assert ConnectLinks.from_settings(moved).public_url == "https://app.partner.example/oauth"  # type: ignore[union-attr]
    local = Settings.from_env({**base, "REMOTE_REDIRECT_URI": "http://127.0.0.1:8000/oauth/callback"})
    assert ConnectLinks.from_settings(local).secure_cookie is False  # type: ignore[union-attr]
    assert ConnectLinks.from_settings(Settings.from_env({})) is None
    with pytest.raises(ConfigurationError, match="REMOTE_OAUTH_CONNECT_KEYS key 1 is shorter than 32"):
        ConnectLinks.from_settings(Settings.from_env({**base, "REMOTE_OAUTH_CONNECT_KEYS": "short"}))


def test_token_cache_size_sizes_the_apis_cache() -> None:
    """REMOTE_OAUTH_TOKEN_CACHE_SIZE: 10,000 grants by default, a positive whole number otherwise."""
    assert Settings.from_env({}).token_cache_size == 10_000
    assert Settings.from_env({"REMOTE_OAUTH_TOKEN_CACHE_SIZE": "250"}).token_cache_size == 250
    for bad in ("0", "-5", "1e3", "many"):
        with pytest.raises(ConfigurationError, match="REMOTE_OAUTH_TOKEN_CACHE_SIZE"):
            Settings.from_env({"REMOTE_OAUTH_TOKEN_CACHE_SIZE": bad})


def test_unset_variables_take_their_declared_defaults() -> None:
    """``from_env`` of an empty environment is the dataclass's own defaults: one default per setting."""
    assert Settings.from_env({}) == Settings()


def test_every_field_is_declared_with_its_variable() -> None:
    """Each field names a distinct variable; a field declared without one is refused."""
    variables = declared(Settings)
    assert list(variables) == [item.name for item in dataclasses.fields(Settings)]
    names = [name for variable in variables.values() for name in variable.names]
    assert len(names) == len(set(names))

    @dataclasses.dataclass(frozen=True)
    class Bare:
        plain: int = 1

    with pytest.raises(TypeError, match=r"Bare\.plain is not declared with setting\(\)"):
        declared(Bare)


def test_the_rendered_row_shows_names_default_and_limit() -> None:
    """A row names the variable (and its ``_FILE`` variant), the default (days spelt out) and the limit."""
    rows = render(
        [
            Variable("REMOTE_X", "seconds of x", default=7 * 86400, maximum=90 * 86400),
            Variable("REMOTE_Y", "the y key", file_variant=True),
            Variable("REMOTE_Z", "zs per minute", default=2.5, maximum=100_000, unit="requests"),
        ]
    ).splitlines()
    assert rows[2:] == [
        "| `REMOTE_X` | `604800` (7 days) | seconds of x; at most 90 days |",
        "| `REMOTE_Y` or `REMOTE_Y_FILE` | none | the y key |",
        "| `REMOTE_Z` | `2.5` | zs per minute; at most 100,000 requests |",
    ]
