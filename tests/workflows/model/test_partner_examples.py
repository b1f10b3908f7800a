"""Every failing example the partner and assertion models have found, kept as a plain test (as printed)."""

from __future__ import annotations

from tests.support.model.gateway import Answer
from tests.support.model.partner import AssertionModel, PartnerModel
from tests.support.model.profiles import replayed


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


# -- found against deliberately broken variants of the kept-token core (issue 19's acceptance) -----------


def test_a_partner_tokens_retry_time_survives_continue_as_new() -> None:
    """Variant (a), continue-as-new dropping the retry time: after a failed refresh, the twin did not retry
    when asked to (CI profile)."""
    with replayed(PartnerModel) as state:
        state.start()
        state.holds()
        state.time(answer=Answer(kind="invalid_grant", retry_after=7), seconds="next wake")
        state.holds()
        state.continue_as_new()
        state.holds()
        state.operator(action="retry", answer=Answer(kind="grant", lifetime=3600, refresh="same"))
        state.holds()


def test_a_partner_caller_waits_for_the_grant_in_flight() -> None:
    """Variant (b), refresh not single-flight: a restarted token's first grant was held and a caller started
    a second one."""
    with replayed(PartnerModel) as state:
        state.start()
        state.holds()
        state.operator(action="stop", answer=Answer(kind="grant", lifetime=3600, refresh="same"))
        state.holds()
        state.ask(answer=Answer(kind="hold"), min_ttl=0, rejected=None)
        state.holds()


def test_two_assertion_callers_share_one_mint() -> None:
    """Variant (b) again: two callers of an empty assertion cache each minted."""
    with replayed(AssertionModel) as state:
        state.start()
        state.holds()
        state.ask(answer=Answer(kind="hold"), min_ttl=0, rejected=None)
        state.holds()
        state.ask(answer=Answer(kind="hold"), min_ttl=0, rejected=None)
        state.holds()


def test_a_partner_caller_waits_for_the_timer_grant_retrying_a_lost_answer() -> None:
    """Variant (b) again, on the final model: the timer's grant was retrying after a lost answer and a
    caller asking for 1000 s started a second one."""
    with replayed(PartnerModel) as state:
        state.start()
        state.holds()
        state.time(answer=Answer(kind="lost", lifetime=3600, refresh="same"), seconds="next wake")
        state.holds()
        state.ask(answer=Answer(kind="invalid_grant", retry_after=7), min_ttl=1000, rejected=None)
        state.holds()


def test_an_assertion_caller_waits_for_the_held_mint() -> None:
    """Variant (b) again, on the final model: a second caller minted beside a held mint."""
    with replayed(AssertionModel) as state:
        state.start()
        state.holds()
        state.ask(answer=Answer(kind="hold"), min_ttl=0, rejected=None)
        state.holds()
        state.ask(answer=Answer(kind="invalid_grant", retry_after=7), min_ttl=0, rejected=None)
        state.holds()
