"""Scenarios (1)-(4): token exchange, onboarding latency, throughput and token use, each beside its floor.

Every timed section holds only the operation being compared; codes, consent and workflow starts are
prepared before the stopwatch starts.
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import uuid
import warnings
from collections.abc import Awaitable, Callable, Sequence

import httpx
from temporalio.testing import ActivityEnvironment

from bench.figures import Figure, stopwatch
from bench.floor import FloorWorkflow, Nothing
from bench.stack import REDIRECT_URI, Stack, fresh_code, settings_for
from sandbox.contract import load_contract
from workflows.io.activities import TokenActivities
from workflows.types.activity import ExchangeCodeInput
from workflows.types.company import Callback, FreshnessRequest
from workflows.types.kept_token import token_digest
from workflows.types.tokens import TokenGrant

SPEC = load_contract()
"""Paths and methods as the specs in openapi/ put them (never hard-coded: a spec bump moves them)."""

__all__ = ["exchange", "onboarding", "throughput", "token_use"]

Timed = Callable[[], Awaitable[float]]


def _authlib_client(stack: Stack) -> httpx.AsyncClient | None:
    """Authlib's httpx client, or None when Authlib is not installed (the peer is then unavailable)."""
    try:
        with warnings.catch_warnings():
            # Authlib 1.9 warns that its httpx integration will move to httpx2; it still works on httpx.
            # authlib.deprecate installs an "always" filter on import; import it first, then silence it.
            import authlib.deprecate  # type: ignore[import-untyped]  # noqa: PLC0415, F401 - optional

            warnings.simplefilter("ignore")
            from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]  # noqa: PLC0415
                AsyncOAuth2Client,
            )
    except ImportError:
        return None
    config = stack.sandbox.store.initial_config
    client: httpx.AsyncClient = AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        redirect_uri=REDIRECT_URI,
    )
    return client


async def exchange(stack: Stack, samples: int) -> list[Figure]:
    """(1) One code exchange: our activity vs a raw httpx POST vs Authlib's ``fetch_token``.

    Our activity runs in Temporal's ``ActivityEnvironment`` (its context set-up costs about 0.15 ms here);
    Authlib runs in it too, as an activity using it would, so that ratio compares the two token clients.
    The raw POST runs bare: the floor pays no harness.
    """
    settings = settings_for(stack.sandbox)
    url = f"{stack.sandbox.url}{SPEC.token.path}"
    config = stack.sandbox.store.initial_config
    async with TokenActivities.http_client(settings) as activity_http, httpx.AsyncClient() as raw:
        acts = TokenActivities(settings, activity_http)
        env = ActivityEnvironment()

        async def ours() -> float:
            code = fresh_code(stack.sandbox)
            start = stopwatch()
            await env.run(acts.exchange_code, ExchangeCodeInput(code=code))
            return stopwatch() - start

        async def floor() -> float:
            form = {
                "grant_type": "authorization_code",
                "code": fresh_code(stack.sandbox),
                "redirect_uri": REDIRECT_URI,
                "client_id": config.client_id,
                "client_secret": config.client_secret,
            }
            start = stopwatch()
            response = await raw.post(url, data=form)
            response.raise_for_status()
            response.json()
            return stopwatch() - start

        peer_client = _authlib_client(stack)
        # Warm every client's connection once, so no side pays for a TCP handshake in its median.
        for warm in (ours, floor):
            await warm()
        figures = []
        ours_ms, floor_ms = await _interleaved(samples, ours, floor)
        figures.append(
            Figure("(1) token exchange: activity vs raw httpx", ours_ms, floor_ms, "ms", "httpx", 1.3)
        )
        if peer_client is None:
            figures.append(
                Figure(
                    "(1) token exchange: activity vs Authlib",
                    ours_ms,
                    float("nan"),
                    "ms",
                    "Authlib",
                    1.0,
                    note="Authlib is not installed: the peer is unavailable",
                )
            )
            return figures
        async with peer_client as peer:

            async def authlib() -> float:
                code = fresh_code(stack.sandbox)
                start = stopwatch()
                # In the same harness as our activity: the peer is measured as an activity's token client.
                await env.run(peer.fetch_token, url, code=code, grant_type="authorization_code")  # type: ignore[attr-defined]
                return stopwatch() - start

            await authlib()
            ours_ms, peer_ms = await _interleaved(samples, ours, authlib)
        figures.append(
            Figure("(1) token exchange: activity vs Authlib", ours_ms, peer_ms, "ms", "Authlib", 1.0)
        )
        return figures


