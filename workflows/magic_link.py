"""MagicLinkWorkflow: one passwordless sign-in link, its activity retried through a brief gateway outage.

Started by ``RemoteOAuth.magic_link`` and awaited; deterministic and free of import-time effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

from workflows.types.kept_token import Failure, attempt

with workflow.unsafe.imports_passed_through():
    from workflows import options
    from workflows.io.activities import TokenActivities
    from workflows.types.activity import MagicLinkInput, MagicLinkResult

WORKFLOW_ID_PREFIX = "remote-oauth-magic-link:"


@dataclass(frozen=True)
class MagicLinkRequest:
    """A link for a company admin (``user_id``) or an employee (``employment_id``), already validated."""

    link: MagicLinkInput = field(repr=False)
    token_task_queue: str | None = None
    """Task queue of gateway activities (rate limited fleet-wide); None: the workflow's own."""


@workflow.defn(name="MagicLink")
class MagicLinkWorkflow:
    """Runs ``create_magic_link`` with the gateway options; a final failure ends it with the same type."""

    @workflow.run
    async def run(self, request: MagicLinkRequest) -> MagicLinkResult:
        result: MagicLinkResult | Failure = await attempt(
            workflow.execute_activity_method(
                TokenActivities.create_magic_link,
                request.link,
                **options.token_endpoint_kwargs(request.token_task_queue),
            )
        )
        if isinstance(result, Failure):
            # Failing the workflow (not its task) hands the typed reason to the waiting caller.
            raise result.to_error()
        return result


__all__ = ["WORKFLOW_ID_PREFIX", "MagicLinkRequest", "MagicLinkWorkflow"]
