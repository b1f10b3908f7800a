"""The process's tracer provider for ``worker.tracing`` (imported only with the ``otel`` extra installed)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

__all__ = ["DEFAULT_SERVICE_NAME", "install_provider"]

log = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "remote-oauth"


def install_provider(env: Mapping[str, str], exporter: str) -> None:
    """Install a batching provider exporting with ``exporter``, unless a real provider is installed already."""
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # opentelemetry-instrument or the partner's own code installed one: spans go there
    name = env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
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
