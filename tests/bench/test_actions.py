"""Scenario (7)'s arithmetic: the dev server's action counter read by namespace, the costs and projections."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from bench.cost.meter import ActionMeter, Cost, month_cycles
from workflows.schedule import RefreshTiming

METRICS = """# HELP action action
# TYPE action counter
action{action_type="command_StartTimer",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="history"} 4
action{action_type="command_ScheduleActivityTask",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="history"} 3
action{action_type="grpc_StartWorkflowExecution",namespace="temporal-system",operation="StartWorkflowExecution",service_name="frontend"} 9
action{action_type="command_StartTimer",namespace="default",operation="RespondWorkflowTaskCompleted",service_name="matching"} 1
action_latency_count{namespace="default"} 12
"""


async def test_the_meter_sums_one_namespace_by_action_type() -> None:
    """Other namespaces and other metrics are left out; series of one type (several services) are summed."""
    transport = httpx.MockTransport(lambda _: httpx.Response(200, text=METRICS))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:1") as http:
        counts = await ActionMeter(http, "default").read()
    assert counts == Counter({"command_StartTimer": 5, "command_ScheduleActivityTask": 3})


def test_a_cost_names_its_drivers_per_event() -> None:
    """Largest first, per event, with the command_ prefix dropped."""
    cost = Cost(
        Counter({"command_StartTimer": 4, "command_ScheduleActivityTask": 4, "grpc_QueryWorkflow": 2}), 4
    )
    assert (cost.total, cost.per_event) == (10, 2.5)
    assert cost.drivers() == "StartTimer 1, ScheduleActivityTask 1, grpc_QueryWorkflow 0.5"
    assert Cost(Counter(), 1).drivers() == "none"


def test_a_month_of_one_hour_tokens_is_about_971_refreshes() -> None:
    """Refreshed 15 minutes and 30 s (mean jitter) before expiry: every 2,670 s over 30 days."""
    assert month_cycles(RefreshTiming()) == pytest.approx(30 * 86400 / 2670)
    assert month_cycles(RefreshTiming(max_jitter_seconds=0)) == pytest.approx(30 * 86400 / 2700)
