"""Every environment variable the project reads, declared once, and the tables docs/settings.md shows.

A ``Settings`` field is declared with :func:`setting` (its variable, default, limit and one-line doc sit on the
field); the few variables read outside ``Settings`` are in :data:`OTHER_VARIABLES`. ``scripts/settings_doc``
writes both tables into docs/settings.md, and ``tests/test_docs.py`` fails when the file and the code differ
or when the code names a ``REMOTE_*`` or ``TEMPORAL_*`` variable that no table names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")

_METADATA_KEY = "remote_oauth.variable"
_DAY = 86400


@dataclass(frozen=True)
class Variable:
    """One environment variable: what it is called, what it means and what it is without a value."""

    env: str
    doc: str
    """One line for the docs table."""
    default: object = None
    """The value when unset (None: no value); shown in the docs unless ``shown`` says otherwise."""
    shown: str | None = None
    """The docs' default column, for a default that is derived or needs words (``the origin of ...``)."""
    file_variant: bool = False
    """``{env}_FILE`` may name a file holding the value instead (never both)."""
    maximum: float | None = None
    """A number's upper bound (every number must be more than 0)."""
    unit: str = "seconds"
    """What a number counts, for messages and the docs."""

    @property
    def names(self) -> tuple[str, ...]:
        """The variable and its ``_FILE`` variant, if any."""
        return (self.env, f"{self.env}_FILE") if self.file_variant else (self.env,)


def setting(
    env: str,
    default: T,
    doc: str,
    *,
    shown: str | None = None,
    file_variant: bool = False,
    maximum: float | None = None,
    unit: str = "seconds",
) -> T:
    """A dataclass field read from ``env``; typed as its default so the field keeps its own type."""
    variable = Variable(
        env=env,
        doc=doc,
        default=default,
        shown=shown,
        file_variant=file_variant,
        maximum=maximum,
        unit=unit,
    )
    return field(default=default, metadata={_METADATA_KEY: variable})


def declared(cls: type[Any]) -> dict[str, Variable]:
    """Field name -> variable, for every field of the dataclass ``cls`` (each must be a :func:`setting`).

    Raises:
        TypeError: a field was declared without its variable.
    """
    found: dict[str, Variable] = {}
    for item in fields(cls):
        variable = item.metadata.get(_METADATA_KEY)
        if not isinstance(variable, Variable):
            raise TypeError(f"{cls.__name__}.{item.name} is not declared with setting()")
        found[item.name] = variable
    return found


OTHER_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "REMOTE_OAUTH_METRICS_PORT",
        "`remote-oauth worker` serves Prometheus `/metrics`, `/healthz` and `/readyz` on this port (as "
        "`--metrics-port` does)",
    ),
    Variable(
        "REMOTE_OAUTH_METRICS_HOST",
        "the interface of that port (as `--metrics-host` does); `0.0.0.0` for a pod's probes",
        default="127.0.0.1",
    ),
    Variable(
        "REMOTE_OAUTH_CODEC_UI_ORIGIN",
        "`remote-oauth codec-server`: the Temporal UI's origin, the only one CORS allows (as `--ui-origin`)",
    ),
    Variable(
        "REMOTE_OAUTH_CODEC_TOKEN_FILE",
        "`remote-oauth codec-server`: a file holding the bearer token callers must send (as `--token-file`)",
    ),
    Variable(
        "REMOTE_OAUTH_CODEC_ISSUER",
        "`remote-oauth codec-server`: the OIDC issuer whose access tokens the UI forwards (as `--issuer`)",
    ),
    Variable(
        "REMOTE_OAUTH_CODEC_AUDIENCE",
        "`remote-oauth codec-server`: the `aud` those access tokens must carry (as `--audience`)",
    ),
    Variable(
        "TEMPORAL_CODEC_ENDPOINT",
        "the Temporal UI server's own setting (not read by remote-oauth): the codec server's URL",
    ),
    Variable(
        "TEMPORAL_CODEC_PASS_ACCESS_TOKEN",
        "the Temporal UI server's own setting (not read by remote-oauth): `true` forwards the signed-in "
        "user's access token to the codec server, which `--issuer` checks",
    ),
    Variable(
        "REMOTE_OAUTH_DEV_DIR",
        "where `remote-oauth dev` keeps its data (as `--data-dir` does)",
        shown="`.remote-oauth/dev` in the checkout (or in the current directory outside one)",
    ),
    Variable(
        "REMOTE_OAUTH_VENV",
        "where `scripts/bootstrap` (so `scripts/dev` and `scripts/test`) makes the virtualenv",
        shown="`.venv` in the checkout",
    ),
    Variable("TEMPORAL_ADDRESS", "the Temporal frontend, `host:port`", default="localhost:7233"),
    Variable("TEMPORAL_NAMESPACE", "the Temporal namespace", default="default"),
    Variable("TEMPORAL_API_KEY", "an API key (Temporal Cloud); turns TLS on"),
    Variable(
        "TEMPORAL_TLS",
        "`true` for TLS; also `TEMPORAL_TLS_CLIENT_CERT_PATH`, `TEMPORAL_TLS_CLIENT_KEY_PATH`, "
        "`TEMPORAL_TLS_SERVER_CA_CERT_PATH`, `TEMPORAL_TLS_SERVER_NAME` (or `*_DATA` with the PEM itself)",
    ),
    Variable("TEMPORAL_PROFILE", "the profile to use from the TOML config file", default="default"),
    Variable(
        "TEMPORAL_CONFIG_FILE",
        "a TOML file of profiles (the variables above override it)",
        shown="`~/.config/temporalio/temporal.toml`",
    ),
)
"""Read outside ``Settings``: by one command (``worker``, ``dev``, ``codec-server``), by
``scripts/bootstrap``, or by ``temporalio.envconfig`` for the Temporal connection; the Temporal UI server's two
codec variables are listed because the docs tell the UI how to reach the codec server."""


def render(variables: Iterable[Variable]) -> str:
    """A Markdown table of ``variables``: name(s), default, meaning (with the limit of a number)."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for variable in variables:
        names = " or ".join(f"`{name}`" for name in variable.names)
        doc = variable.doc
        if variable.maximum is not None:
            doc += f"; at most {_amount(variable.maximum, variable.unit)}"
        lines.append(f"| {names} | {_default(variable)} | {doc} |")
    return "\n".join(lines) + "\n"


def tables(settings: Mapping[str, Variable]) -> dict[str, str]:
    """The generated parts of docs/settings.md by marker name: the ``Settings`` table and the others'."""
    return {"settings": render(settings.values()), "other": render(OTHER_VARIABLES)}


def _default(variable: Variable) -> str:
    if variable.shown is not None:
        return variable.shown
    value = variable.default
    if value is None:
        return "none"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    shown = f"`{text}`"
    if variable.unit == "seconds" and isinstance(value, int | float) and value >= _DAY:
        shown += f" ({_amount(value, 'seconds')})"
    return shown


def _amount(value: float, unit: str) -> str:
    """``604800`` seconds as ``7 days``; other units as a grouped number (``100,000 requests``)."""
    if unit == "seconds" and value >= _DAY and value % _DAY == 0:
        days = int(value // _DAY)
        return f"{days} day" if days == 1 else f"{days} days"
    number = f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return f"{number} {unit}"


__all__ = ["OTHER_VARIABLES", "Variable", "declared", "render", "setting", "tables"]
