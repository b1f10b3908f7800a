"""OpenTelemetry tracing of every Temporal call, when the standard ``OTEL_*`` environment asks for it.

Traces are on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp`` or ``console``), or when an OTLP
endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), unless
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``. Then every client (worker, web app, CLI) carries
``temporalio.contrib.opentelemetry``'s plugin: its client and worker interceptors trace every Temporal call
and the worker's workflows and activities, each span the child of the one that caused it (``token()`` →
the ``ensure_fresh`` update → the refresh activity → its HTTP call), and it passes ``opentelemetry``
through the workflow sandbox. The process exports spans through the SDK's replay-safe tracer provider
installed here (workflow spans are not emitted again on replay), unless one was installed already
(``opentelemetry-instrument``, a partner's own set-up). Needs the ``otel`` extra.

The plugin is marked experimental by the SDK (it replaces ``TracingInterceptor``, whose workflow spans only
link to the update that caused them); a worker that stops with workflows cached may log "Failed to detach
context" once per cached workflow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from temporalio.client import Plugin

from workflows.types.errors import ConfigurationError

__all__ = ["EXPORTERS", "plugins", "tracing_wanted"]

log = logging.getLogger(__name__)

EXPORTERS = ("otlp", "console")
"""``OTEL_TRACES_EXPORTER`` values we install (OTLP over HTTP/protobuf, or one JSON span per line)."""
INSTALL_HINT = "tracing needs the otel extra: pip install 'remote-oauth[otel]'"


def tracing_wanted(env: Mapping[str, str]) -> str | None:
    """The exporter the environment asks for, or None when tracing stays off.

    Raises:
        ConfigurationError: ``OTEL_TRACES_EXPORTER`` names an exporter we do not install.
    """
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return None
    if exporter:
        if exporter not in EXPORTERS:
            raise ConfigurationError(
                f"OTEL_TRACES_EXPORTER={exporter[:20]!r}: remote-oauth installs {' or '.join(EXPORTERS)}"
            )
        return exporter
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return None


def plugins(env: Mapping[str, str]) -> list[Plugin]:
    """The client plugins ``env`` asks for: the tracing one (interceptors for the client and its workers),
    or none.

    Raises:
        ConfigurationError: tracing is asked for but the ``otel`` extra is missing, or names no known exporter.
    """
    exporter = tracing_wanted(env)
    if exporter is None:
        return []
    try:
        from temporalio.contrib.opentelemetry import OpenTelemetryPlugin  # noqa: PLC0415 (optional extra)

        from worker.tracing_setup import install_provider  # noqa: PLC0415
    except ImportError:
        raise ConfigurationError(INSTALL_HINT) from None
    install_provider(env, exporter)
    return [OpenTelemetryPlugin(add_temporal_spans=True)]
