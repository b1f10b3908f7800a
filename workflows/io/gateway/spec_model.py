"""Building a generated client model from a decoded response, and naming the field it refuses.

A generated ``from_dict`` fails with a bare ``KeyError``, ``ValueError`` or ``TypeError``: an enum's message
names its class, a UUID's names nothing. Catching those and guessing the field once gave "company_id is not a
UUID" for a ``token_type`` outside a changed enum. Here the failure is traced back to the field, from the
model's own type hints, so the message says what an operator compares with the spec. Activity-side only.
"""

from __future__ import annotations

import enum
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar

import attrs

from workflows.io.gateway.classify import clean

__all__ = ["FieldError", "build_model"]


class FieldError(ValueError):
    """A response the generated model refuses; the message names the field (never a token value)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        """The response field at fault, or None when it cannot be told."""


class _Generated(Protocol):
    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self: ...


M = TypeVar("M", bound=_Generated)


def build_model(model: type[M], document: Mapping[str, Any]) -> M:
    """``model.from_dict(document)``, or a ``FieldError`` naming the field it refused.

    Raises:
        FieldError: a required field is missing, a value is outside the spec's enum, a UUID is malformed,
            or (without a field to name) the document does not fit the model.
    """
    try:
        return model.from_dict(document)
    except (KeyError, ValueError, TypeError, AttributeError) as err:
        raise _diagnose(model, document, err) from None


def _diagnose(model: type[Any], document: Mapping[str, Any], err: Exception) -> FieldError:
    if isinstance(err, KeyError) and err.args and isinstance(err.args[0], str):
        return FieldError(f"{err.args[0]} is missing", err.args[0])
    if attrs.has(model):
        try:
            hints = typing.get_type_hints(model)
        except (NameError, TypeError):  # a forward reference the generated module imports lazily
            hints = {}
        for field in attrs.fields(model):
            if field.name in document and field.name in hints:
                problem = _refusal(hints[field.name], document[field.name])
                if problem is not None:
                    return FieldError(f"{field.name} {problem}", field.name)
    return FieldError(f"the response does not fit the spec's {model.__name__} ({type(err).__name__})")


def _refusal(hint: object, value: object) -> str | None:
    """Why a value of ``hint``'s enum or UUID type refuses ``value``; None when that type is not the cause."""
    members = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for kind in members:
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            allowed = [member.value for member in kind]
            if value not in allowed:
                shown = repr(clean(value, 40)) if isinstance(value, str) else f"a JSON {type(value).__name__}"
                return f"is {shown}, not one of the spec's values ({', '.join(map(str, allowed))})"
        elif kind is uuid.UUID and not _is_uuid(value):
            return "is not a UUID"
    return None


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
