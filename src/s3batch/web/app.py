"""The dashboard's ASGI app: routes over the services, sign-in, and CSRF checks.

Every page lives under :data:`~s3batch.web.render.PREFIX` (``/_s3batch/ui/``): a path no
bucket can take, so the dashboard never shadows an S3 call. The API app hands such
requests here, and redirects a browser's unsigned ``GET /`` to the dashboard.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from s3batch.credentials import Credentials
from s3batch.runtime import Services
from s3batch.web.definitions import DefinitionPages
from s3batch.web.events import EventPages
from s3batch.web.jobs import JobPages
from s3batch.web.loads import LoadPages
from s3batch.web.objects import ObjectPages
from s3batch.web.render import PREFIX, Renderer
from s3batch.web.security import (
    BROWSER_COOKIE,
    SESSION_COOKIE,
    Access,
    SecurityHeaders,
    new_browser_id,
)

Handler = Callable[[Request], Response | Awaitable[Response]]

#: Form bodies larger than this are refused (forms here are a few fields).
MAX_FORM = 256 * 1024


class Guard:
    """Wraps each handler: who is signed in, the browser's CSRF token, form parsing and checks."""

    def __init__(self, access: Access, render: Renderer) -> None:
        self.access = access
        self.render = render

    def __call__(
        self, handler: Handler, open_page: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """The guarded endpoint."""

        async def endpoint(request: Request) -> Response:
            browser = request.cookies.get(BROWSER_COOKIE)
            fresh = None if browser else new_browser_id()
            request.state.csrf = self.access.csrf(browser or fresh or "")
            request.state.login_required = self.access.login_required
            user = self.access.who(request.cookies.get(SESSION_COOKIE))
            request.state.user = user
            refused = await self._refuse(request, browser, user, open_page)
            response = refused or await _call(handler, request)
            if fresh:
                response.set_cookie(
                    BROWSER_COOKIE, fresh, httponly=True, samesite="strict", path=PREFIX
                )
            return response

        return endpoint

    async def _refuse(
        self, request: Request, browser: str | None, user: str | None, open_page: bool
    ) -> Response | None:
        if not self.access.host_ok(request.headers.get("host", "")):
            return Response(
                "the dashboard answers loopback names only (bind --host to sign in from elsewhere)",
                421,
            )
        if self.access.login_required and user is None and not open_page:
            if request.method == "GET":
                target = quote(
                    request.url.path + ("?" + request.url.query if request.url.query else "")
                )
                return RedirectResponse(f"{PREFIX}/login?next={target}", 303)
            return Response("sign in first", 401)
        if request.method != "POST":
            return None
        request.state.form = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            body = await request.body()
            if len(body) > MAX_FORM:
                return Response("form too large", 413)
            request.state.form = dict(
                parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
            )
        token = request.state.form.get("csrf") or request.headers.get("x-csrf-token")
        if not self.access.csrf_ok(browser, token):
            return self.render.page(
                request,
                "error.html",
                403,
                message="The form expired (CSRF check failed): reload the page and try again.",
            )
        return None


async def _call(handler: Handler, request: Request) -> Response:
    if inspect.iscoroutinefunction(handler):
        return await handler(request)  # type: ignore[no-any-return]
    return await run_in_threadpool(handler, request)  # type: ignore[arg-type]


class Login:
    """Sign in with an access key id and its secret (only asked when not on loopback)."""

    def __init__(self, access: Access, render: Renderer) -> None:
        self.access = access
        self.render = render

    def form(self, request: Request) -> Response:
        """The sign-in form."""
        return self.render.page(
            request, "login.html", next=_safe_next(request.query_params.get("next")), error=None
        )

    def submit(self, request: Request) -> Response:
        """POST: check the key pair and set the session cookie."""
        form = request.state.form
        akid, secret = form.get("access_key_id", ""), form.get("secret_access_key", "")
        target = _safe_next(form.get("next"))
        if not self.access.check_key(akid, secret):
            return self.render.page(
                request, "login.html", 401, next=target, error="Unknown key or wrong secret."
            )
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE, self.access.session(akid), httponly=True, samesite="strict", path=PREFIX
        )
        return response

    def logout(self, request: Request) -> Response:
        """POST: forget the session."""
        response = RedirectResponse(f"{PREFIX}/login", 303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response


def _safe_next(target: str | None) -> str:
    return (
        target
        if target and target.startswith(PREFIX + "/") and "//" not in target
        else PREFIX + "/"
    )


def dashboard_app(
    services: Services, credentials: Iterable[Credentials], host: str, region: str
) -> Starlette:
    """The dashboard for one server's services (mounted at :data:`PREFIX` by the API app)."""
    creds = list(credentials)
    render, access = Renderer(), Access(host, creds)
    guard = Guard(access, render)
    jobs = JobPages(services, render, access)
    events = EventPages(services, render)
    definitions = DefinitionPages(services.batch, render, access)
    loads = LoadPages(services.secrets, services.batch, render)
    objects = ObjectPages(services, render, region, creds[0].access_key_id if creds else "")
    login = Login(access, render)

    def get(path: str, handler: Handler, **kw: bool) -> Route:
        return Route(path, guard(handler, **kw), methods=["GET"])

    def post(path: str, handler: Handler, **kw: bool) -> Route:
        return Route(path, guard(handler, **kw), methods=["POST"])

    routes: list[BaseRoute] = [
        get("/", jobs.dashboard),
        get("/jobs", jobs.jobs),
        get("/jobs/{job_id}", jobs.job),
        get("/jobs/{job_id}/logs", jobs.job_logs),
        post("/jobs/{job_id}/cancel", partial(_with_kind, jobs.stop, "cancel")),
        post("/jobs/{job_id}/terminate", partial(_with_kind, jobs.stop, "terminate")),
        get("/job-definitions", definitions.page),
        get("/job-definitions/{reference}", definitions.definition),
        get("/events", events.page),
        post("/events/test", events.test_pattern),
        post("/events/dead-letters/{letter_id}/replay", events.replay),
        post("/events/rules/state", events.set_state),
        get("/objects", objects.buckets),
        get("/objects/{bucket}", objects.bucket),
        get("/objects/{bucket}/download", objects.download),
        post("/objects/{bucket}/upload", objects.upload),
        get("/loads", loads.page),
        get("/login", login.form, open_page=True),
        post("/login", login.submit, open_page=True),
        post("/logout", login.logout, open_page=True),
        Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
    ]
    return Starlette(
        routes=[
            Route(PREFIX, lambda request: RedirectResponse(PREFIX + "/", 308)),
            Mount(PREFIX, routes=routes),
        ],
        middleware=[Middleware(SecurityHeaders)],
    )


def _with_kind(stop: Callable[[Request], Response], kind: str, request: Request) -> Response:
    request.path_params["kind"] = kind
    return stop(request)
