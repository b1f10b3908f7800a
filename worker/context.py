"""Building the pieces a process needs from the environment: settings, keyring, Temporal client, API."""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NoReturn

from temporalio.client import Client
from temporalio.runtime import Runtime

from worker import temporal
from worker.api import RemoteOAuth, TokenCache
from worker.shutdown import exit_process
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


def run(main: Callable[[], Awaitable[None]]) -> NoReturn:
    """Run a script's ``async def main()`` and end the process with its exit code (0, 1 on an exception).

    Use it instead of ``asyncio.run(main())`` in a short-lived script that uses the API: the Temporal client's
    runtime threads can crash an interpreter that finalizes normally (temporalio/sdk-python#300), turning a
    correct run into exit code 134. A long-lived app (a web server, the worker) is not affected.
    """
    code = 0
    try:
        asyncio.run(_awaited(main))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if isinstance(stop.code, str):
            print(stop.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except Exception:
        traceback.print_exc()
        code = 1
    exit_process(code)


async def _awaited(main: Callable[[], Awaitable[None]]) -> None:
    await main()
