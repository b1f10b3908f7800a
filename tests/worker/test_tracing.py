"""When the ``OTEL_*`` environment turns tracing on, and what happens without the ``otel`` extra."""

from __future__ import annotations

import logging
import sys

import pytest

from worker import tracing
from worker.tracing_setup import EvictionNoise
from workflows.types.errors import ConfigurationError


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, None),
        ({"OTEL_SERVICE_NAME": "partner"}, None),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": " Console "}, "console"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, "otlp"),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, None),
        ({"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
    ],
)
def test_the_standard_variables_decide(env: dict[str, str], wanted: str | None) -> None:
    """An exporter named, or an OTLP endpoint set, turns tracing on; none or a disabled SDK keeps it off."""
    assert tracing.tracing_wanted(env) == wanted


def test_no_tracing_means_no_plugin() -> None:
    """Without OTEL_* a client gets no plugin (and nothing of OpenTelemetry is set up)."""
    assert tracing.plugins({}) == []


def test_an_exporter_we_do_not_install_is_a_configuration_error() -> None:
    """Named with the ones we do install, rather than silently not tracing."""
    with pytest.raises(ConfigurationError, match="'zipkin': remote-oauth installs otlp or console"):
        tracing.plugins({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_tracing_without_the_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contrib module needs opentelemetry: missing, the error names the extra."""
    monkeypatch.setitem(sys.modules, "temporalio.contrib.opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'remote-oauth\[otel\]'"):
        tracing.plugins({"OTEL_TRACES_EXPORTER": "otlp"})


def test_only_the_eviction_detach_error_is_dropped() -> None:
    """A detach failure caused by a closed workflow coroutine is dropped; any other error is kept."""

    def record_of(cause: BaseException | None) -> logging.LogRecord:
        try:
            try:
                if cause is not None:
                    raise cause
                raise ValueError("token created in a different Context")
            except BaseException:
                # Raised while handling ``cause``, as OpenTelemetry's detach is: ``__context__`` is the cause.
                raise ValueError("token created in a different Context")  # noqa: B904 (the implicit chain is the point)
        except ValueError:
            return logging.LogRecord("opentelemetry.context", logging.ERROR, "", 0, "x", None, sys.exc_info())

    noise = EvictionNoise()
    assert noise.filter(record_of(GeneratorExit())) is False
    assert noise.filter(record_of(None)) is True
    assert noise.filter(record_of(RuntimeError("other"))) is True
    plain = logging.LogRecord("opentelemetry.context", logging.ERROR, "", 0, "Failed to detach", None, None)
    assert noise.filter(plain) is True
