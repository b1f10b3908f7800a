"""The codec server: ``POST /encode`` and ``POST /decode`` over HTTP, so the Temporal UI can show payloads.

Without an authorizer it decrypts for anyone who can reach it, so it answers only on a loopback ``Host`` (or
one it is told of); with one (``workflows.io.codec_auth``) every request must carry a token it accepts. CORS
headers go only to the UI's origin. The encryption itself is ``workflows.io.codec``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from urllib.parse import urlsplit

from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from workflows.io.codec import EncryptionCodec, Keyring
from workflows.io.codec_auth import Authorizer
from workflows.io.settings import is_loopback
from workflows.types.errors import ConfigurationError

__all__ = ["codec_app"]

_MAX_CODEC_REQUEST_BYTES = 4 * 1024 * 1024
_CORS_HEADERS = "Content-Type, X-Namespace, Authorization"


def codec_app(
    keyring: Keyring,
    *,
    allowed_origins: Collection[str],
    allowed_hosts: Collection[str] = (),
    authorize: Authorizer | None = None,
) -> Starlette:
    """A Temporal codec server (``POST /encode``, ``POST /decode``) so the Temporal UI can show payloads.

    Without ``authorize`` it decrypts for anyone who can reach it: bind it to 127.0.0.1 (the dev stack).
    Requests whose ``Host`` is not a loopback name or address (or one of ``allowed_hosts``) are then refused:
    a web page cannot reach it through DNS rebinding, where the browser sends the attacker's host name. With
    ``authorize``, every ``POST`` needs an ``Authorization`` header it accepts (401 otherwise), on any
    ``Host``. CORS answers only ``allowed_origins`` (the UI's origin); a preflight needs no token, as
    browsers send none.
    """
    codec = EncryptionCodec(keyring)
    origins = frozenset(allowed_origins)
    hosts = frozenset(host.lower() for host in allowed_hosts)

    def host_allowed(request: Request) -> bool:
        try:
            name = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
        except ValueError:  # an unbalanced "[" in a hostile Host header
            return False
        return authorize is not None or is_loopback(name) or name in hosts

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and origin in origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
        response.headers["Vary"] = "Origin"
        return response

    def endpoint(
        transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            if not host_allowed(request):
                return JSONResponse({"error": "this codec server answers only on its loopback address"}, 421)
            if request.method == "OPTIONS":
                return cors(request, Response(status_code=200))
            if authorize is not None:
                refused = await authorize(request.headers.get("authorization"))
                if refused is not None:
                    return cors(
                        request,
                        JSONResponse(
                            {"error": f"unauthorized: {refused}"},
                            status_code=401,
                            headers={"WWW-Authenticate": "Bearer"},
                        ),
                    )
            body = await request.body()
            if len(body) > _MAX_CODEC_REQUEST_BYTES:
                return cors(request, JSONResponse({"error": "request too large"}, status_code=413))
            try:
                payloads = json_format.Parse(body, Payloads())
                result = Payloads(payloads=await transform(payloads.payloads))
            except (json_format.ParseError, UnicodeDecodeError):
                return cors(request, JSONResponse({"error": "body is not JSON Payloads"}, status_code=400))
            except ConfigurationError as err:
                return cors(request, JSONResponse({"error": str(err)}, status_code=400))
            text = json_format.MessageToJson(result, indent=None)
            return cors(request, Response(text, media_type="application/json"))

        return handle

    return Starlette(
        routes=[
            Route("/encode", endpoint(codec.encode), methods=["POST", "OPTIONS"]),
            Route("/decode", endpoint(codec.decode), methods=["POST", "OPTIONS"]),
        ]
    )
