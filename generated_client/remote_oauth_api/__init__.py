"""A client library for accessing Remote OAuth 2.0 API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
