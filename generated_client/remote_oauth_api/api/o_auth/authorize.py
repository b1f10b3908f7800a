from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.authorize_response_type import AuthorizeResponseType
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    client_id: str,
    response_type: AuthorizeResponseType,
    redirect_uri: str,
    scope: str | Unset = UNSET,
    state: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["client_id"] = client_id

    json_response_type = response_type.value
    params["response_type"] = json_response_type

    params["redirect_uri"] = redirect_uri

    params["scope"] = scope

    params["state"] = state

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/oauth/authorize",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | None:
    if response.status_code == 302:
        return None

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    client_id: str,
    response_type: AuthorizeResponseType,
    redirect_uri: str,
    scope: str | Unset = UNSET,
    state: str | Unset = UNSET,
) -> Response[Any]:
    """Authorize A Company

     Redirect the company admin to this endpoint to grant access. Remote
    returns an authorization code to the partner's `redirect_uri` that
    can then be exchanged at `/oauth2/token` for a company-scoped
    access token.

    Args:
        client_id (str):
        response_type (AuthorizeResponseType):
        redirect_uri (str):
        scope (str | Unset): Space-separated scope list.
        state (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any]
    """

    kwargs = _get_kwargs(
        client_id=client_id,
        response_type=response_type,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    client_id: str,
    response_type: AuthorizeResponseType,
    redirect_uri: str,
    scope: str | Unset = UNSET,
    state: str | Unset = UNSET,
) -> Response[Any]:
    """Authorize A Company

     Redirect the company admin to this endpoint to grant access. Remote
    returns an authorization code to the partner's `redirect_uri` that
    can then be exchanged at `/oauth2/token` for a company-scoped
    access token.

    Args:
        client_id (str):
        response_type (AuthorizeResponseType):
        redirect_uri (str):
        scope (str | Unset): Space-separated scope list.
        state (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any]
    """

    kwargs = _get_kwargs(
        client_id=client_id,
        response_type=response_type,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)
