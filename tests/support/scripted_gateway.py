"""Running one activity in an ActivityEnvironment against a scripted gateway (``httpx.MockTransport``)
that answers in order and records what it was sent; the activities' clock is fixed at ``NOW``."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from temporalio.common import MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from workflows.io.activities import TokenActivities
from workflows.io.settings import Settings

__all__ = [
    "CLIENT_SECRET",
    "COMPANY",
    "ENV",
    "NOW",
    "TOKEN",
    "USER",
    "Gateway",
    "Handler",
    "fails",
    "ok",
    "run",
]

NOW = datetime(2026, 5, 22, 12, 0, tzinfo=UTC)
CLIENT_SECRET = "s3cr:et/&+ with spaces"
COMPANY = "6f1c1e8a-3b0e-4c53-9f5e-2d7f3a9b8c10"
USER = "0b5a3c2e-1f4d-4e6a-9b7c-8d9e0f1a2b3c"
ENV = {
    "REMOTE_GATEWAY_URL": "https://gateway.test",
    "REMOTE_CLIENT_ID": "client:1",
    "REMOTE_CLIENT_SECRET": CLIENT_SECRET,
    "REMOTE_REDIRECT_URI": "https://partner.test/oauth/callback?tenant=a%2Fb",
    "REMOTE_HTTP_TIMEOUT": "0.5",
}
TOKEN = {"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "scope": "company:read"}

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class Gateway:
    """A scripted gateway: answers in order, records what it was sent."""

    def __init__(self, *responses: httpx.Response | Exception | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        """Record ``request`` and give the next answer (raise it, when it is an exception)."""
        self.requests.append(request)
        await request.aread()
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return await answer(request)
        return answer

    def form(self, index: int = -1) -> dict[str, str]:
        """The form body of a request it was sent (the last by default)."""
        return {k: v[0] for k, v in parse_qs(self.requests[index].content.decode()).items()}


async def run(
    method: str,
    arg: object,
    *responses: httpx.Response | Exception | Handler,
    env: dict[str, str] | None = None,
    attempt: int = 1,
    gateway: Gateway | None = None,
    beats: list[tuple[object, ...]] | None = None,
    meter: MetricMeter | None = None,
) -> tuple[Any, Gateway]:
    """Run one activity method in an ActivityEnvironment against a scripted gateway (heartbeats to ``beats``,
    metrics to ``meter``)."""
    gateway = gateway or Gateway(*responses)
    settings = Settings.from_env(ENV if env is None else env)
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(gateway), base_url=settings.gateway_url, follow_redirects=False
    ) as http:
        acts = TokenActivities(settings, http, clock=lambda: NOW)
        activity_env = ActivityEnvironment()
        activity_env.info = dataclasses.replace(activity_env.info, attempt=attempt)
        if meter is not None:
            activity_env.metric_meter = meter
        if beats is not None:
            activity_env.on_heartbeat = lambda *details: beats.append(details)
        result = await activity_env.run(getattr(acts, method), arg)
    return result, gateway


async def fails(
    method: str, arg: object, *responses: httpx.Response | Exception | Handler, **kwargs: Any
) -> tuple[ApplicationError, Gateway]:
    """Run an activity that must fail; the error and what the gateway saw."""
    gateway = Gateway(*responses)
    with pytest.raises(ApplicationError) as err:
        await run(method, arg, gateway=gateway, **kwargs)
    return err.value, gateway


def ok(body: object = TOKEN, headers: dict[str, str] | None = None) -> httpx.Response:
    """A 200 with a JSON body (a token response by default)."""
    return httpx.Response(200, json=body, headers=headers)
