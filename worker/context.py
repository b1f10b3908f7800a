"""Building the pieces a process needs from the environment: settings, keyring, Temporal client, API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from temporalio.client import Client
from temporalio.runtime import Runtime

from worker import temporal
from worker.api import RemoteOAuth, TokenCache
from workflows.io.codec import Keyring
from workflows.io.connect_session import ConnectLinks
from workflows.io.settings import Settings
from workflows.types.company import CompanySettings


@dataclass(frozen=True)
class AppContext:
    """Settings and a codec-enabled Temporal client, shared by the CLI, the worker and the web app."""

    settings: Settings
    client: Client

    @cached_property
    def oauth(self) -> RemoteOAuth:
        """One API per context, so its token cache is the process's."""
        return RemoteOAuth(
            self.client,
            task_queue=self.settings.task_queue,
            company_settings=company_settings(self.settings),
            client_id=self.settings.client_id,
            links=ConnectLinks.from_settings(self.settings),
            token_cache=TokenCache(self.settings.token_cache_size),
        )


def company_settings(settings: Settings) -> CompanySettings:
    """A company's defaults from the process settings (what onboard uses unless told otherwise)."""
    return CompanySettings(
        token_task_queue=settings.token_task_queue, consent_wait_seconds=float(settings.consent_wait)
    )


def keyring_from(settings: Settings) -> Keyring | None:
    """The codec keyring of REMOTE_OAUTH_CODEC_KEYS(_FILE), or None when unset."""
    if settings.codec_keys is None:
        return None
    return Keyring.parse(settings.codec_keys.reveal())


async def load(env: Mapping[str, str], *, runtime: Runtime | None = None, lazy: bool = False) -> AppContext:
    """Read settings and connect to Temporal (envconfig), refusing to run without codec keys.

    Raises:
        ConfigurationError: a setting is invalid, or no codec key is configured.
    """
    settings = Settings.from_env(env)
    client = await temporal.connect(keyring_from(settings), env=env, runtime=runtime, lazy=lazy)
    return AppContext(settings=settings, client=client)
