"""The AES-GCM payload codec: format, keyring parsing, rotation, history on a real server."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The workflows below are defined here, so the sandbox re-imports this module: pass the rest through.
with workflow.unsafe.imports_passed_through():
    import pytest

    from worker.temporal import with_converter
    from workflows.io.codec import EncryptionCodec, Keyring, data_converter, generate_key
    from workflows.types.errors import ConfigurationError

MARKER = "marker-7f3a9c1e-do-not-store-in-clear"
KEY_A = "a:" + base64.b64encode(bytes(range(32))).decode()
KEY_B = "b:" + base64.b64encode(bytes(range(1, 33))).decode()
KEY_C = "c:" + base64.b64encode(bytes(range(2, 34))).decode()


def json_payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


@activity.defn
async def echo(text: str) -> str:
    return f"activity saw {text}"


@activity.defn
async def refuse(text: str) -> str:
    raise ApplicationError(f"refused: {MARKER}", type="Refused", non_retryable=True)


@workflow.defn
class Echo:
    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_activity(echo, text, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn
class Refuse:
    @workflow.run
    async def run(self, text: str) -> str:
        try:
            return await workflow.execute_activity(refuse, text, start_to_close_timeout=timedelta(seconds=10))
        except ActivityError as err:
            raise ApplicationError(f"workflow gave up: {MARKER}", type="GaveUp") from err


@workflow.defn
class Collect:
    def __init__(self) -> None:
        self._added: list[str] = []

    @workflow.run
    async def run(self, first: str) -> str:
        await workflow.wait_condition(lambda: bool(self._added))
        return "+".join([first, *self._added])

    @workflow.signal
    def add(self, text: str) -> None:
        self._added.append(text)


def codec_client(env: WorkflowEnvironment, keys: str) -> Client:
    return with_converter(env.client, data_converter(Keyring.parse(keys)))


def raw_client(env: WorkflowEnvironment) -> Client:
    return with_converter(env.client, DataConverter.default)


async def stored_history(env: WorkflowEnvironment, workflow_id: str) -> tuple[bytes, str]:
    """The history as Temporal stores it: protobuf bytes (payload data in clear) and its JSON."""
    history = await raw_client(env).get_workflow_handle(workflow_id).fetch_history()
    return History(events=history.events).SerializeToString(), history.to_json()


async def test_round_trip_restores_payload_exactly() -> None:
    """An encoded payload hides the original (metadata included) and decodes to an identical payload."""
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    original = json_payload(MARKER)
    [encoded] = await codec.encode([original])
    assert dict(encoded.metadata) == {"encoding": b"binary/encrypted", "encryption-key-id": b"a"}
    assert len(encoded.data) == 12 + len(original.SerializeToString()) + 16
    assert MARKER.encode() not in encoded.data
    assert b"json/plain" not in encoded.data
    assert await codec.decode([encoded]) == [original]


async def test_each_encoding_uses_a_fresh_nonce() -> None:
    """Encrypting the same payload twice gives different bytes, so equal tokens are not recognisable."""
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    [first, second] = await codec.encode([json_payload("same"), json_payload("same")])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_plain_payloads_pass_through_decode() -> None:
    """Payloads written before the codec existed decode unchanged."""
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    plain = [json_payload("old"), Payload(metadata={"encoding": b"binary/null"})]
    assert await codec.decode(plain) == plain


async def test_unknown_key_id_fails_loudly_naming_it() -> None:
    """A payload from a key the ring lacks raises an error naming that key id, never passes through."""
    [encoded] = await EncryptionCodec(Keyring.parse(KEY_A)).encode([json_payload(MARKER)])
    with pytest.raises(ConfigurationError) as err:
        await EncryptionCodec(Keyring.parse(KEY_C)).decode([encoded])
    assert str(err.value) == (
        "payload encrypted with key id 'a', which is not in the keyring (holds: c); "
        "add that key to REMOTE_OAUTH_CODEC_KEYS"
    )


async def test_altered_payload_is_rejected() -> None:
    """A flipped ciphertext bit fails authentication instead of decoding to garbage."""
    [encoded] = await EncryptionCodec(Keyring.parse(KEY_A)).encode([json_payload(MARKER)])
    altered = Payload(metadata=encoded.metadata, data=encoded.data[:-1] + bytes([encoded.data[-1] ^ 1]))
    with pytest.raises(ConfigurationError, match=r"^payload encrypted with key id 'a' does not decrypt: "):
        await EncryptionCodec(Keyring.parse(KEY_A)).decode([altered])


async def test_rotation_encrypts_with_first_key_and_reads_all() -> None:
    """Ring ``b,a`` reads what ``a`` wrote and writes with ``b``."""
    [old] = await EncryptionCodec(Keyring.parse(KEY_A)).encode([json_payload("old")])
    rotated = EncryptionCodec(Keyring.parse(f"{KEY_B},{KEY_A}"))
    assert await rotated.decode([old]) == [json_payload("old")]
    [new] = await rotated.encode([json_payload("new")])
    assert new.metadata["encryption-key-id"] == b"b"


def test_parse_accepts_commas_whitespace_and_newlines() -> None:
    """Entries split on any mix of separators; order is kept, the first key is current."""
    ring = Keyring.parse(f"\n {KEY_B},\t{KEY_A}\n{KEY_C} ,\n")
    assert ring.kids == ("b", "a", "c")
    assert ring.current.kid == "b"
    assert ring.current.secret == bytes(range(1, 33))


def test_parse_accepts_aes_128_192_and_url_safe_base64() -> None:
    """16- and 24-byte keys are allowed, and the URL-safe base64 alphabet decodes too."""
    key16 = base64.urlsafe_b64encode(b"\xff" * 16).decode()
    key24 = base64.b64encode(b"\x01" * 24).decode()
    ring = Keyring.parse(f"k16:{key16} k24:{key24}")
    assert [len(key.secret) for key in ring.keys] == [16, 24]
    assert "-" in key16 or "_" in key16


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "REMOTE_OAUTH_CODEC_KEYS is empty; "),
        (" ,\n", "REMOTE_OAUTH_CODEC_KEYS is empty; "),
        (
            "c2VjcmV0LWtleS1tYXRlcmlhbA==",
            "REMOTE_OAUTH_CODEC_KEYS entry 1 is not of the form 'kid:base64key'",
        ),
        (f"{KEY_A},b:", "REMOTE_OAUTH_CODEC_KEYS entry 2 is not of the form 'kid:base64key'"),
        ("c2VjcmV0!:abc", "REMOTE_OAUTH_CODEC_KEYS entry 1 has an invalid key id: use 1-64 letters"),
        ("k:c2VjcmV0*a2V5", "REMOTE_OAUTH_CODEC_KEYS key 'k' is not valid base64"),
        ("k:c2VjcmV0LWtleQ==", "REMOTE_OAUTH_CODEC_KEYS key 'k' decodes to 10 bytes; AES needs 16, 24 or 32"),
        (f"{KEY_A} {KEY_A[:2]}{KEY_B[2:]}", "REMOTE_OAUTH_CODEC_KEYS lists key id 'a' twice"),
    ],
)
def test_parse_errors_say_what_is_wrong_without_key_material(text: str, message: str) -> None:
    """Each malformed ring gets a clear ConfigurationError that never repeats a key."""
    with pytest.raises(ConfigurationError) as err:
        Keyring.parse(text)
    assert str(err.value).startswith(message)
    for secret_part in ("c2VjcmV0", KEY_A[2:], KEY_B[2:]):
        assert secret_part not in str(err.value)


def test_generated_keys_are_random_256_bit_and_parse() -> None:
    """``generate_key`` makes a line that parses to a fresh 32-byte key under the given id."""
    first, second = Keyring.parse(generate_key("k1")), Keyring.parse(generate_key("k1"))
    assert first.kids == ("k1",)
    assert len(first.current.secret) == 32
    assert first.current.secret != second.current.secret
    with pytest.raises(ConfigurationError, match=r"^invalid key id 'a b'"):
        generate_key("a b")


def test_key_material_is_not_in_repr() -> None:
    """Printing a keyring (logs, tracebacks) does not show key bytes."""
    ring = Keyring.parse(KEY_A)
    assert repr(ring) == "Keyring(keys=(Key(kid='a'),))"


def test_data_converter_encrypts_and_encodes_failures() -> None:
    """The converter installs the codec and moves failure messages and stack traces into payloads."""
    converter = data_converter(Keyring.parse(KEY_A))
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.keyring.kids == ("a",)
    assert type(converter.failure_converter) is DefaultFailureConverterWithEncodedAttributes


async def test_history_holds_no_plaintext(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    """Inputs, activity arguments and results are stored encrypted; without the codec they would be clear."""
    client = time_skipping_env.client
    async with Worker(client, task_queue=task_queue, workflows=[Echo], activities=[echo]):
        result = await client.execute_workflow(
            Echo.run, MARKER, id=f"echo-{task_queue}", task_queue=task_queue
        )
    assert result == f"activity saw {MARKER}"
    stored, stored_json = await stored_history(time_skipping_env, f"echo-{task_queue}")
    assert MARKER.encode() not in stored
    assert MARKER not in stored_json
    assert b"binary/encrypted" in stored

    # The same input started without the codec is in the stored bytes: the check above can fail.
    await raw_client(time_skipping_env).start_workflow(
        Echo.run, MARKER, id=f"plain-{task_queue}", task_queue=f"{task_queue}-idle"
    )
    plain, _ = await stored_history(time_skipping_env, f"plain-{task_queue}")
    assert MARKER.encode() in plain


async def test_failure_messages_are_encoded(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    """Activity and workflow failure messages and stack traces are encrypted; codec clients read them."""
    client = time_skipping_env.client
    workflow_id = f"refuse-{task_queue}"
    async with Worker(client, task_queue=task_queue, workflows=[Refuse], activities=[refuse]):
        with pytest.raises(WorkflowFailureError) as err:
            await client.execute_workflow(Refuse.run, "x", id=workflow_id, task_queue=task_queue)
    failure = err.value.cause
    assert isinstance(failure, ApplicationError)
    assert (failure.type, failure.message) == ("GaveUp", f"workflow gave up: {MARKER}")
    assert isinstance(failure.cause, ActivityError)
    assert isinstance(failure.cause.cause, ApplicationError)
    assert (failure.cause.cause.type, failure.cause.cause.message) == ("Refused", f"refused: {MARKER}")

    stored, stored_json = await stored_history(time_skipping_env, workflow_id)
    assert MARKER.encode() not in stored
    assert MARKER not in stored_json
    with pytest.raises(WorkflowFailureError) as raw_err:
        await raw_client(time_skipping_env).get_workflow_handle(workflow_id).result()
    assert isinstance(raw_err.value.cause, ApplicationError)
    assert raw_err.value.cause.message == "Encoded failure"


async def test_rotation_on_server_and_missing_key_fails_loudly(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    """A run started under key ``a`` finishes under ring ``b,a``; a client holding only ``c`` is refused."""
    workflow_id = f"collect-{task_queue}"
    await codec_client(time_skipping_env, KEY_A).start_workflow(
        Collect.run, "from-a", id=workflow_id, task_queue=task_queue
    )
    rotated = codec_client(time_skipping_env, f"{KEY_B},{KEY_A}")
    handle = rotated.get_workflow_handle(workflow_id)
    await handle.signal(Collect.add, "from-b")
    async with Worker(rotated, task_queue=task_queue, workflows=[Collect]):
        assert await handle.result() == "from-a+from-b"

    history = await raw_client(time_skipping_env).get_workflow_handle(workflow_id).fetch_history()
    kids = {}
    for event in history.events:
        if event.HasField("workflow_execution_started_event_attributes"):
            kids["started"] = event.workflow_execution_started_event_attributes.input.payloads[0]
        if event.HasField("workflow_execution_signaled_event_attributes"):
            kids["signaled"] = event.workflow_execution_signaled_event_attributes.input.payloads[0]
        if event.HasField("workflow_execution_completed_event_attributes"):
            kids["completed"] = event.workflow_execution_completed_event_attributes.result.payloads[0]
    assert {name: payload.metadata["encryption-key-id"] for name, payload in kids.items()} == {
        "started": b"a",
        "signaled": b"b",
        "completed": b"b",
    }

    with pytest.raises(
        ConfigurationError, match=r"^payload encrypted with key id 'b', which is not in the keyring"
    ):
        await codec_client(time_skipping_env, KEY_C).get_workflow_handle(workflow_id).result()
