"""What ``remote-oauth worker`` and ``web`` check before they start: the settings they cannot work without.

``Settings.from_env`` accepts missing credentials on purpose (a company workflow reports ``misconfigured``
and resumes once they are fixed). A process started without them, though, would join the task queue and
fail every gateway call, visible only as tracebacks in its log; it refuses to start instead, naming every
missing setting at once and how to make it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflows.io.settings import Settings
from workflows.types.errors import ConfigurationError

__all__ = ["WEB", "WORKER", "MissingSettingsError", "Requirement", "check", "missing"]


@dataclass(frozen=True)
class Requirement:
    """One setting a process needs."""

    name: str
    """The environment variable(s), as the user sets them."""
    how: str
    """How to get a value."""
    present: Callable[[Settings], bool]


GATEWAY = Requirement(
    "REMOTE_GATEWAY_URL",
    "Remote's gateway, e.g. https://gateway.remote.com (the local sandbox: http://127.0.0.1:8090)",
    lambda s: bool(s.gateway_url),
)
CLIENT_ID = Requirement(
    "REMOTE_CLIENT_ID",
    "the OAuth client id Remote gave you (the sandbox's: remote-oauth-dev)",
    lambda s: bool(s.client_id),
)
CLIENT_SECRET = Requirement(
    "REMOTE_CLIENT_SECRET or REMOTE_CLIENT_SECRET_FILE",
    "that client's secret, or a file holding it (`remote-oauth sandbox` prints the sandbox's)",
    lambda s: s.client_secret is not None,
)
REDIRECT_URI = Requirement(
    "REMOTE_REDIRECT_URI",
    "the redirect URI registered for the client, e.g. http://127.0.0.1:8000/oauth/callback",
    lambda s: bool(s.redirect_uri),
)
CODEC_KEYS = Requirement(
    "REMOTE_OAUTH_CODEC_KEYS or REMOTE_OAUTH_CODEC_KEYS_FILE",
    'make a key with `remote-oauth keygen` (export REMOTE_OAUTH_CODEC_KEYS="$(remote-oauth keygen k1)")',
    lambda s: s.codec_keys is not None,
)
CONNECT_KEYS = Requirement(
    "REMOTE_OAUTH_CONNECT_KEYS or REMOTE_OAUTH_CONNECT_KEYS_FILE",
    "the key of signed connect links, the same wherever links are made: export "
    'REMOTE_OAUTH_CONNECT_KEYS="$(remote-oauth keygen --connect)"',
    lambda s: s.connect_keys is not None,
)
ASSERTION_KEY = Requirement(
    "REMOTE_ASSERTION_KEY_FILE",
    "a PEM private key: REMOTE_ASSERTION_ALG is RS256 or ES256",
    lambda s: s.assertion_alg == "HS256" or s.assertion_key is not None,
)

WORKER: tuple[Requirement, ...] = (GATEWAY, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, CODEC_KEYS, ASSERTION_KEY)
"""The worker calls the gateway (client credentials, redirect URI) and writes encrypted history."""
WEB: tuple[Requirement, ...] = (REDIRECT_URI, CODEC_KEYS, CONNECT_KEYS)
"""The web app serves the callback at the redirect URI's path, reads encrypted workflow results, and checks
signed connect links and browser bindings."""


class MissingSettingsError(ConfigurationError):
    """A process was started without settings it needs; the message names each and how to make it."""


def missing(settings: Settings, needs: tuple[Requirement, ...]) -> list[Requirement]:
    """The requirements ``settings`` does not meet, in the order given."""
    return [need for need in needs if not need.present(settings)]


def check(settings: Settings, needs: tuple[Requirement, ...], process: str) -> None:
    """Refuse to start ``process`` (``worker``, ``web``) without what it needs.

    Raises:
        MissingSettingsError: one or more settings are missing; all of them are named.
    """
    gaps = missing(settings, needs)
    if gaps:
        named = "; ".join(f"{need.name} ({need.how})" for need in gaps)
        raise MissingSettingsError(f"remote-oauth {process} cannot start without {named}")
