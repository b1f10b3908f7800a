"""Reading what Temporal stored: every payload of a history, decrypted, as text to search."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf.message import Message

from workflows.io.codec import EncryptionCodec
from workflows.io.key_ids import payloads

__all__ = ["decrypted_payloads"]


async def decrypted_payloads(messages: Iterable[Message], codec: EncryptionCodec) -> str:
    """Every payload found anywhere in ``messages`` (the walk ``rotate-keys`` reads key ids with), decrypted
    and joined as text."""
    found = [payload for message in messages for payload in payloads(message)]
    decoded = await codec.decode(found)
    return "\n".join(p.data.decode("utf-8", "replace") for p in decoded)
