"""Contains all the data models used in inputs/outputs"""

from .authorize_response_type import AuthorizeResponseType
from .exchange_o_auth_token_body import ExchangeOAuthTokenBody
from .exchange_o_auth_token_body_grant_type import ExchangeOAuthTokenBodyGrantType
from .exchange_o_auth_token_response_200 import ExchangeOAuthTokenResponse200
from .exchange_o_auth_token_response_200_token_type import (
    ExchangeOAuthTokenResponse200TokenType,
)
from .exchange_o_auth_token_response_400 import ExchangeOAuthTokenResponse400

__all__ = (
    "AuthorizeResponseType",
    "ExchangeOAuthTokenBody",
    "ExchangeOAuthTokenBodyGrantType",
    "ExchangeOAuthTokenResponse200",
    "ExchangeOAuthTokenResponse200TokenType",
    "ExchangeOAuthTokenResponse400",
)
