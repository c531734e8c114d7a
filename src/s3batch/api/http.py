"""The raw-ASGI request and response used by the AWS protocol adapters.

The AWS protocols need what a framework normally hides: the path exactly as sent
(object keys are decoded once, never normalised), every header for signature checks,
and control over when the body is read (so ``Expect: 100-continue`` is answered only
after the request is authorised). These helpers are that thin layer.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def new_request_id() -> str:
    """A request id shaped like S3's (16 upper-case hex characters)."""
    return secrets.token_hex(8).upper()


@dataclass
class Request:
    """One HTTP request as the AWS adapters see it."""

    method: str
    raw_path: str
    query_string: str
    headers: dict[str, str]
    client: str
    receive: Receive
    request_id: str = field(default_factory=new_request_id)
    query: dict[str, str] = field(init=False)
    #: Set once the whole body has been read.
    body_done: bool = False

    def __post_init__(self) -> None:
        self.query = dict(parse_qsl(self.query_string, keep_blank_values=True))

    @classmethod
    def from_scope(cls, scope: Scope, receive: Receive) -> Request:
        """Build from an ASGI HTTP scope."""
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        raw = scope.get("raw_path") or scope["path"].encode()
        client = scope.get("client") or ("127.0.0.1", 0)
        return cls(
            scope["method"],
            raw.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            client[0],
            receive,
        )

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (the server answers 100-continue on the first read)."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("client disconnected before the body was complete")
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                self.body_done = True
                return

    @property
    def unread_body(self) -> bool:
        """Whether body bytes may still be on the wire (then the connection cannot be reused)."""
        declared = (
            self.headers.get("content-length", "0") not in ("", "0")
            or "transfer-encoding" in self.headers
        )
        return declared and not self.body_done

    async def body(self) -> bytes:
        """The whole body in memory (for small XML/JSON requests)."""
        parts = [chunk async for chunk in self.chunks()]
        return b"".join(parts)


@dataclass
class Response:
    """A response: a body in memory or an async stream of pieces."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None

    async def send(self, send: Send, head_only: bool = False) -> None:
        """Write the response with as few writes as possible."""
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        if self.stream is None and not any(k == b"content-length" for k, _ in raw_headers):
            raw_headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": raw_headers})
        if head_only or self.stream is None:
            await send({"type": "http.response.body", "body": b"" if head_only else self.body})
            return
        async for piece in self.stream:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def header_items(pairs: Iterable[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """Headers with the unset ones dropped."""
    return [(k, v) for k, v in pairs if v is not None]
