"""Authenticate requests against the server's access keys (SigV4)."""

from __future__ import annotations

from collections.abc import Iterable

from s3batch.api.http import Request
from s3batch.api.sigv4 import Scope, SignedRequest, Verified, scope_of, verify
from s3batch.clock import Clock
from s3batch.credentials import Credentials


def signed_request(request: Request) -> SignedRequest:
    """The parts of a request a signature covers."""
    return SignedRequest(request.method, request.raw_path, request.query_string, request.headers)


class Authenticator:
    """Checks SigV4 signatures with the configured key pairs."""

    def __init__(self, credentials: Iterable[Credentials], clock: Clock) -> None:
        self._secrets = {c.access_key_id: c.secret_access_key for c in credentials}
        self._clock = clock

    def scope(self, request: Request) -> Scope | None:
        """The credential scope a request claims (for routing), None when unsigned."""
        return scope_of(signed_request(request))

    def verify(self, request: Request, body_sha256: str | None = None) -> Verified:
        """Verify a request's signature. Raises an AuthError subclass when it fails."""
        return verify(signed_request(request), self._secrets.get, self._clock.now(), body_sha256)
