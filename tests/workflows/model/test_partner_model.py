"""The partner-token and assertion-token workflows under the same steps as the company's (issue 19).

Callers ask with different ``min_ttl`` or report a 401; the gateway answers every way it can or holds the
answer; time passes; the operator asks a partner token to ``retry`` or stops it; key rotation carries a
workflow forward; a workflow continues as new (its twin must keep step). When a partner token was stopped
or the assertion cache ended for being idle, the next caller starts it again.
"""

from __future__ import annotations

from tests.support.model.partner import AssertionModel, PartnerModel
from tests.support.model.profiles import model_settings

PartnerModel.TestCase.settings = model_settings(examples=150, steps=30)
AssertionModel.TestCase.settings = model_settings(examples=100, steps=30)
TestPartnerModel = PartnerModel.TestCase
TestAssertionModel = AssertionModel.TestCase
