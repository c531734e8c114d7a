"""The one ASGI application: AWS protocols routed by the SigV4 scope's service name.

Each protocol adapter turns a request into domain calls and domain errors into its own
wire errors. Internal endpoints live under ``/_s3batch/``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from s3batch.api.auth import Authenticator
from s3batch.api.http import Receive, Request, Response, Scope, Send
from s3batch.api.s3.errors import error_response
from s3batch.errors import S3BatchError

logger = logging.getLogger(__name__)

Protocol = Callable[[Request], Awaitable[Response]]

#: Path prefix of s3batch's own endpoints (never a valid bucket name).
INTERNAL = "/_s3batch/"


#: JSON-protocol ``X-Amz-Target`` prefixes and the service each names.
TARGET_PREFIXES = {
    "secretsmanager": "secretsmanager",
    "AWSEvents": "events",
    "Logs_20140328": "logs",
    "CloudTrail_20131101": "cloudtrail",
}


def target_service(request: Request) -> str | None:
    """The service a JSON-protocol request names in ``X-Amz-Target`` (even when unsigned)."""
    target = request.headers.get("x-amz-target", "")
    prefix = target.rsplit(".", 1)[0].rsplit(".", 1)[-1]
    return TARGET_PREFIXES.get(prefix)


class ApiApp:
    """ASGI entry point for every AWS service s3batch speaks."""

    def __init__(self, protocols: dict[str, Protocol], auth: Authenticator, ready: Callable[[], bool]) -> None:
        self.auth = auth
        self.ready = ready
        #: Protocol adapters by the SigV4 service name they serve; "s3" also gets unsigned requests.
        self.protocols = protocols

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request.from_scope(scope, receive)
        response = await self.respond(request)
        if request.unread_body:
            # Answered before reading the body (e.g. refused after Expect: 100-continue):
            # close, or the unread bytes would be taken for the next request.
            response.headers.append(("connection", "close"))
        await response.send(send, head_only=request.method == "HEAD")

    async def respond(self, request: Request) -> Response:
        """Answer one request."""
        if request.raw_path.startswith(INTERNAL):
            return self._internal(request)
        service = target_service(request)
        if service is None:
            try:
                scope = self.auth.scope(request)
            except S3BatchError as exc:
                return error_response(exc, request.request_id, request.raw_path)
            service = scope.service if scope else "s3"
        protocol = self.protocols.get(service)
        if protocol is None:
            message = f"s3batch does not serve the '{service}' API on this endpoint yet."
            body = json.dumps({"__type": "UnknownOperationException", "message": message}).encode()
            return Response(400, [("content-type", "application/x-amz-json-1.1")], body)
        return await protocol(request)

    def _internal(self, request: Request) -> Response:
        if request.raw_path == INTERNAL + "health":
            ok = self.ready()
            body = json.dumps({"status": "ok" if ok else "starting"}).encode()
            return Response(200 if ok else 503, [("content-type", "application/json")], body)
        return Response(404, [("content-type", "application/json")], b'{"error": "not found"}')

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
