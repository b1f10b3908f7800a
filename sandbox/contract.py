"""What the specs in openapi/ say the gateway serves: each operation's method, path and required fields.

Read at start from the ``openapi.json`` that ``scripts/regenerate_client`` keeps beside each generated package
(the spec as parsed; no YAML parser is needed at run time), so the sandbox always serves the paths the
generated client calls: a spec bump, once regenerated, moves both. Operations are found by ``operationId``,
which is also what names the generated client's modules.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Contract", "ContractError", "Operation", "load_contract", "operations"]


def _generated_folder() -> Path:
    """Where the generated client lives, found without importing it (only the activities import it)."""
    found = importlib.util.find_spec("generated_client")
    if found is None or not found.submodule_search_locations:
        raise ImportError("generated_client is not installed: run scripts/regenerate_client")
    return Path(next(iter(found.submodule_search_locations))).resolve()


GENERATED = _generated_folder()
PARSED_FILE = "openapi.json"
_METHODS = ("get", "put", "post", "delete", "patch")


class ContractError(Exception):
    """The specs lack an operation the sandbox serves, or cannot be read."""


@dataclass(frozen=True)
class Operation:
    """One operation as its spec describes it."""

    operation_id: str
    method: str
    """Upper case, e.g. ``POST``."""
    path: str
    required: tuple[str, ...] = ()
    """Required query parameters and required request-body fields, in spec order."""
    version: str = ""
    """``info.version`` of the spec it comes from."""


@dataclass(frozen=True)
class Contract:
    """The operations the sandbox serves from the specs."""

    authorize: Operation
    token: Operation
    magic_link: Operation


def _body_schema(operation: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    content: Mapping[str, Any] = (operation.get("requestBody") or {}).get("content") or {}
    media: Mapping[str, Any] = next(iter(content.values()), {})
    schema: Mapping[str, Any] = media.get("schema") or {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return components.get(ref.rsplit("/", 1)[-1]) or {}
    return schema


def operations(spec: Mapping[str, Any]) -> dict[str, Operation]:
    """Every operation of one parsed spec, by ``operationId``."""
    version = str((spec.get("info") or {}).get("version", ""))
    schemas = (spec.get("components") or {}).get("schemas") or {}
    found: dict[str, Operation] = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping) or "operationId" not in operation:
                continue
            params = [
                p["name"]
                for p in operation.get("parameters", ())
                if p.get("required") and p.get("in") == "query"
            ]
            body = list(_body_schema(operation, schemas).get("required", ()))
            found[operation["operationId"]] = Operation(
                operation_id=operation["operationId"],
                method=method.upper(),
                path=path,
                required=tuple(params + body),
                version=version,
            )
    return found


@functools.cache
def load_contract(folder: Path = GENERATED) -> Contract:
    """The contract from every ``*/openapi.json`` under ``folder`` (default: the generated client's)."""
    found: dict[str, Operation] = {}
    for parsed in sorted(folder.glob(f"*/{PARSED_FILE}")):
        try:
            found.update(operations(json.loads(parsed.read_text(encoding="utf-8"))))
        except (OSError, ValueError, AttributeError, KeyError, TypeError) as err:
            raise ContractError(f"{parsed} cannot be read as a spec: {err}") from err
    wanted = {"authorize": "authorize", "token": "exchangeOAuthToken", "magic_link": "createMagicLink"}
    missing = sorted(op_id for op_id in wanted.values() if op_id not in found)
    if missing:
        raise ContractError(
            f"no operation {', '.join(missing)} in {folder}/*/{PARSED_FILE}: run scripts/regenerate_client"
        )
    return Contract(**{field: found[op_id] for field, op_id in wanted.items()})
