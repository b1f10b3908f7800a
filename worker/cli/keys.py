"""``remote-oauth rotate-keys``: finish a codec key rotation (docs/deployment.md, "Rotating codec keys")."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

import typer

from worker import context
from worker.api import KeyRotation, RotationReport
from worker.cli.checks import fail
from worker.cli.jobs import run_job
from workflows.types.errors import ConfigurationError

_MAX_WAIT = 3600


def register(app: typer.Typer) -> None:
    """Add these commands to the ``remote-oauth`` app."""
    app.command("rotate-keys")(rotate_keys)


def _wait(value: float) -> float:
    if not math.isfinite(value) or not 0 <= value <= _MAX_WAIT:
        raise fail(f"--wait must be between 0 and {_MAX_WAIT} seconds, not {value:g}")
    return value


def rotate_keys(
    wait: Annotated[
        float,
        typer.Option(help="Seconds to wait for the workflows to continue as new.", callback=_wait),
    ] = 120.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what holds an older key; ask nothing to move.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Carry every running workflow forward onto the current codec key (the first in REMOTE_OAUTH_CODEC_KEYS).

    Run it once every process holds the new key first. Each company, partner-token and assertion-token
    workflow continues as new with its state encrypted with that key; then the command lists what still holds
    an older key id in its current run. Exit 0 when nothing does: the older keys can leave the ring.
    """

    async def job(ctx: context.AppContext) -> RotationReport:
        keyring = context.keyring_from(ctx.settings)
        if keyring is None:
            raise ConfigurationError("rotate-keys needs REMOTE_OAUTH_CODEC_KEYS, the new key first")
        rotation = KeyRotation(ctx.client, keyring, task_queue=ctx.settings.task_queue)
        return await rotation.rotate(wait=timedelta(seconds=wait), carry=not dry_run)

    report = run_job(job)
    if as_json:
        typer.echo(json.dumps({**asdict(report), "done": report.done}, indent=2))
    else:
        typer.echo(
            f"current key {report.key_id}: {report.done} of {report.running} running workflows done "
            f"({report.already} already on it, {report.carried} carried forward)"
        )
        if report.holders:
            rows = [("WORKFLOW", "TYPE", "OLDER KEYS", "WHY")] + [
                (h.workflow_id, h.workflow_type, ",".join(h.key_ids), h.reason) for h in report.holders
            ]
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            for row in rows:
                typer.echo(
                    "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[3]])
                )
    if report.holders:
        raise fail(
            f"{len(report.holders)} running workflow(s) still hold an older key id: keep the older keys in "
            "REMOTE_OAUTH_CODEC_KEYS for now"
        )
    if not as_json:
        typer.echo(
            f"no running workflow needs a key other than {report.key_id}: the older keys can leave "
            "REMOTE_OAUTH_CODEC_KEYS"
        )
