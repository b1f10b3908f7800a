"""Metrics and traces of a running stack: a dev server client on a buffered runtime with the tracing plugin,
and OpenTelemetry's in-memory span exporter.

One trace goes from ``token()`` through the ``ensure_fresh`` update to the refresh activity and its HTTP call;
the company gauge counts states from visibility; the refresh lead time comes from the workflow's meter; and no
token, code, state, secret or key reaches a span or a metric label.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import create_tracer_provider
from temporalio.testing import WorkflowEnvironment

from tests.support.stack import CLIENT_SECRET, CONNECT_KEY, TTL, Stack, make_stack
from tests.support.temporal import TEST_KEYS, Recorder
from worker import temporal, tracing, tracing_setup
from worker.company_gauge import PUBLISHED_STATES, CompanyGauge
from workflows.io.codec import Keyring, data_converter
from workflows.types.company import Phase
from workflows.types.metrics import COMPANIES, GATEWAY_LATENCY, GRANTS, REFRESH_LEAD_TIME

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The process's tracer provider (the SDK's replay-safe one), exporting to memory; OpenTelemetry allows
    one provider per process, so it is installed once."""
    tracing_setup.quiet_evictions()  # what worker.tracing does when it installs the provider
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        provider = create_tracer_provider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))  # type: ignore[attr-defined]
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    """One buffered runtime for the module (a runtime is a thread pool: not one per test)."""
    return Recorder()


@dataclass(frozen=True)
class Observed:
    """The stack, and where its metrics and spans went."""

    stack: Stack
    recorder: Recorder
    spans: InMemorySpanExporter


@pytest_asyncio.fixture(loop_scope="session")
async def observed(
    dev_server_env: WorkflowEnvironment,
    test_keyring: Keyring,
    recorder: Recorder,
    spans: InMemorySpanExporter,
    task_queue: str,
) -> AsyncIterator[Observed]:
    """A stack whose client (and so its worker) runs on the buffered runtime, traced as ``OTEL_*`` asks."""
    client = await Client.connect(
        dev_server_env.client.service_client.config.target_host,
        namespace=dev_server_env.client.namespace,
        runtime=recorder.runtime,
        data_converter=data_converter(test_keyring),
        # What worker.temporal.connect adds when OTEL_* asks (the provider above is kept: one is installed).
        plugins=tracing.plugins({"OTEL_TRACES_EXPORTER": "console"}),
    )
    assert trace.get_tracer_provider() is not None
    async with make_stack(WorkflowEnvironment.from_client(client), task_queue) as stack:
        yield Observed(stack, recorder, spans)


async def longer_tokens(stack: Stack) -> None:
    """The sandbox issues tokens twice as long from now on, so asking for TTL + 60 s refreshes a token once
    and the new one answers (a token shorter than asked is refused, never handed out)."""
    (await stack.http.post("/sandbox/settings", json={"token_ttl": 2 * TTL})).raise_for_status()


def chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names from ``span`` up to its root."""
    names = [span.name]
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_token_traces_through_the_update_to_the_refresh_and_its_http_call(observed: Observed) -> None:
    """A stale token: one trace whose root is remote_oauth.token, down through the update and its handler,
    the refresh activity, to the POST to the token endpoint (with nothing but its method, path and status)."""
    stack = observed.stack
    await stack.connect("traced")
    await longer_tokens(stack)
    observed.spans.clear()
    await stack.oauth.token("traced", min_ttl=TTL + 60)  # longer than the token has: a refresh
    finished = observed.spans.get_finished_spans()
    by_id = {span.context.span_id: span for span in finished}
    (http,) = [span for span in finished if span.name == "POST /oauth2/token"]
    assert chain(http, by_id) == [
        "POST /oauth2/token",
        "RunActivity:Refresh",
        "StartActivity:Refresh",
        "HandleUpdate:ensure_fresh",
        "StartWorkflowUpdate:ensure_fresh",
        "remote_oauth.token",
    ]
    assert {span.context.trace_id for span in finished} == {http.context.trace_id}
    assert dict(http.attributes or {}) == {
        "http.request.method": "POST",
        "url.path": "/oauth2/token",
        "remote_oauth.operation": "refresh_token",
        "http.response.status_code": 200,
    }
    assert http.kind is trace.SpanKind.CLIENT


async def test_a_refresh_records_its_grant_latency_and_lead_time(observed: Observed) -> None:
    """The forced refresh of a fresh token: renewed about a whole lifetime before expiry (policy label from
    the company's settings), one ok refresh grant, one timed POST."""
    stack, recorder = observed.stack, observed.recorder
    await stack.connect("measured")
    await longer_tokens(stack)
    recorder.read().clear()
    await stack.oauth.token("measured", min_ttl=TTL + 60)
    (lead,) = recorder.of(REFRESH_LEAD_TIME, policy="proactive")
    assert TTL - 60 < lead <= TTL
    assert recorder.of(GRANTS, kind="refresh_token", outcome="ok") == [1.0]
    assert len(recorder.of(GATEWAY_LATENCY, operation="refresh_token", status="200")) == 1
    names = {r.name for r in recorder.read() if r.name.startswith("remote_oauth_")}
    assert names == {REFRESH_LEAD_TIME, GRANTS, GATEWAY_LATENCY}


async def test_the_gauge_counts_running_companies_by_state_from_visibility(observed: Observed) -> None:
    """One active and one awaiting consent on this task queue (other tests' queues are not counted), every
    other state 0; offboarding the active one takes it out of the count."""
    stack, recorder = observed.stack, observed.recorder
    await stack.connect("gauged-active")
    await stack.oauth.onboard("gauged-waiting")
    gauge = CompanyGauge(stack.client, stack.task_queue, recorder.runtime.metric_meter)
    expected = dict.fromkeys(map(str, PUBLISHED_STATES), 0) | {"active": 1, "awaiting_consent": 1}
    assert await until(gauge, expected) == expected
    assert recorder.latest(COMPANIES, state="active") == 1.0
    assert recorder.latest(COMPANIES, state="consent_revoked") == 0.0
    await stack.oauth.offboard("gauged-active")
    assert await until(gauge, expected | {"active": 0}) == expected | {"active": 0}
    assert recorder.latest(COMPANIES, state="active") == 0.0
    assert str(Phase.REFRESHING) not in {r.labels.get("state") for r in recorder.read()}


async def until(gauge: CompanyGauge, expected: dict[str, int]) -> dict[str, int]:
    """Update the gauge until it reads ``expected`` (visibility lags a moment) or 10 seconds pass."""
    deadline = time.monotonic() + 10
    counts = await gauge.update()
    while counts != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        counts = await gauge.update()
    return counts


async def test_no_secret_reaches_a_span_or_a_metric_label(observed: Observed) -> None:
    """Onboarding, consent, reads and a refresh: the code, state, tokens, client secret, connect key and codec
    key appear in no span name, attribute, event or status, and in no metric label; the company ref (not a
    secret) does, so the scan reads where the values are."""
    stack, recorder = observed.stack, observed.recorder
    observed.spans.clear()
    link = await stack.oauth.onboard("scanned")
    callback = await stack.approve(link)
    await stack.oauth.complete_consent(callback)
    first = await stack.oauth.token("scanned")
    await longer_tokens(stack)
    second = await stack.oauth.token("scanned", min_ttl=TTL + 60)
    secrets = {
        callback.code,
        callback.state,
        first.access_token,
        second.access_token,
        first.refresh_token,
        CLIENT_SECRET,
        CONNECT_KEY,
        TEST_KEYS.split(":", 1)[1],
    }
    assert None not in secrets
    texts = [text for span in observed.spans.get_finished_spans() for text in span_texts(span)]
    texts += [f"{r.name} {key}={value}" for r in recorder.read() for key, value in r.labels.items()]
    assert any("scanned" in text for text in texts)
    leaks = [(secret, text) for secret in secrets for text in texts if secret and secret in text]
    assert leaks == []


def span_texts(span: ReadableSpan) -> Iterator[str]:
    """Everything a span exports as text: name, attributes, events and their attributes, status, links."""
    yield span.name
    for key, value in (span.attributes or {}).items():
        yield f"{key}={value!r}"
    for event in span.events:
        yield event.name
        for key, value in (event.attributes or {}).items():
            yield f"{key}={value!r}"
    if span.status.description:
        yield span.status.description
    for link in span.links:
        for key, value in (link.attributes or {}).items():
            yield f"{key}={value!r}"


async def test_connect_adds_the_tracing_plugin_only_when_otel_asks(
    spans: InMemorySpanExporter, test_keyring: Keyring
) -> None:
    """``worker.temporal.connect`` (every process's client) carries the plugin with OTEL_TRACES_EXPORTER set,
    and keeps the tracer provider already installed (here, the in-memory one)."""
    provider = trace.get_tracer_provider()
    base = {"TEMPORAL_ADDRESS": "127.0.0.1:1"}
    plain = await temporal.connect(test_keyring, env=base, lazy=True)
    traced = await temporal.connect(test_keyring, env=base | {"OTEL_TRACES_EXPORTER": "otlp"}, lazy=True)
    assert plain.config()["plugins"] == []
    assert [type(p).__name__ for p in traced.config()["plugins"]] == ["OpenTelemetryPlugin"]
    assert trace.get_tracer_provider() is provider
