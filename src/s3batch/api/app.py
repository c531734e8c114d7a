"""The one ASGI application: AWS protocols routed by the SigV4 scope's service name.

Each protocol adapter turns a request into domain calls and domain errors into its own
wire errors. Internal endpoints live under ``/_s3batch/``; the dashboard (an ASGI app
handed in by the caller) under ``/_s3batch/ui/``, and a browser's unsigned ``GET /`` is
redirected there. Every other unsigned request stays S3's (AccessDenied).
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
#: Where the dashboard is served (no bucket can shadow it).
DASHBOARD = INTERNAL + "ui"

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def browser_home(scope: Scope) -> bool:
    """An unsigned ``GET /`` from a browser (asks for HTML, no signature in headers or query)."""
    if scope.get("method") != "GET" or scope.get("path") != "/":
        return False
    if b"x-amz-" in scope.get("query_string", b"").lower():
        return False
    names = {name.lower() for name, _ in scope.get("headers", [])}
    if b"authorization" in names or any(n.startswith(b"x-amz-") for n in names):
        return False
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


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

    def __init__(
        self,
        protocols: dict[str, Protocol],
        auth: Authenticator,
        ready: Callable[[], bool],
        web: ASGIApp | None = None,
    ) -> None:
        self.auth = auth
        self.ready = ready
        #: The dashboard, served under :data:`DASHBOARD` when given.
        self.web = web
        #: Protocol adapters by the SigV4 service name they serve; "s3" also gets unsigned requests.
        self.protocols = protocols

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.web is not None and await self._web(scope, receive, send):
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

    async def _web(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve a dashboard request; False when the request is not the dashboard's."""
        path = scope.get("path", "")
        if path == DASHBOARD or path.startswith(DASHBOARD + "/"):
            await self.web(scope, receive, send)  # type: ignore[misc]
            return True
        if browser_home(scope):
            await Response(302, [("location", DASHBOARD + "/"), ("content-length", "0")]).send(send)
            return True
        return False

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
