"""The process's tracer provider for ``worker.tracing`` (imported only with the ``otel`` extra installed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import create_tracer_provider

__all__ = ["DEFAULT_SERVICE_NAME", "EvictionNoise", "install_provider", "quiet_evictions"]

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "remote-oauth"


def install_provider(env: Mapping[str, str], exporter: str) -> None:
    """Install the SDK's replay-safe provider, batching to ``exporter``, unless one is installed already."""
    quiet_evictions()
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # opentelemetry-instrument or the partner's own code installed one: spans go there
    name = env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    provider = create_tracer_provider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(env, exporter)))
    trace.set_tracer_provider(provider)
    log.info("tracing to %s as service %s", exporter, name)


def _exporter(env: Mapping[str, str], exporter: str) -> SpanExporter:
    if exporter == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if endpoint is None and base:
        endpoint = base.rstrip("/") + "/v1/traces"
    # Headers, certificates and timeouts: the exporter reads the other OTEL_EXPORTER_OTLP_* variables itself.
    return OTLPSpanExporter(endpoint=endpoint)


class EvictionNoise(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" when a cached workflow is evicted (worker shutdown).

    The SDK closes an evicted workflow's coroutine, and the plugin's workflow span then detaches its context
    from another one: harmless (the span was not ended, so nothing is exported), but logged with a traceback
    per cached workflow. Only that case is dropped: the error's context is the coroutine's ``GeneratorExit``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (error is not None and isinstance(error.__context__, GeneratorExit))


def quiet_evictions() -> None:
    """Install :class:`EvictionNoise` on OpenTelemetry's context logger (once)."""
    context_log = logging.getLogger("opentelemetry.context")
    if not any(isinstance(f, EvictionNoise) for f in context_log.filters):
        context_log.addFilter(EvictionNoise())
