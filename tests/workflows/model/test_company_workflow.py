"""The company model's steps against the real workflow, so the model and the workflow cannot drift apart.

The time-skipping server, our workers (no workflow cache: every workflow task replays the whole history; a
step restarts them too) and the sandbox, whose fault injection plays the model's answers for one step
(``tests/support/model/real.py``). A few examples only: every step is real RPCs.
"""

from __future__ import annotations

import asyncio

from hypothesis.stateful import run_state_machine_as_test
from temporalio.testing import WorkflowEnvironment

from tests.support.model.gateway import Answer
from tests.support.model.profiles import model_settings, replayed
from tests.support.model.real import real_stack
from tests.support.model.real_company import RealCompanyModel
from workflows.types.errors import ErrorType


async def test_the_model_steps_against_the_real_workflow(own_time_skipping_env: WorkflowEnvironment) -> None:
    """A few examples of the model's steps on the real stack (``MODEL_EXAMPLES`` runs more)."""
    async with real_stack(own_time_skipping_env) as real:
        RealCompanyModel.real = real
        settings = model_settings(examples=10, steps=10, share=20)
        await asyncio.to_thread(run_state_machine_as_test, RealCompanyModel, settings=settings)


def _short_grant_after_a_refresh() -> None:
    with replayed(RealCompanyModel) as state:
        state.start(connected=True)
        state.holds()
        state.time(seconds="next wake", answer=Answer(kind="grant", lifetime=120, refresh="rotate"))
        state.holds()
        state.ask(min_ttl=600, rejected=None, answer=Answer(kind="grant", lifetime=120, refresh="same"))
        state.holds()
        assert state.asked[-1].outcome[:2] == ("failed", ErrorType.TOKEN_UNAVAILABLE)


async def test_the_short_token_example_on_the_real_workflow(
    own_time_skipping_env: WorkflowEnvironment,
) -> None:
    """The model's first failing example (test_company_examples.py), on the real stack: refused, typed."""
    async with real_stack(own_time_skipping_env) as real:
        RealCompanyModel.real = real
        await asyncio.to_thread(_short_grant_after_a_refresh)
