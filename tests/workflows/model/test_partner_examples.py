"""Every failing example the partner and assertion models have found, kept as a plain test (as printed)."""

from __future__ import annotations

from tests.workflows.model.gateway import Answer
from tests.workflows.model.profiles import replayed
from tests.workflows.model.test_partner_model import AssertionModel, PartnerModel


def test_a_partner_token_that_continues_as_new_while_starting_waits_for_its_retry_time() -> None:
    """Defect (fixed): the first grant failed, the run continued as new, and the new run granted again at
    once instead of at the retry time it carried (its twin asked the gateway one request early)."""
    with replayed(PartnerModel) as state:
        state.start()
        state.holds()
        state.operator(action="stop", answer=Answer(kind="grant", lifetime=3600, refresh="same"))
        state.holds()
        state.time(answer=Answer(kind="grant", lifetime=3600, refresh="same"), seconds="next wake")
        state.holds()
        state.time(answer=Answer(kind="grant", lifetime=3600, refresh="same"), seconds="next wake")
        state.holds()
        state.ask(answer=Answer(kind="invalid_grant", retry_after=7), min_ttl=0, rejected=None)
        state.holds()
        state.continue_as_new()
        state.holds()
        state.operator(action="retry", answer=Answer(kind="invalid_grant", retry_after=7))
        state.holds()


def test_a_401_report_to_an_assertion_cache_that_ended_starts_a_new_one() -> None:
    """The model once sent a 401 report to an assertion cache that had ended for being idle (the API starts
    a new one): two mints were in flight at once, one in each."""
    with replayed(AssertionModel) as state:
        state.start()
        state.holds()
        state.ask(answer=Answer(kind="grant", lifetime=3600, refresh="same"), min_ttl=0, rejected=None)
        state.holds()
        state.time(answer=Answer(kind="grant", lifetime=3600, refresh="same"), seconds="next wake")
        state.holds()
        state.ask(answer=Answer(kind="lost", lifetime=3600, refresh="same"), min_ttl=0, rejected=0)
        state.holds()
        state.ask(answer=Answer(kind="hold"), min_ttl=0, rejected=None)
        state.holds()
