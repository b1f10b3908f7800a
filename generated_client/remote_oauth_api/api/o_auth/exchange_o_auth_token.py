from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.exchange_o_auth_token_body import ExchangeOAuthTokenBody
from ...models.exchange_o_auth_token_response_200 import ExchangeOAuthTokenResponse200
from ...models.exchange_o_auth_token_response_400 import ExchangeOAuthTokenResponse400
from ...types import Response


def _get_kwargs(
    *,
    body: ExchangeOAuthTokenBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/oauth2/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400 | None:
    if response.status_code == 200:
        response_200 = ExchangeOAuthTokenResponse200.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ExchangeOAuthTokenResponse400.from_dict(response.json())

        return response_400

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ExchangeOAuthTokenBody,
) -> Response[ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400]:
    """Exchange OAuth 2.0 Token

     Exchange tokens for Authorization Code, Client Credentials,
    Assertion, and Refresh Token flows.

    Args:
        body (ExchangeOAuthTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ExchangeOAuthTokenBody,
) -> ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400 | None:
    """Exchange OAuth 2.0 Token

     Exchange tokens for Authorization Code, Client Credentials,
    Assertion, and Refresh Token flows.

    Args:
        body (ExchangeOAuthTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ExchangeOAuthTokenBody,
) -> Response[ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400]:
    """Exchange OAuth 2.0 Token

     Exchange tokens for Authorization Code, Client Credentials,
    Assertion, and Refresh Token flows.

    Args:
        body (ExchangeOAuthTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ExchangeOAuthTokenBody,
) -> ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400 | None:
    """Exchange OAuth 2.0 Token

     Exchange tokens for Authorization Code, Client Credentials,
    Assertion, and Refresh Token flows.

    Args:
        body (ExchangeOAuthTokenBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ExchangeOAuthTokenResponse200 | ExchangeOAuthTokenResponse400
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
