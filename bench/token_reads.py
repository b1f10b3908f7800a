"""Scenario (6): what a ``token()`` read costs with the process's token cache, in time and in Temporal calls.

Calls are counted by a client interceptor (every query, update, start and signal the API sends), never
inferred from timings.
"""

from __future__ import annotations

import asyncio
import statistics
import uuid
from collections import Counter
from typing import Any

from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)

from bench.figures import Figure, stopwatch
from bench.stack import Stack
from worker.api import DEFAULT_MIN_TTL, RemoteOAuth, TokenCache
from workflows.types.tokens import TokenGrant

__all__ = ["BILLABLE", "RpcCounter", "counting_client", "token_reads"]

BILLABLE = {"start": 1, "signal": 1, "query": 1, "update": 1, "update_with_start": 2}
"""Temporal Cloud actions per call: a start, a signal, a query and an update are one each (update-with-start
is a start and an update); history and visibility reads are not billed."""


class RpcCounter(Interceptor):
    """Counts a client's calls to Temporal by kind: ``query``, ``update``, ``start``..."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Counting(next, self.calls)

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def billable(self) -> int:
        return sum(BILLABLE.get(kind, 0) * n for kind, n in self.calls.items())


class _Counting(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, calls: Counter[str]) -> None:
        super().__init__(next)
        self._calls = calls

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        self._calls["query"] += 1
        return await super().query_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        self._calls["update"] += 1
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        self._calls["update_with_start"] += 1
        return await super().start_update_with_start_workflow(input)

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        self._calls["start"] += 1
        return await super().start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        self._calls["signal"] += 1
        await super().signal_workflow(input)


def counting_client(client: Client) -> tuple[Client, RpcCounter]:
    """The same connection with a counter of every call made through it."""
    counter = RpcCounter()
    config = client.config()
    config["interceptors"] = [*config["interceptors"], counter]
    return Client(**config), counter


class DictTokens:
    """The floor of any in-process ``token()``: the same call, answered by a plain dict lookup."""

    def __init__(self, grants: dict[str, TokenGrant]) -> None:
        self._grants = grants

    async def token(self, company_ref: str, *, min_ttl: float = DEFAULT_MIN_TTL) -> TokenGrant:
        return self._grants[company_ref]


async def _hit_cost(oauth: RemoteOAuth, ref: str, samples: int, calls: int) -> tuple[float, float, float]:
    """Nanoseconds per cached ``token()``, per awaited dict lookup and per bare dict lookup (medians)."""
    grants = {ref: await oauth.token(ref)}
    floor_api = DictTokens(grants)
    ours: list[float] = []
    floor: list[float] = []
    bare: list[float] = []
    for _ in range(samples):  # in alternation, so drift on a shared machine hits all alike
        start = stopwatch()
        for _ in range(calls):
            await oauth.token(ref)
        ours.append(stopwatch() - start)
        start = stopwatch()
        for _ in range(calls):
            await floor_api.token(ref)
        floor.append(stopwatch() - start)
        start = stopwatch()
        for _ in range(calls):
            grants[ref]  # the lookup is what is timed
        bare.append(stopwatch() - start)

    def per_call(times: list[float]) -> float:
        return statistics.median(times) * 1e9 / calls

    return per_call(ours), per_call(floor), per_call(bare)


async def _calls_for_reads(
    stack: Stack, refs: list[str], reads: int, callers: int
) -> tuple[RpcCounter, set[str]]:
    """``reads`` ``token()`` calls spread over ``refs`` by ``callers`` concurrent callers, on a fresh API."""
    client, counter = counting_client(stack.client)
    oauth = RemoteOAuth(client, task_queue=stack.task_queue, token_cache=TokenCache())
    tokens: set[str] = set()

    async def caller(number: int) -> None:
        for i in range(number, reads, callers):
            tokens.add((await oauth.token(refs[i % len(refs)])).access_token)

    await asyncio.gather(*(caller(n) for n in range(callers)))
    return counter, tokens


async def token_reads(stack: Stack, samples: int, *, companies: int = 100) -> list[Figure]:
    """(6) A cached ``token()`` vs a dict lookup; Temporal calls for 10,000 reads over ``companies``."""
    refs = [f"bench-reads-{uuid.uuid4().hex[:12]}" for _ in range(companies)]
    gate = asyncio.Semaphore(20)

    async def connect(ref: str) -> None:
        async with gate:
            await stack.connect(ref)

    await asyncio.gather(*(connect(ref) for ref in refs))
    ours_ns, floor_ns, bare_ns = await _hit_cost(stack.oauth, refs[0], max(samples, 101), 1000)
    reads, callers = 10_000, 200
    counter, tokens = await _calls_for_reads(stack, refs, reads, callers)
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counter.calls.items())) or "none"
    seen = f"{len(tokens)} distinct tokens; before this cache every call was a query ({reads:,})"
    return [
        Figure(
            "(6) token() cache hit vs dict lookup",
            ours_ns,
            floor_ns,
            "ns",
            "dict token()",
            3.0,
            note=f"a bare dict lookup, no await: {bare_ns:.0f} ns",
        ),
        Figure(
            f"(6) Temporal RPCs, {reads:,} token() calls",
            counter.total,
            companies,
            "",
            "1 per company",
            1.0,
            note=f"{companies} companies, 1-hour tokens, {callers} concurrent callers: {kinds}; {seen}",
        ),
        Figure(
            f"(6) billable actions, {reads:,} token() calls",
            counter.billable,
            companies,
            "",
            "1 per company",
            1.0,
        ),
    ]
