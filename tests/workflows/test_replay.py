"""Workflow code replays every committed history (tests/histories/) and a freshly recorded one."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.record_histories import HISTORIES, SCENARIOS, record
from worker.runner import WORKFLOW_RUNNER, WORKFLOWS
from workflows.io.codec import Keyring, data_converter

COMMITTED = {path.name: path.read_text(encoding="utf-8") for path in sorted(HISTORIES.glob("*.json"))}
"""File name -> history JSON, read at collection (tests must not block the event loop on files)."""


def _replayer(keyring: Keyring) -> Replayer:
    return Replayer(
        workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER, data_converter=data_converter(keyring)
    )


def test_every_scenario_has_a_committed_history() -> None:
    """Each recorded scenario (one per workflow type) has at least one history in tests/histories/."""
    stems = {name.rsplit("-", 1)[0] for name in COMMITTED}
    assert stems >= set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(COMMITTED))
async def test_committed_history_replays(name: str, test_keyring: Keyring) -> None:
    """A history recorded by an earlier version replays without non-determinism."""
    history = WorkflowHistory.from_json(name, COMMITTED[name])
    result = await _replayer(test_keyring).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_fresh_history_replays(
    own_time_skipping_env: WorkflowEnvironment, test_keyring: Keyring
) -> None:
    """The current code replays the history it just wrote for every scenario."""
    for name in SCENARIOS:
        history = await record(name, own_time_skipping_env)
        assert len(history.events) >= 10, name  # at least one activity ran to completion
        result = await _replayer(test_keyring).replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, name
