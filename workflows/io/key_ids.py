"""The codec key ids a history's payloads name, read from their clear metadata without decrypting anything.

Every payload the codec wrote carries ``encryption-key-id`` in clear (``workflows.io.codec``), wherever it sits
in an event: inputs, results, signal and update arguments, failures' encoded attributes. Which ids the current
run of a workflow names is which keys a worker needs to replay it, so this is what tells when an old key can go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from workflows.io.codec import ENCODING, KEY_ID_METADATA

__all__ = ["key_ids", "payloads"]


def payloads(message: Message) -> Iterator[Payload]:
    """Every ``Payload`` inside ``message``, at any depth (repeated fields and maps included).

    Walks the message's set fields by reflection, so a payload in an event type added to Temporal's API later
    is found too.
    """
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None:
            continue
        if kind.GetOptions().map_entry:
            if kind.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    yield from payloads(item)
        elif field.is_repeated:
            for item in value:
                yield from payloads(item)
        else:
            yield from payloads(value)


def key_ids(messages: Iterable[Message]) -> frozenset[str]:
    """The key ids of the encrypted payloads in ``messages`` (history events, say); plain payloads name none."""
    found: set[str] = set()
    for message in messages:
        for payload in payloads(message):
            if payload.metadata.get("encoding") == ENCODING:
                found.add(payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace"))
    return frozenset(found)
