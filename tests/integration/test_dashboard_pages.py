"""The Loads and Job definitions pages, and what every page promises, in a real browser.

Loads: an upload's ledger rows in both tutorial targets, linked to the job and the object,
while a target that cannot be reached says so. Job definitions: ACTIVE by default, INACTIVE
on request, secrets by name only. Every page: the Content-Security-Policy and companion
headers, no secret in the HTML, no sideways scrolling on a phone, and a browser that really
refuses inline script under that policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_support import (
    BUCKET,
    NARROW,
    PERSONS,
    UI,
    WIDE,
    Seen,
    client,
    dashboard_stack,
    shot,
    skip_without_chromium,
    start_server,
    succeeded,
)

from s3batch.cli.child import ChildServer

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")

pytestmark = [pytest.mark.slow, skip_without_chromium]

#: The password of a target nobody listens for (it must never reach a page).
UNREACHABLE_PASSWORD = "pw-of-the-unreachable-db"
#: A secret that describes no database: not a target.
TOKEN = "plain-token-not-a-target"


def pages_stack() -> dict[str, Any]:
    """The dashboard stack, a target on a closed port, a plain secret, and a definition with secrets."""
    stack = dashboard_stack()
    unreachable = {
        "engine": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "dbname": "nowhere",
        "username": "someone",
        "password": UNREACHABLE_PASSWORD,
    }
    stack["secrets"] += [
        {"Name": "Unreachable-credentials", "SecretString": json.dumps(unreachable)},
        {"Name": "api-token", "SecretString": TOKEN},
    ]
    with_secrets = json.loads(json.dumps(stack["jobDefinitions"][0]))
    with_secrets.update(
        jobDefinitionName="with-secrets",
        platformCapabilities=["FARGATE"],
        timeout={"attemptDurationSeconds": 600},
        retryStrategy={"attempts": 3, "evaluateOnExit": [{"onExitCode": "1", "action": "RETRY"}]},
    )
    with_secrets["containerProperties"]["secrets"] = [
        {"name": "PGPASSWORD", "valueFrom": "RDS-credentials"},
    ]
    stack["jobDefinitions"].append(with_secrets)
    return stack


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """A server running the tutorial pipeline plus the extras of :func:`pages_stack`."""
    srv = start_server(tmp_path_factory.mktemp("dashboard-pages"), pages_stack())
    yield srv
    assert srv.stop() == 0, srv.log()


def ledger_row(page: Any, target: str, key: str) -> Any:
    """The Loads page's row for ``key`` in the ``persons`` table of ``target``."""
    table = page.locator(f'section[data-target="{target}"] table[data-table="persons"]')
    return table.locator("tbody tr", has_text=key)


def test_the_loads_page_shows_each_targets_ledger(page: Any, server: ChildServer) -> None:
    client(server, "s3").put_object(Bucket=BUCKET, Key="ledger/persons.csv", Body=PERSONS)
    succeeded(server, 1)
    batch = client(server, "batch")
    [job] = batch.list_jobs(jobQueue="update-RDS-data-from-S3", jobStatus="SUCCEEDED")[
        "jobSummaryList"
    ]
    page.goto(UI + "/loads")
    for target in ("RDS-credentials", "Redshift-credentials"):
        row = ledger_row(page, target, "ledger/persons.csv")
        sync_api.expect(row).to_have_count(1)
        sync_api.expect(row.locator("a.job")).to_have_attribute("href", f"{UI}/jobs/{job['jobId']}")
        sync_api.expect(row.locator(".rows-loaded")).to_have_text("2")
    unreachable = page.locator('section[data-target="Unreachable-credentials"]')
    sync_api.expect(unreachable.locator(".error")).to_contain_text(
        "Cannot read this target's ledger"
    )
    sync_api.expect(page.locator('section[data-target="api-token"]')).to_have_count(0)
    assert UNREACHABLE_PASSWORD not in page.content()
    shot(page, "loads.png")
    ledger_row(page, "RDS-credentials", "ledger/persons.csv").get_by_role(
        "link", name="ledger/persons.csv"
    ).click()
    sync_api.expect(page.locator("#live")).to_contain_text("ledger/persons.csv")
    page.go_back()
    ledger_row(page, "RDS-credentials", "ledger/persons.csv").locator("a.job").click()
    sync_api.expect(page.locator("#job-status")).to_have_text("SUCCEEDED")


