"""A loopback HTTP endpoint for tests: answers POSTs with a settable status and records them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Endpoint:
    """Records each POST as (path, lower-cased headers, parsed JSON body)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.requests.append((self.path, headers, json.loads(body)))
                self.send_response(owner.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies received, in order."""
        return [body for _, _, body in self.requests]

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


def serve(status: int) -> Iterator[Endpoint]:
    """Fixture body: an endpoint answering ``status``, closed afterwards."""
    ep = Endpoint(status)
    yield ep
    ep.close()
