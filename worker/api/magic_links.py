"""Magic links: passwordless sign-in URLs for a company's admin or an invited employee, made with the
company's own token by a one-shot workflow (the call to Remote runs in the worker, like every other)."""

from __future__ import annotations

import dataclasses
import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from worker.api.auth import DEFAULT_MIN_TTL
from worker.api.companies.tokens import CompanyTokens
from worker.api.rpc import failed
from workflows.io.gateway.magic_link_params import check_magic_link
from workflows.magic_link import WORKFLOW_ID_PREFIX, MagicLinkRequest, MagicLinkWorkflow
from workflows.types.activity import MagicLinkInput
from workflows.types.errors import ErrorType, NotReadyError, RequestRejectedError

__all__ = ["MagicLinks"]


class MagicLinks:
    """Sign-in links; a 401 on the company's token refreshes it once (fleet-wide) and tries again."""

    def __init__(
        self, client: Client, *, task_queue: str, token_task_queue: str | None, companies: CompanyTokens
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._token_task_queue = token_task_queue
        self._companies = companies

    async def link(
        self, company_ref: str, *, user_id: str | None, employment_id: str | None, path: str | None
    ) -> str:
        # The activity's own validator, before a token is even read: bad input never costs a request.
        link = MagicLinkInput(
            access_token="not-sent",  # noqa: S106 - a placeholder: the real token is read after the checks
            user_id=user_id,
            employment_id=employment_id,
            path=path,
        )
        try:
            check_magic_link(link)
        except ApplicationError as err:
            raise RequestRejectedError(err.message) from None
        token = await self._companies.token(company_ref, min_ttl=DEFAULT_MIN_TTL)
        try:
            return await self._make(dataclasses.replace(link, access_token=token.access_token))
        except NotReadyError as err:
            if err.kind is not ErrorType.UNAUTHORIZED:
                raise
        fresh = await self._companies.after_rejection(company_ref, token)
        return await self._make(dataclasses.replace(link, access_token=fresh.access_token))

    async def _make(self, link: MagicLinkInput) -> str:
        request = MagicLinkRequest(link=link, token_task_queue=self._token_task_queue)
        try:
            result = await self._client.execute_workflow(
                MagicLinkWorkflow.run,
                request,
                id=WORKFLOW_ID_PREFIX + str(uuid.uuid4()),
                task_queue=self._task_queue,
            )
        except WorkflowFailureError as err:
            raise failed(err) from None
        return result.url
