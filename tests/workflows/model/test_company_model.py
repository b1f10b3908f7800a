"""Every interleaving of a company's life, checked after each step: the model of issue 19.

The real ``CompanyConsentWorkflow`` runs on ``ModelRuntime`` against the fake gateway (a ``World``);
Hypothesis chooses the steps: the partner onboarding (pinned or not), asking for ``retry`` or offboarding; an
admin of either company approving or denying in either browser; callbacks delivered again, late or from the
other browser; callers asking with different ``min_ttl`` or reporting a 401 for the current or an old token;
the gateway answering every way it can, or holding the answer into later steps; time passing to the next
wake; revocation at Remote; key rotation's carry-forward; and continue-as-new, whose twin must behave
exactly as the original on the next step. Worker restarts (replay) need a Temporal server:
``test_company_workflow.py`` drives those. The machinery is in ``tests/support/model/``.
"""

from __future__ import annotations

from tests.support.model.company import CompanyModel
from tests.support.model.profiles import model_settings

CompanyModel.TestCase.settings = model_settings(examples=300, steps=40)
TestCompanyModel = CompanyModel.TestCase
