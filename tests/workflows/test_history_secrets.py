"""What Temporal stores about a company holds no credential in clear: history, search attributes, ids."""

from __future__ import annotations

import base64
from datetime import timedelta

from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from sandbox.config import SandboxConfig
from tests.support.history import decrypted_payloads
from tests.support.stack import CLIENT_SECRET, TTL, make_stack
from worker.temporal import with_converter
from workflows.io.codec import EncryptionCodec, Keyring
from workflows.types.company import Phase


async def test_raw_history_holds_no_secret(
    own_time_skipping_env: WorkflowEnvironment, task_queue: str, test_keyring: Keyring
) -> None:
    """After consent, two refreshes, revocation and a new link, raw history shows none of the credentials."""
    config = SandboxConfig(auto_approve=True, token_ttl=TTL)
    async with make_stack(own_time_skipping_env, task_queue, config=config) as stack:
        link = await stack.oauth.onboard("vault")
        callback = await stack.approve(link)
        assert (await stack.oauth.complete_consent(callback)).phase is Phase.ACTIVE
        await stack.env.sleep(timedelta(hours=2, minutes=5))
        token = await stack.oauth.token("vault", min_ttl=0)
        status = await stack.oauth.status("vault")
        await stack.http.post(f"/sandbox/companies/{status.company_id}/revoke", json={})
        await stack.env.sleep(timedelta(hours=1, minutes=5))
        revoked = await stack.oauth.status("vault")
        assert revoked.phase is Phase.CONSENT_REVOKED
        grants = (await stack.http.get("/sandbox/grants")).json()
        description = await stack.handle("vault").describe()

        secrets = {
            "client secret": CLIENT_SECRET,
            "access token": token.access_token,
            "refresh token": token.refresh_token or "",
            "authorization code": callback.code or "",
            "first state": callback.state,
            "second state": (revoked.authorize_url or "").split("state=")[1],
        }
        assert status.refreshes == 2
        assert all(len(value) >= 16 for value in secrets.values()), "every credential was captured"

        raw_client = with_converter(stack.env.client, DataConverter.default)
        stored = (await raw_client.get_workflow_handle(description.id).fetch_history()).to_json()
        history = await raw_client.get_workflow_handle(description.id).fetch_history()
        decrypted = await decrypted_payloads(history.events, EncryptionCodec(test_keyring))

    for name, value in secrets.items():
        assert value not in stored, f"the {name} is in clear in the stored history"
        assert value not in str(description.raw_description), f"the {name} is in the workflow description"
    assert "vault" in description.id
    assert description.typed_search_attributes is not None
    assert base64.b64encode(b"binary/encrypted").decode() in stored  # payload metadata is base64 in JSON
    # With the key, the same history does hold the tokens: the scan above looks where they would be.
    assert secrets["refresh token"] in decrypted
    assert secrets["first state"] in decrypted
    assert grants, "the sandbox recorded the grant"
