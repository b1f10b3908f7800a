"""The companies-by-state gauge, kept current by the worker from Temporal's visibility (not per refresh).

Each company publishes its state as the RemoteOAuthState search attribute when it changes; this counts the
running company workflows of the worker's task queue per state every ``interval`` and sets the gauge, so
a refresh writes nothing for it and a worker that restarts reports the whole fleet at once. Visibility does
not group by a custom attribute (the server refuses ``GROUP BY RemoteOAuthState``), so it asks once per
published state: a handful of count queries a minute, whatever the number of companies.
"""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client
from temporalio.common import MetricGauge, MetricMeter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from workflows.types.company import Phase
from workflows.types.metrics import COMPANIES

__all__ = ["COMPANY_WORKFLOW", "PUBLISHED_STATES", "CompanyGauge", "keep_company_gauge"]

log = logging.getLogger(__name__)

PUBLISHED_STATES = (
    Phase.AWAITING_CONSENT,
    Phase.ACTIVE,
    Phase.CONSENT_DENIED,
    Phase.CONSENT_REVOKED,
    Phase.MISCONFIGURED,
)
"""The states a running company can show (refreshing and exchanging are published as the state they return
to; offboarded and expired end the workflow)."""

COMPANY_WORKFLOW = "CompanyConsent"
"""``CompanyConsentWorkflow``'s registered name."""


def runtime_meter(client: Client) -> MetricMeter:
    """The meter of the runtime ``client`` runs on (its Prometheus or OpenTelemetry export)."""
    runtime = client.service_client.config.runtime or Runtime.default()
    return runtime.metric_meter


class CompanyGauge:
    """Counts running companies per state on one task queue and sets the gauge."""

    def __init__(self, client: Client, task_queue: str, meter: MetricMeter | None = None) -> None:
        self._client = client
        self._task_queue = task_queue.replace("'", "")
        self._gauge: MetricGauge = (meter or runtime_meter(client)).create_gauge(
            COMPANIES, "Running company workflows by state (from visibility)"
        )

    def query(self, state: Phase) -> str:
        """The visibility query counting ``state`` (search attribute values are not secret)."""
        return (
            f"WorkflowType = '{COMPANY_WORKFLOW}' AND ExecutionStatus = 'Running' "
            f"AND TaskQueue = '{self._task_queue}' AND RemoteOAuthState = '{state}'"
        )

    async def update(self) -> dict[str, int]:
        """Count every state now and set the gauge; the counts come back (for the caller's log or test)."""
        counts: dict[str, int] = {}
        for state in PUBLISHED_STATES:
            counts[str(state)] = (await self._client.count_workflows(self.query(state))).count
        for name, count in counts.items():
            self._gauge.set(count, {"state": name})
        return counts


async def keep_company_gauge(gauge: CompanyGauge, interval: float) -> None:
    """Update ``gauge`` every ``interval`` seconds until cancelled; a failed count is logged, not fatal."""
    while True:
        try:
            await gauge.update()
        except RPCError as err:
            # The namespace may lack the search attribute (remote-oauth doctor says so) or be unreachable.
            log.warning("companies-by-state gauge not updated: %s", err.message)
        await asyncio.sleep(interval)
