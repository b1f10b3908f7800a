"""`remote-oauth doctor`: settings first, then Temporal, then the gateway and the partner's own endpoints.

A check that needs what an earlier one could not provide is skipped and says so; every check that can
run does, so one run lists every problem.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from worker import preflight
from worker.context import keyring_from
from worker.health import remote_side, temporal_side
from worker.health.report import Check, Status, failed, passed, skipped
from workflows.io.activities import TokenActivities
from workflows.io.codec import Keyring
from workflows.io.settings import Settings
from workflows.types.errors import ConfigurationError

__all__ = ["diagnose"]

_NEEDS = tuple(dict.fromkeys(preflight.WORKER + preflight.WEB))
"""What the worker and the web app refuse to start without, each once."""


def check_settings(env: Mapping[str, str]) -> tuple[Check, Settings | None, Keyring | None]:
    """Every variable parses, the codec keyring too, and nothing the processes need is missing."""
    fix = "correct that variable (docs/settings.md gives each one's format)"
    try:
        settings = Settings.from_env(env)
    except ConfigurationError as err:
        return failed("settings", str(err), fix), None, None
    try:
        keyring = keyring_from(settings)
    except ConfigurationError as err:
        return failed("settings", str(err), fix), settings, None
    gaps = preflight.missing(settings, _NEEDS)
    if gaps:
        named = ", ".join(need.name for need in gaps)
        how = "; ".join(f"{need.name}: {need.how}" for need in gaps)
        return failed("settings", f"missing: {named}", how), settings, keyring
    assert keyring is not None  # CODEC_KEYS is among the needs
    return (
        passed(
            "settings",
            f"parsed; client id {settings.client_id}, {settings.token_auth_method}, codec keys "
            f"{', '.join(keyring.kids)}, connect keys set",
        ),
        settings,
        keyring,
    )


async def diagnose(env: Mapping[str, str]) -> list[Check]:
    """Run every check against the deployment ``env`` describes; never raises for a failed check."""
    first, settings, keyring = check_settings(env)
    checks = [first]
    temporal_check, client = await temporal_side.connect(env, keyring)
    checks.append(temporal_check)
    if client is None:
        checks += temporal_side.not_connected()
    else:
        checks.append(await temporal_side.search_attributes(client))
        if keyring is None or settings is None:
            checks.append(skipped("codec-keys", "needs valid settings with REMOTE_OAUTH_CODEC_KEYS"))
        else:
            checks.append(await temporal_side.codec_sample(client, keyring, settings.task_queue))
    if settings is None:
        for name in ("gateway", "client-credentials", "redirect-uri", "webhook"):
            checks.append(skipped(name, "needs settings that parse"))
        return checks
    async with TokenActivities.http_client(settings) as gateway_http:
        reached = await remote_side.gateway(settings, gateway_http)
        checks.append(reached)
        if reached.status is Status.OK:
            checks.append(await remote_side.client_credentials(settings, gateway_http))
        else:
            checks.append(skipped("client-credentials", "needs the gateway (no grant was sent)"))
    async with httpx.AsyncClient(timeout=settings.http_timeout) as http:
        checks.append(await remote_side.redirect_uri(settings, http))
        checks.append(await remote_side.webhook(settings, http))
    return checks