def test_job_definitions_are_listed_active_first_with_secrets_by_name(
    page: Any, server: ChildServer
) -> None:
    batch = client(server, "batch")
    batch.deregister_job_definition(jobDefinition="secretive:1")
    page.goto(UI + "/")
    page.get_by_role("link", name="Job definitions").click()
    rows = page.locator("table.definitions tbody tr")
    sync_api.expect(rows.filter(has_text="update-RDS-data-from-S3")).to_have_count(1)
    sync_api.expect(page.locator('tr[data-definition="secretive:1"]')).to_have_count(0)
    row = page.locator('tr[data-definition="with-secrets:1"]')
    for shown in (
        "s3batch:latest",
        "2",
        "4096 MiB",
        "s3batch load --bucket",
        "FARGATE",
        "3 attempt(s), 1 rule(s)",
        "600 s",
    ):
        sync_api.expect(row).to_contain_text(shown)
    shot(page, "job-definitions.png")
    page.get_by_role("link", name="INACTIVE").click()
    sync_api.expect(page.locator('tr[data-definition="secretive:1"]')).to_contain_text("INACTIVE")
    sync_api.expect(rows.filter(has_text="with-secrets")).to_have_count(0)
    page.locator('tr[data-definition="secretive:1"]').get_by_role("link", name="JSON").click()
    sync_api.expect(page.locator("#definition-json")).to_contain_text('"status": "INACTIVE"')
    sync_api.expect(page.locator("#environment")).to_contain_text("DB_PASSWORD")
    assert "hunter2-do-not-show" not in page.content()
    job = batch.submit_job(
        jobName="defined",
        jobQueue="held",
        jobDefinition="with-secrets",
        parameters={"bucket": BUCKET, "key": "none.csv"},
    )
    page.goto(f"{UI}/jobs/{job['jobId']}")
    page.locator("#definition").click()
    sync_api.expect(page.locator("#secrets")).to_contain_text("from RDS-credentials")
    definition = json.loads(page.locator("#definition-json").inner_text())
    assert definition["containerProperties"]["secrets"] == [
        {"name": "PGPASSWORD", "valueFrom": "RDS-credentials"}
    ]
    assert definition["revision"] == 1 and definition["status"] == "ACTIVE"


def pages(server: ChildServer) -> list[str]:
    """A path of every kind of page (a job's page and log need a job: one with a password in
    its environment waits in ``held``)."""
    job = client(server, "batch").submit_job(
        jobName="waiting",
        jobQueue="held",
        jobDefinition="update-RDS-data-from-S3",
        parameters={"bucket": BUCKET, "key": "none.csv"},
        containerOverrides={
            "environment": [
                {"name": "DB_PASSWORD", "value": "hunter2-do-not-show"},
                # Long and unbroken: the environment table must scroll, not widen the page.
                {"name": "LONG_SETTING", "value": "x" * 120},
            ]
        },
    )["jobId"]
    return [
        "/",
        "/jobs",
        f"/jobs/{job}",
        f"/jobs/{job}/logs",
        "/job-definitions",
        "/job-definitions/secretive:1",
        "/events",
        "/objects",
        f"/objects/{BUCKET}",
        "/loads",
        "/login",
        "/jobs/no-such-job",
    ]


def test_every_page_has_a_strict_policy_an_icon_no_secrets_and_fits_a_phone(
    page: Any, server: ChildServer
) -> None:
    secrets = (
        server.credentials.secret_access_key,
        UNREACHABLE_PASSWORD,
        "hunter2-do-not-show",
        TOKEN,
    )
    for path in pages(server):
        for viewport in (WIDE, NARROW):
            page.set_viewport_size(viewport)
            response = page.goto(UI + path)
            headers = response.headers
            csp = headers["content-security-policy"]
            for directive in (
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "frame-ancestors 'none'",
                "form-action 'self'",
                "base-uri 'none'",
            ):
                assert directive in csp, (path, csp)
            assert "unsafe" not in csp
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "same-origin"
            html = page.content()
            assert not any(secret in html for secret in secrets), path
            # A page naming no icon makes a browser ask the root for /favicon.ico: S3's
            # (unsigned: 403), an error in the console of every page.
            assert page.locator('link[rel="icon"]').count() == 1, path
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (path, viewport, overflow)
    static = page.request.get(UI + "/static/live.js")
    assert "script-src 'self'" in static.headers["content-security-policy"]


def test_the_browser_refuses_inline_script_under_the_policy(page: Any, seen: Seen) -> None:
    page.goto(UI + "/")
    injected = """() => document.body.insertAdjacentHTML(
        'beforeend', '<img src="/_s3batch/ui/static/none.png" onerror="document.title = 1">')"""
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(injected)
    assert page.title() != "1"
    assert seen.csp_violations
    seen.csp_violations.clear()  # caused on purpose: the tab's teardown check must not fail
