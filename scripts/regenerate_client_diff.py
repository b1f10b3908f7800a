"""What changed between two versions of a spec, in a few lines a reviewer reads before committing a bump.

Both specs are reduced to a shape: operations by ``operationId`` (method, path, security, parameters, request
and response fields), component schemas with their fields, and security schemes. Descriptions and examples
are not part of the shape, so a spec whose text alone changed says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["describe_changes"]

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_FIELD_KEYS = ("type", "format", "enum", "pattern", "default", "items", "additionalProperties")

Shape = dict[str, str]
"""A named thing (``operation authorize``, ``schema X field y``) -> a one-line description of it."""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _describe_schema(schema: Mapping[str, Any], required: bool) -> str:
    """``string, format uuid, required`` and the like; a reference is its schema's name."""
    if "$ref" in schema:
        parts = [f"-> {_ref_name(schema['$ref'])}"]
    else:
        parts = []
        for key in _FIELD_KEYS:
            if key not in schema:
                continue
            value = schema[key]
            if isinstance(value, Mapping):
                value = _ref_name(value["$ref"]) if "$ref" in value else value.get("type", "object")
            if isinstance(value, list):
                value = "[" + ", ".join(map(str, value)) + "]"
            parts.append(str(value) if key == "type" else f"{key} {value}")
    if required:
        parts.append("required")
    return ", ".join(parts) or "any"


def _fields(schema: Mapping[str, Any], prefix: str, shape: Shape, label: str) -> None:
    """Every property of an object schema, nested objects flattened as ``a.b``."""
    if "$ref" in schema:
        shape[f"{label} schema"] = _ref_name(schema["$ref"])
        return
    required = set(schema.get("required", ()))
    for name, prop in (schema.get("properties") or {}).items():
        shape[f"{label} field {prefix}{name}"] = _describe_schema(prop, name in required)
        if prop.get("type") == "object" and "properties" in prop:
            _fields(prop, f"{prefix}{name}.", shape, label)


def _json_schema(content: Mapping[str, Any] | None) -> tuple[str, Mapping[str, Any]] | None:
    if not content:
        return None
    media_type, body = next(iter(content.items()))
    return media_type, body.get("schema") or {}


def _security(requirements: list[Mapping[str, Any]] | None) -> str:
    if requirements is None:
        return "default"
    return " | ".join(" + ".join(sorted(req)) or "(none)" for req in requirements) or "(none)"


def _operation(op_id: str, method: str, path: str, op: Mapping[str, Any], shape: Shape) -> None:
    label = f"operation {op_id}"
    shape[label] = f"{method.upper()} {path}"
    if "security" in op:
        shape[f"{label} security"] = _security(op["security"])
    for param in op.get("parameters", ()):
        described = _describe_schema(param.get("schema", {}), bool(param.get("required")))
        shape[f"{label} {param.get('in', '?')} parameter {param['name']}"] = described
    body = _json_schema((op.get("requestBody") or {}).get("content"))
    if body is not None:
        shape[f"{label} request"] = body[0]
        _fields(body[1], "", shape, f"{label} request")
    for status, response in (op.get("responses") or {}).items():
        shape[f"{label} response {status}"] = "documented"
        found = _json_schema(response.get("content"))
        if found is not None:
            _fields(found[1], "", shape, f"{label} response {status}")


def spec_shape(spec: Mapping[str, Any]) -> Shape:
    """The comparable shape of a parsed spec."""
    shape: Shape = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            if method in item:
                op = item[method]
                _operation(op.get("operationId", f"{method} {path}"), method, path, op, shape)
    components = spec.get("components") or {}
    for name, schema in (components.get("schemas") or {}).items():
        shape[f"schema {name}"] = _describe_schema(schema, required=False)
        _fields(schema, "", shape, f"schema {name}")
    for name, scheme in (components.get("securitySchemes") or {}).items():
        shape[f"security scheme {name}"] = " ".join(
            str(scheme.get(k, "")) for k in ("type", "scheme")
        ).strip()
    return shape


def _owner(name: str) -> str:
    """``operation authorize`` for every entry about that operation, ``schema X`` for that schema's."""
    return " ".join(name.split(" ", 2)[:2])


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """One line per thing added, removed or changed, ordered by name; empty when the shape is the same."""
    before, after = spec_shape(old), spec_shape(new)
    appeared = {name for name in after.keys() - before.keys() if _owner(name) == name}
    vanished = {name for name in before.keys() - after.keys() if _owner(name) == name}
    lines: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        if _owner(name) != name and _owner(name) in appeared | vanished:
            continue  # a new or removed operation or schema is one line, not one per field
        if name not in before:
            lines.append(f"+ {name}: {after[name]}")
        elif name not in after:
            lines.append(f"- {name}: {before[name]}")
        elif before[name] != after[name]:
            lines.append(f"~ {name}: {before[name]} -> {after[name]}")
    return lines
