"""Companies: one workflow per company ref, its consent and tokens (``tokens``), and managing a connection
once it exists: reconnecting, narrowing, importing (``connections``, ``imports``), on input checked first
(``checked``)."""

from worker.api.companies.tokens import LIST_QUERY_TIMEOUT, CompanyTokens, Onboarding

__all__ = ["LIST_QUERY_TIMEOUT", "CompanyTokens", "Onboarding"]
