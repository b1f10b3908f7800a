"""Reading what Temporal stored: every payload of a history, decrypted, as text to search."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload

from workflows.io.codec import EncryptionCodec

__all__ = ["decrypted_payloads"]


async def decrypted_payloads(messages: Iterable[Message], codec: EncryptionCodec) -> str:
    """Every payload found anywhere in ``messages``, decrypted and joined as text."""
    found: list[Payload] = []

    def walk(message: Message) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for field, value in message.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if isinstance(value, Message):
                walk(value)
                continue
            # A repeated field is a list of messages; a map field is a dict of them.
            for item in value.values() if hasattr(value, "values") else value:
                if isinstance(item, Message):
                    walk(item)

    for message in messages:
        walk(message)
    decoded = await codec.decode(found)
    return "\n".join(p.data.decode("utf-8", "replace") for p in decoded)
