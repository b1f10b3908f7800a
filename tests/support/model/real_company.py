"""The company model's steps as a machine on the real stack (``real.py``), checked from the outside.

Each example is a new company. After every step: a token handed out answers its request (or the update fails
typed), a phase with a token has one and its refresh token works at the gateway, a phase waiting for consent
has a link, the bound company never changes, and no credential the sandbox issued appears in a status or a
message.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from tests.support.model.gateway import Answer
from tests.support.model.machine import ANSWERS, MIN_TTLS
from tests.support.model.real import RealStack
from tests.support.model.world import TYPED
from tests.support.stack import CLIENT_SECRET
from workflows.company import CompanyConsentWorkflow
from workflows.types.company import Callback, CompanyStatus
from workflows.types.errors import NotReadyError
from workflows.types.kept_token import FreshnessRequest, token_digest
from workflows.types.tokens import TokenGrant

MOSTLY = st.sampled_from([True, True, True, False])
SLACK = timedelta(seconds=5)
"""Server time read after an update completes may be a little later than when it completed."""
REFUSED = "ValueError"
"""The type a validator's refusal reaches the client with (nothing was written)."""
_refs = itertools.count()


@dataclass
class Asked:
    min_ttl: float
    rejected: str | None
    outcome: tuple[object, ...]


