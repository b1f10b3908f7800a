"""Contains all the data models used in inputs/outputs"""

from .error_response import ErrorResponse
from .error_response_errors import ErrorResponseErrors
from .magic_link_params import MagicLinkParams
from .magic_link_response import MagicLinkResponse
from .magic_link_response_data import MagicLinkResponseData

__all__ = (
    "ErrorResponse",
    "ErrorResponseErrors",
    "MagicLinkParams",
    "MagicLinkResponse",
    "MagicLinkResponseData",
)
