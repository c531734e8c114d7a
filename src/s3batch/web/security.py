"""Who may see the dashboard: loopback needs no login; elsewhere a signed session cookie.

The session cookie holds the access key id, an expiry and an HMAC under a key made fresh at
each start (restarting the server signs everyone out). Every state-changing action is a POST
carrying a CSRF token derived from the browser's session id, and values that look secret
are masked before a page shows them. Every response carries a strict Content-Security-Policy:
pages load scripts and styles from the dashboard's own static files only (no inline code).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from s3batch.credentials import Credentials

#: Hosts whose dashboard is reachable from this machine only (no login asked).
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: How long a sign-in lasts, in seconds.
SESSION_SECONDS = 12 * 3600
#: Cookie names: the signed sign-in, and the random id CSRF tokens are bound to.
SESSION_COOKIE, BROWSER_COOKIE = "s3batch_session", "s3batch_browser"
#: Environment variable names whose values are never shown.
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|PASSWD|(^|_)PASS($|_)|TOKEN|CREDENTIAL|PRIVATE|KEY$|DSN|CONNECTION", re.I
)
#: The password of a URL's ``user:password@`` (``postgresql://app:pw@db/app``), wherever shown.
URL_PASSWORD = re.compile(r"(://[^\s/:@]+:)[^\s@]+(?=@)")
#: What a masked value looks like.
MASK = "••••••"
#: Only the dashboard's own scripts, styles, forms and images; never framed; no ``<base>``.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
#: Headers of every dashboard response (pages, static files, redirects, errors).
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


class Access:
    """Sign-in and CSRF checks for one server."""

    def __init__(self, host: str, credentials: Iterable[Credentials]) -> None:
        self.login_required = host not in LOOPBACK
        self._secrets = {c.access_key_id: c.secret_access_key for c in credentials}
        self._key = secrets.token_bytes(32)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def host_ok(self, host_header: str) -> bool:
        """Without sign-in, only loopback names may be asked for (a rebound DNS name may not)."""
        if self.login_required:
            return True
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return name.strip("[]") in LOOPBACK

    def check_key(self, access_key_id: str, secret_access_key: str) -> bool:
        """Whether the pair is one of the server's credentials."""
        expected = self._secrets.get(access_key_id)
        return expected is not None and hmac.compare_digest(expected, secret_access_key)

    def session(self, access_key_id: str) -> str:
        """A session cookie value for a signed-in key."""
        body = f"{access_key_id}:{int(time.time()) + SESSION_SECONDS}"
        return f"{body}:{self._sign(body)}"

    def who(self, cookie: str | None) -> str | None:
        """The access key id a valid, unexpired session cookie names, else None."""
        if not cookie or cookie.count(":") != 2:
            return None
        akid, expiry, mac = cookie.split(":")
        if not hmac.compare_digest(mac, self._sign(f"{akid}:{expiry}")):
            return None
        return (
            akid
            if expiry.isdigit() and int(expiry) > time.time() and akid in self._secrets
            else None
        )

    def csrf(self, browser_id: str) -> str:
        """The CSRF token of one browser."""
        return self._sign("csrf:" + browser_id)

    def csrf_ok(self, browser_id: str | None, token: str | None) -> bool:
        """Whether a POST carries its browser's token."""
        return bool(browser_id and token) and hmac.compare_digest(
            self.csrf(browser_id or ""), token or ""
        )

    def mask(self, name: str, value: str) -> str:
        """``value``, unless its name looks secret or it is one of the server's secret keys;
        a URL's password in it is masked in any case."""
        if SECRET_NAME.search(name) and not name.upper().endswith("_ID"):
            return MASK
        return MASK if value in self._secrets.values() else self.mask_text(value)

    def mask_text(self, text: str) -> str:
        """``text`` (a command line, say) with URL passwords and the server's secret keys masked."""
        for secret in self._secrets.values():
            text = text.replace(secret, MASK)
        return URL_PASSWORD.sub(rf"\g<1>{MASK}", text)


def new_browser_id() -> str:
    """A random id for a browser that has none yet."""
    return secrets.token_urlsafe(24)


class SecurityHeaders:
    """ASGI middleware: adds :data:`SECURITY_HEADERS` to every HTTP response of the app it wraps."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