async def _interleaved(samples: int, first: Timed, second: Timed) -> tuple[float, float]:
    """Medians of both, measured in alternation so drift on a shared machine hits both alike."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(samples):
        a.append(await first())
        b.append(await second())

    return statistics.median(a) * 1000.0, statistics.median(b) * 1000.0


async def _start_floor(stack: Stack) -> Callable[[], Awaitable[None]]:
    """A started floor workflow (untimed); the returned call signals it and waits for its end (timed)."""
    handle = await stack.client.start_workflow(
        FloorWorkflow.run, Nothing(), id=f"bench-floor-{uuid.uuid4()}", task_queue=f"{stack.task_queue}-floor"
    )

    async def finish() -> None:
        await handle.signal(FloorWorkflow.callback, Nothing())
        await handle.result()

    return finish


async def _start_ours(stack: Stack) -> Callable[[], Awaitable[None]]:
    """An onboarded company with its approved callback (untimed); the call delivers it and takes a token."""
    ref = f"bench-{uuid.uuid4().hex[:16]}"
    callback: Callback = await stack.approve(await stack.oauth.onboard(ref))

    async def finish() -> None:
        await stack.oauth.complete_consent(callback)
        await stack.oauth.token(ref)

    return finish


def _timing(prepare: Callable[[Stack], Awaitable[Callable[[], Awaitable[None]]]], stack: Stack) -> Timed:
    async def once() -> float:
        finish = await prepare(stack)
        start = stopwatch()
        await finish()
        return stopwatch() - start

    return once


async def onboarding(stack: Stack, samples: int) -> list[Figure]:
    """(2) Callback received to token available, vs signal to result of the bare workflow."""
    ours, floor = _timing(_start_ours, stack), _timing(_start_floor, stack)
    await ours()
    await floor()
    ours_ms, floor_ms = await _interleaved(samples, ours, floor)
    return [Figure("(2) onboarding: callback -> token", ours_ms, floor_ms, "ms", "bare wf", 1.5)]


async def _per_second(count: int, finishes: Sequence[Callable[[], Awaitable[None]]]) -> float:
    start = stopwatch()
    await asyncio.gather(*(finish() for finish in finishes))
    return count / (stopwatch() - start)


async def throughput(stack: Stack, count: int) -> list[Figure]:
    """(3) N onboardings and a refresh storm of N companies at once, per second, vs N floors at once."""
    floors = [await _start_floor(stack) for _ in range(count)]
    floor_rate = await _per_second(count, floors)
    refs = [f"bench-{uuid.uuid4().hex[:16]}" for _ in range(count)]
    callbacks = [await stack.approve(await stack.oauth.onboard(ref)) for ref in refs]

    tokens: dict[str, TokenGrant] = {}

    async def consent(callback: Callback, ref: str) -> None:
        await stack.oauth.complete_consent(callback)
        tokens[ref] = await stack.oauth.token(ref)

    onboard_rate = await _per_second(
        count, [functools.partial(consent, c, r) for c, r in zip(callbacks, refs, strict=True)]
    )
    before = stack.token_requests()
    # A 401 report for every company's token: each must refresh, through the update a caller uses.
    storm = [functools.partial(_refresh, stack, r, _rejected(tokens[r])) for r in refs]
    storm_rate = await _per_second(count, storm)
    refreshed = stack.token_requests() - before
    return [
        Figure(f"(3) onboardings/s, {count} at once", onboard_rate, floor_rate, "/s", "bare wf", 0.7, True),
        Figure(
            f"(3) refresh storm/s, {count} companies",
            storm_rate,
            floor_rate,
            "/s",
            "bare wf",
            0.7,
            True,
            note=f"{refreshed} refresh requests reached the sandbox",
        ),
    ]


def _rejected(token: TokenGrant) -> FreshnessRequest:
    """What a caller sends after a 401 for ``token``: the one request that always refreshes a current token
    (asking for more ``min_ttl`` than tokens live is refused after the refresh)."""
    return FreshnessRequest(rejected_token_sha256=token_digest(token))


async def _refresh(stack: Stack, ref: str, request: FreshnessRequest) -> None:
    await stack.oauth._ensure_fresh(ref, request)  # the update a refresh storm is made of


async def token_use(stack: Stack, samples: int) -> list[Figure]:
    """(4) A loop of API calls with ``auth(company_ref)`` vs the same loop with a static header."""
    ref = f"bench-{uuid.uuid4().hex[:16]}"
    await stack.connect(ref)
    token = await stack.oauth.token(ref)
    static = {"Authorization": f"Bearer {token.access_token}"}
    async with (
        httpx.AsyncClient(base_url=stack.sandbox.url, auth=stack.oauth.auth(ref)) as with_auth,
        httpx.AsyncClient(base_url=stack.sandbox.url, headers=static) as plain,
    ):

        async def call(client: httpx.AsyncClient) -> float:
            start = stopwatch()
            response = await client.get("/v1/companies")
            response.raise_for_status()
            return stopwatch() - start

        await call(with_auth)
        await call(plain)
        ours_ms, floor_ms = await _interleaved(
            samples, functools.partial(call, with_auth), functools.partial(call, plain)
        )
    return [Figure("(4) API call with auth(company_ref)", ours_ms, floor_ms, "ms", "static hdr", 1.05)]
