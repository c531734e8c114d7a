"""Templates: one Jinja2 environment, filters for times and sizes, and partial renders.

A page that updates live asks for itself again with ``X-Partial: 1``; the same template
is rendered without the page chrome, and ``live.js`` swaps its ``#live`` region in.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

#: Where every dashboard URL starts (a bucket can never be named ``_s3batch``).
PREFIX = "/_s3batch/ui"
#: Jobs per page of the jobs list.
PAGE_SIZE = 25

#: Headers of every page (the security headers are added to every response by
#: :class:`~s3batch.web.security.SecurityHeaders`).
HEADERS = {"cache-control": "no-store"}

_HERE = Path(__file__).parent


def _ms(value: int | None) -> str:
    if value is None:
        return "–"
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    # A naive time is UTC (the load ledger stores ``timestamp`` columns in UTC).
    return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _size(value: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return str(value)


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=False, default=str)


def environment() -> Environment:
    """The dashboard's template environment (autoescaped HTML)."""
    env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape())
    env.filters.update(ms=_ms, when=_when, size=_size, pretty=_pretty)
    env.globals["prefix"] = PREFIX
    return env


class Renderer:
    """Renders pages with what every page needs: the prefix, the CSRF token, who is signed in."""

    def __init__(self) -> None:
        self.env = environment()

    def page(
        self, request: Request, template: str, code: int = 200, **context: Any
    ) -> HTMLResponse:
        """A full page, or only its live region when the request is a live update."""
        partial = request.headers.get("x-partial") == "1"
        context.update(
            request=request,
            layout="partial.html" if partial else "base.html",
            csrf=request.state.csrf,
            user=request.state.user,
            login_required=request.state.login_required,
        )
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, code, headers=HEADERS)
