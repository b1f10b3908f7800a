"""Doctor's Temporal checks: the envconfig connection, the namespace's search attributes, and whether this
keyring decrypts what the namespace holds (a sample of the newest workflows on our task queue)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.service import RPCError

from worker import temporal
from worker.health.report import Check, failed, passed, skipped
from workflows.company_effects import SEARCH_ATTRIBUTES
from workflows.io.codec import ENCODING, GENERATE_HINT, KEY_ID_METADATA, SETTING, EncryptionCodec, Keyring
from workflows.types.errors import ConfigurationError, TemporalUnavailableError

__all__ = ["codec_sample", "connect", "search_attributes"]

SAMPLE = 20
"""Workflows whose histories the codec check reads: the newest on the task queue."""
_KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
_WHERE = (
    "point TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE (with TEMPORAL_API_KEY or the TEMPORAL_TLS_* "
    "variables) or TEMPORAL_PROFILE at yours (docs/deployment.md#temporal)"
)


def _where(env: Mapping[str, str]) -> str:
    """``address, namespace N, profile P`` as envconfig resolves them (no API key, no certificate)."""
    try:
        config = ClientConfig.load_client_connect_config(override_env_vars=dict(env))
    except RuntimeError:
        return "the envconfig settings"
    address = config.get("target_host") or temporal.DEFAULT_TARGET
    namespace = config.get("namespace") or "default"
    profile = env.get("TEMPORAL_PROFILE") or "default"
    return f"{address} (namespace {namespace}, profile {profile})"


async def connect(env: Mapping[str, str], keyring: Keyring | None) -> tuple[Check, Client | None]:
    """Connect as every process does (envconfig, the codec when there is a keyring)."""
    where = _where(env)
    try:
        client = await temporal.connect(keyring, env=env, require_codec=False)
    except ConfigurationError as err:
        return failed(
            "temporal", str(err), "fix the TOML file (TEMPORAL_CONFIG_FILE) or TEMPORAL_PROFILE"
        ), None
    except TemporalUnavailableError:
        return failed("temporal", f"nothing answers at {where}", f"start Temporal, or {_WHERE}"), None
    except RPCError as err:
        return (
            failed(
                "temporal",
                f"{where} refused the connection ({err.status.name})",
                "check TEMPORAL_API_KEY or the TLS client certificate, and that it may use TEMPORAL_NAMESPACE",
            ),
            None,
        )
    return passed("temporal", f"connected to {where}"), client


async def search_attributes(client: Client) -> Check:
    """The namespace has RemoteOAuthState and RemoteCompanyId, both Keyword."""
    namespace = client.namespace
    try:
        answer = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        return failed(
            "search-attributes",
            f"cannot list namespace {namespace}'s search attributes ({err.status.name})",
            f"check that namespace {namespace} exists and that this identity may read it, or {_WHERE}",
        )
    have = answer.custom_attributes
    wrong = [key.name for key in SEARCH_ATTRIBUTES if have.get(key.name) != _KEYWORD]
    names = ", ".join(key.name for key in SEARCH_ATTRIBUTES)
    if not wrong:
        return passed("search-attributes", f"namespace {namespace} has {names} (Keyword)")
    create = " ".join(f"--name {name} --type Keyword" for name in wrong)
    return failed(
        "search-attributes",
        f"namespace {namespace} lacks {', '.join(wrong)} as Keyword search attributes (companies cannot start)",
        f"temporal operator search-attribute create --namespace {namespace} {create} "
        "(on Temporal Cloud: tcld namespace search-attributes add, or the UI)",
    )


def payloads(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` inside a protobuf message, however deep (inputs, results, failures, markers...)."""
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                yield item
            else:
                yield from payloads(item)


async def codec_sample(client: Client, keyring: Keyring, task_queue: str, *, sample: int = SAMPLE) -> Check:
    """Decrypt every encrypted payload in the histories of the newest ``sample`` workflows on ``task_queue``."""
    raw = temporal.with_converter(client, DataConverter.default)
    codec = EncryptionCodec(keyring)
    in_use: dict[str, set[str]] = defaultdict(set)
    undecryptable: dict[str, set[str]] = defaultdict(set)
    count = 0
    quoted = task_queue.replace("\\", "\\\\").replace("'", "\\'")
    seen = [found async for found in raw.list_workflows(f"TaskQueue = '{quoted}'", limit=sample)]
    for execution in seen:
        handle = raw.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            for payload in payloads(event):
                if payload.metadata.get("encoding") != ENCODING:
                    continue
                kid = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
                in_use[kid].add(execution.id)
                count += 1
                if keyring.find(kid) is None:
                    continue
                try:
                    await codec.decode([payload])
                except ConfigurationError:
                    undecryptable[kid].add(execution.id)
    held = ", ".join(keyring.kids)
    missing = sorted(kid for kid in in_use if keyring.find(kid) is None)
    if missing:
        named = "; ".join(f"{kid} ({_workflows(in_use[kid])})" for kid in missing)
        return failed(
            "codec-keys",
            f"key ids in use that the keyring ({held}) lacks: {named}",
            f"add those keys' entries to {SETTING} after the current one, in every process",
        )
    if undecryptable:
        named = "; ".join(f"{kid} ({_workflows(ids)})" for kid, ids in sorted(undecryptable.items()))
        return failed(
            "codec-keys",
            f"payloads under these key ids do not decrypt with the key held under that id: {named}",
            "copy the right key for that id from where it was made (never make a new key under an old id)",
        )
    if not seen:
        return passed(
            "codec-keys", f"keyring {held} (current {keyring.current.kid}); no workflow on {task_queue} yet"
        )
    used = ", ".join(sorted(in_use)) or "none"
    return passed(
        "codec-keys",
        f"{count} encrypted payloads in the newest {len(seen)} workflows on {task_queue} decrypt; key ids in "
        f"use: {used}; keyring {held} (current {keyring.current.kid})",
    )


def _workflows(ids: set[str]) -> str:
    first = sorted(ids)[0]
    return f"{len(ids)} workflow{'s' if len(ids) != 1 else ''}, e.g. {first}"


def no_keyring() -> Check:
    return failed("codec-keys", f"{SETTING} is not set", GENERATE_HINT)


def not_connected() -> list[Check]:
    return [
        skipped("search-attributes", "needs a connection to Temporal"),
        skipped("codec-keys", "needs a connection to Temporal"),
    ]
