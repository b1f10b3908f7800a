from enum import StrEnum


class ExchangeOAuthTokenBodyGrantType(StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    REFRESH_TOKEN = "refresh_token"
    URNIETFPARAMSOAUTHGRANT_TYPEJWT_BEARER = (
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    )

    def __str__(self) -> str:
        return str(self.value)