class RealCompanyModel(RuleBasedStateMachine):
    """One company on the real stack (``real`` is set by the test that runs the machine)."""

    real: RealStack

    def __init__(self) -> None:
        super().__init__()
        self.ref = f"model-{next(_refs)}"
        self.handle = self.real.stack.handle(self.ref)
        self.callbacks: list[Callback] = []
        self.asked: list[Asked] = []
        self.texts: list[str] = []
        self.company_id: str | None = None
        self.refusals: list[str | None] = []
        """The types of refused callbacks."""

    @initialize(connected=MOSTLY)
    def start(self, connected: bool) -> None:
        self.real.run(self.real.stack.oauth.onboard(self.ref))
        if connected:
            self.consent(company="A", approve=True, back=True, answer=Answer())

    @property
    def running(self) -> bool:
        described = self.real.run(self.handle.describe())
        return described.status is WorkflowExecutionStatus.RUNNING

    def status(self) -> CompanyStatus:
        return self.real.run(self.handle.query(CompanyConsentWorkflow.status))

    # -- steps ----------------------------------------------------------------------------------------

    @rule(action=st.sampled_from(["onboard", "onboard pinned to B", "retry", "offboard"]), answer=ANSWERS)
    def partner(self, action: str, answer: Answer) -> None:
        oauth = self.real.stack.oauth

        async def act() -> None:
            async with self.real.answering(answer):
                if action == "retry":
                    await oauth.retry(self.ref)
                elif action == "offboard":
                    await oauth.offboard(self.ref, reason="the model offboards")
                else:
                    pin = await self._other_company() if action.endswith("B") else None
                    try:
                        await oauth.onboard(self.ref, company_id=pin)
                    except NotReadyError as err:  # pinned to another company already: refused, typed
                        self.texts.append(str(err))

        if action == "onboard" and not self.running:
            self.company_id = None  # a new workflow: it binds afresh
            self.real.run(act())
        elif self.running:
            self.real.run(act())

    @precondition(lambda self: self.running)
    @rule(company=st.sampled_from(["A", "A", "B"]), approve=MOSTLY, back=MOSTLY, answer=ANSWERS)
    def consent(self, company: str, approve: bool, back: bool, answer: Answer) -> None:
        """An admin of ``company`` follows the current link; ``back``: the callback arrives at once."""
        url = self.status().authorize_url
        if url is None:
            return
        name = f"Acme {self.ref}" if company == "A" else f"Other {self.ref}"
        stack = self.real.stack

        async def act() -> None:
            response = await stack.http.get(httpx.URL(url).copy_add_param("company_name", name))
            back_to = httpx.URL(response.headers["location"])
            code = back_to.params.get("code") if approve else None
            error = None if approve else "access_denied"
            self.callbacks.append(Callback(state=back_to.params["state"], code=code, error=error))
            if back:
                await self._deliver(self.callbacks[-1], answer)

        self.real.run(act())

    @precondition(lambda self: self.callbacks and self.running)
    @rule(which=st.integers(0, 3), answer=ANSWERS)
    def deliver(self, which: int, answer: Answer) -> None:
        """An earlier callback arrives again (replayed, or late)."""
        self.real.run(self._deliver(self.callbacks[which % len(self.callbacks)], answer))

    @precondition(lambda self: self.running)
    @rule(min_ttl=MIN_TTLS, rejected=st.sampled_from([None, 0]), answer=ANSWERS)
    def ask(self, min_ttl: float, rejected: int | None, answer: Answer) -> None:
        """A caller asks through the update (``rejected``: a 401 report for the newest token handed out)."""
        seen = [a.outcome[1] for a in self.asked if a.outcome[0] == "token"]
        token = seen[-1] if rejected is not None and seen else None
        request = FreshnessRequest(min_ttl_seconds=min_ttl)
        if isinstance(token, TokenGrant):
            request = FreshnessRequest(rejected_token_sha256=token_digest(token))
        self.real.run(
            self._ask(request, token.access_token if isinstance(token, TokenGrant) else None, answer)
        )

    @rule(seconds=st.sampled_from(["next wake", 30, 600, 3000]), answer=ANSWERS)
    def time(self, seconds: str | int, answer: Answer) -> None:
        env = self.real.stack.env
        wait = timedelta(seconds=seconds) if isinstance(seconds, int) else timedelta(seconds=1)
        wake = self.status().next_refresh_at if isinstance(seconds, str) and self.running else None
        if wake is not None:
            now = self.real.run(env.get_current_time())
            wait = max(wake - now, timedelta(0)) + timedelta(seconds=1)

        async def act() -> None:
            async with self.real.answering(answer):
                await env.sleep(wait)

        self.real.run(act())

    @precondition(lambda self: self.running and self.company_id is not None)
    @rule()
    def revoke(self) -> None:
        """The company withdraws its consent at Remote."""
        assert self.real.stack.sandbox.store.revoke_company(self.company_id or "")

    @rule()
    def restart_workers(self) -> None:
        self.real.run(self.real.restart_workers())

    # -- how steps reach the workflow -----------------------------------------------------------------

    async def _other_company(self) -> str:
        created = await self.real.stack.http.post("/sandbox/companies", json={"name": f"Other {self.ref}"})
        company_id: str = created.json()["company_id"]
        return company_id

    async def _deliver(self, callback: Callback, answer: Answer) -> None:
        async with self.real.answering(answer):
            try:
                result = await self.real.stack.oauth.complete_consent(callback)
            except NotReadyError as err:
                self.texts.append(str(err))
                self.refusals.append(err.kind)
            else:
                self.texts.append(result.message)

    async def _ask(self, request: FreshnessRequest, rejected: str | None, answer: Answer) -> None:
        async with self.real.answering(answer):
            try:
                token = await self.handle.execute_update(CompanyConsentWorkflow.ensure_fresh, request)
            except WorkflowUpdateFailedError as err:
                cause = err.cause
                kind = cause.type if isinstance(cause, ApplicationError) else type(cause).__name__
                self.texts.append(str(cause))
                self.asked.append(Asked(request.min_ttl_seconds, rejected, ("failed", kind)))
                return
        now = await self.real.stack.env.get_current_time()
        self.asked.append(Asked(request.min_ttl_seconds, rejected, ("token", token, token.ttl(now))))

    # -- invariants -----------------------------------------------------------------------------------

    @invariant()
    def holds(self) -> None:
        assert set(self.refusals) <= TYPED, self.refusals
        for asked in self.asked:
            if asked.outcome[0] == "failed":
                assert asked.outcome[1] in TYPED | {REFUSED}, asked.outcome
            elif asked.rejected is not None:
                assert asked.outcome[1].access_token != asked.rejected, "handed back the rejected token"  # type: ignore[attr-defined]
            else:
                left = asked.outcome[2]
                assert isinstance(left, timedelta)
                assert left + SLACK >= timedelta(seconds=asked.min_ttl), (
                    f"handed out a token with {left} left"
                )
        if not self.running:
            return
        status = self.status()
        self.texts.append(repr(status))
        current = self.real.run(self.handle.query(CompanyConsentWorkflow.current_token))
        if status.phase.has_token:
            assert current is not None, f"{status.phase} without a token"
            store = self.real.stack.sandbox.store
            if not store.companies[status.company_id or ""].revoked:  # else it learns at its next refresh
                assert store.introspect(current.refresh_token or "")["active"], "kept a dead refresh token"
        if status.phase.wants_consent:
            assert status.authorize_url is not None, f"{status.phase} without an open connect link"
        self.company_id = self.company_id or status.company_id
        assert status.company_id == self.company_id, "the bound Remote company changed"
        store = self.real.stack.sandbox.store
        secrets = {CLIENT_SECRET, *store.access_tokens, *store.refresh_tokens, *store.codes}
        assert [s for s in secrets for t in self.texts if s in t] == []

    def teardown(self) -> None:
        if self.running:  # its timers would fire in later examples' skipped time
            self.real.run(self.real.stack.oauth.offboard(self.ref, reason="the example ended"))
