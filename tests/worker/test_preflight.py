"""`remote-oauth worker` and `web` refuse to start without the settings they need, naming each one."""

from __future__ import annotations

import pytest

from tests.support.cli import base_env, run
from tests.support.temporal import TEST_KEYS
from worker import preflight
from workflows.io.settings import Settings

COMPLETE = {
    "REMOTE_GATEWAY_URL": "http://127.0.0.1:8090",
    "REMOTE_CLIENT_ID": "remote-oauth-dev",
    "REMOTE_CLIENT_SECRET": "dev-secret-not-for-production",
    "REMOTE_REDIRECT_URI": "http://127.0.0.1:8000/oauth/callback",
    "REMOTE_OAUTH_CODEC_KEYS": TEST_KEYS,
    "REMOTE_OAUTH_CONNECT_KEYS": "connect-key-for-tests-only-0123456789abcdef",
}


def test_complete_settings_pass() -> None:
    """Everything set: neither process has anything missing."""
    settings = Settings.from_env(COMPLETE)
    assert preflight.missing(settings, preflight.WORKER) == []
    assert preflight.missing(settings, preflight.WEB) == []
    preflight.check(settings, preflight.WORKER, "worker")


def test_the_worker_names_every_missing_setting() -> None:
    """With nothing set, the worker's refusal names each setting it needs and how to make it, in one line."""
    with pytest.raises(preflight.MissingSettingsError) as err:
        preflight.check(Settings.from_env({}), preflight.WORKER, "worker")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("remote-oauth worker cannot start without REMOTE_CLIENT_ID (")
    for named in (
        "REMOTE_CLIENT_SECRET or REMOTE_CLIENT_SECRET_FILE (",
        "REMOTE_REDIRECT_URI (",
        "REMOTE_OAUTH_CODEC_KEYS or REMOTE_OAUTH_CODEC_KEYS_FILE (make a key with `remote-oauth keygen`",
    ):
        assert named in message
    assert "REMOTE_GATEWAY_URL" not in message  # it has a default
    assert "REMOTE_ASSERTION_KEY_FILE" not in message  # HS256 needs no key


def test_only_what_is_missing_is_named() -> None:
    """One missing setting is the only one named; the web app needs no client credentials."""
    settings = Settings.from_env({k: v for k, v in COMPLETE.items() if k != "REMOTE_CLIENT_SECRET"})
    assert [need.name for need in preflight.missing(settings, preflight.WORKER)] == [
        "REMOTE_CLIENT_SECRET or REMOTE_CLIENT_SECRET_FILE"
    ]
    web_only = Settings.from_env(
        {
            "REMOTE_OAUTH_CODEC_KEYS": TEST_KEYS,
            "REMOTE_OAUTH_CONNECT_KEYS": COMPLETE["REMOTE_OAUTH_CONNECT_KEYS"],
        }
    )
    assert [need.name for need in preflight.missing(web_only, preflight.WEB)] == ["REMOTE_REDIRECT_URI"]
    rs256 = Settings.from_env({**COMPLETE, "REMOTE_ASSERTION_ALG": "RS256"})
    assert [need.name for need in preflight.missing(rs256, preflight.WORKER)] == ["REMOTE_ASSERTION_KEY_FILE"]


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (
            "worker",
            [
                "REMOTE_CLIENT_ID",
                "REMOTE_CLIENT_SECRET or REMOTE_CLIENT_SECRET_FILE",
                "REMOTE_REDIRECT_URI",
                "REMOTE_OAUTH_CODEC_KEYS or REMOTE_OAUTH_CODEC_KEYS_FILE",
            ],
        ),
        (
            "web",
            [
                "REMOTE_REDIRECT_URI",
                "REMOTE_OAUTH_CODEC_KEYS or REMOTE_OAUTH_CODEC_KEYS_FILE",
                "REMOTE_OAUTH_CONNECT_KEYS or REMOTE_OAUTH_CONNECT_KEYS_FILE",
            ],
        ),
    ],
)
async def test_the_processes_refuse_to_start(command: str, named: list[str]) -> None:
    """The real commands exit 1 with one line naming each missing setting, before reaching Temporal."""
    done = await run(command, env=base_env(TEMPORAL_ADDRESS="127.0.0.1:1"))
    assert done.code == 1
    lines = done.err.splitlines()
    assert len(lines) == 1, done.err
    assert lines[0].startswith(f"error: remote-oauth {command} cannot start without ")
    shown = [part.split(" (")[0] for part in lines[0].split(" cannot start without ")[1].split("; ")]
    assert shown == named
