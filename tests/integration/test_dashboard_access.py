"""Who may use the dashboard: sign-in when the server listens beyond loopback, CSRF on every POST,
and the routing that keeps unsigned S3 calls S3's (plain HTTP, no browser needed)."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest
from batch_support import local_queue

from s3batch.cli.child import ChildServer

UI = "/_s3batch/ui"


@pytest.fixture(scope="module")
def exposed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """A server bound to every interface (so its dashboard asks for a sign-in); S3 only."""
    root = tmp_path_factory.mktemp("exposed")
    stack = root / "stack.yaml"
    stack.write_text("buckets: [{Bucket: exposed-bucket}]\n")
    srv = ChildServer(root / "data", extra_args=("--stack", str(stack), "--host", "0.0.0.0"))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def open(
        self, path: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_pages_ask_for_a_sign_in_and_accept_only_a_real_key(exposed: ChildServer) -> None:
    browser = Browser(exposed.endpoint)
    status, headers, _ = browser.open(UI + "/jobs")
    assert status == 303 and headers["location"].startswith(UI + "/login")
    status, _, page = browser.open(UI + "/login")
    assert status == 200
    token = csrf_of(page)
    key = exposed.credentials
    status, _, page = browser.open(
        UI + "/login",
        {"csrf": token, "access_key_id": key.access_key_id, "secret_access_key": "wrong"},
    )
    assert status == 401 and "wrong secret" in page
    status, _, _ = browser.open(
        UI + "/login",
        {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key},
    )
    assert status == 403  # no CSRF token
    form = {
        "csrf": token,
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
        "next": UI + "/objects",
    }
    status, headers, _ = browser.open(UI + "/login", form)
    assert status == 303 and headers["location"] == UI + "/objects"
    status, _, page = browser.open(UI + "/objects")
    assert status == 200 and "exposed-bucket" in page
    assert key.secret_access_key not in page


def test_a_post_without_its_csrf_token_is_refused(exposed: ChildServer) -> None:
    browser = Browser(exposed.endpoint)
    _, _, page = browser.open(UI + "/login")
    key = exposed.credentials
    browser.open(
        UI + "/login",
        {
            "csrf": csrf_of(page),
            "access_key_id": key.access_key_id,
            "secret_access_key": key.secret_access_key,
        },
    )
    status, _, _ = browser.open(UI + "/events/rules/state", {"rule": "x", "state": "DISABLED"})
    assert status == 403
    status, _, _ = browser.open(UI + "/objects/exposed-bucket/upload?key=a.csv", {"csrf": "forged"})
    assert status == 403
    stranger = Browser(exposed.endpoint)
    status, _, _ = stranger.open(UI + "/jobs/any/cancel", {"csrf": "forged"})
    assert status == 401


def test_unsigned_requests_that_look_like_s3_calls_stay_s3s(exposed: ChildServer) -> None:
    browser = Browser(exposed.endpoint)
    status, headers, _ = browser.open("/", headers={"Accept": "text/html"})
    assert status == 302 and headers["location"] == UI + "/"
    for path, accept in (("/", "*/*"), ("/jobs", "text/html"), ("/exposed-bucket", "text/html")):
        status, _, body = browser.open(path, headers={"Accept": accept})
        assert status == 403 and "<Code>AccessDenied</Code>" in body, (path, body)


def test_a_job_page_masks_passwords_however_they_are_passed(server: ChildServer) -> None:
    """DB_PASS / APIKEY-style names, and the password of a connection URL in a value or the command."""
    batch = boto3.client("batch", **server.client_kwargs())
    name = f"masking-{uuid.uuid4().hex[:8]}"
    local_queue(batch, name, name, 1, state="DISABLED")
    batch.register_job_definition(
        jobDefinitionName=name,
        type="container",
        containerProperties={
            "command": ["psql", "postgresql://app:pw-in-command@db/app"],
            "environment": [
                {"name": "DB_PASS", "value": "pw-by-name"},
                {"name": "APIKEY", "value": "pw-apikey"},
                {"name": "DATABASE_URL", "value": "postgresql://app:pw-in-url@db:5432/app"},
                {"name": "TABLE", "value": "persons"},
            ],
        },
    )
    job = batch.submit_job(jobName="masked", jobQueue=name, jobDefinition=name)
    status, _, page = Browser(server.endpoint).open(f"{UI}/jobs/{job['jobId']}")
    assert status == 200
    leaked = [pw for pw in ("pw-in-command", "pw-by-name", "pw-apikey", "pw-in-url") if pw in page]
    assert leaked == [], f"the job page shows {leaked}"
    assert "postgresql://app:••••••@db:5432/app" in page and "persons" in page
