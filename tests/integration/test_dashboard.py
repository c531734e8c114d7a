"""The dashboard in a real browser (Debian's chromium, driven by Playwright) against ``s3batch up``.

Each test does what a user does: upload and watch the counts change, read and filter a job's
log, cancel a queued job, replay a dead letter, upload from the objects page. The main pages
are saved to ``docs/`` as screenshots when ``S3BATCH_SCREENSHOTS=1`` (the README shows the dashboard).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    """A server running the tutorial pipeline (embedded PostgreSQL and DuckDB)."""
    srv = start_server(tmp_path_factory.mktemp("dashboard"), dashboard_stack())
    yield srv
    assert srv.stop() == 0, srv.log()


def count(page: Any, status: str) -> Any:
    """The dashboard's overview count for a status."""
    return page.locator(f'.counts [data-status="{status}"] .num')


def test_an_upload_turns_into_a_succeeded_count_without_a_reload(
    page: Any, server: ChildServer
) -> None:
    page.goto(UI + "/")
    sync_api.expect(count(page, "SUCCEEDED")).to_have_text("0")
    sync_api.expect(page.locator("text=held").first).to_be_visible()
    client(server, "s3").put_object(Bucket=BUCKET, Key="persons.csv", Body=PERSONS)
    sync_api.expect(count(page, "SUCCEEDED")).to_have_text("1")  # live update, same page
    queue_link = page.locator(
        'tr[data-queue="update-RDS-data-from-S3"] a[data-queue-status="SUCCEEDED"]'
    )
    sync_api.expect(queue_link).to_have_text("1")
    shot(page, "dashboard.png")
    page.set_viewport_size(NARROW)
    shot(page, "dashboard-narrow.png")
    page.set_viewport_size(WIDE)
    queue_link.click()
    sync_api.expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    sync_api.expect(page.locator("table.jobs")).to_contain_text("load-persons")
    page.select_option('select[name="since"]', "1h")
    page.get_by_role("button", name="Filter").click()
    sync_api.expect(page.locator("table.jobs tbody tr")).to_have_count(1)


def test_a_job_page_shows_its_trigger_and_its_log_filters_by_keyword(
    page: Any, server: ChildServer
) -> None:
    page.goto(UI + "/jobs?status=SUCCEEDED")
    page.locator("table.jobs a", has_text="load-persons").first.click()
    sync_api.expect(page.locator("#job-status")).to_have_text("SUCCEEDED")
    sync_api.expect(page.locator("#trigger")).to_contain_text("S3-Source-Batch-Target")
    sync_api.expect(page.locator("#trigger-event")).to_contain_text('"key": "persons.csv"')
    sync_api.expect(page.locator("#cancel")).to_have_count(0)
    shot(page, "job.png")
    page.get_by_role("link", name="View logs").click()
    log = page.locator("table.log tbody")
    sync_api.expect(log).to_contain_text("Loaded 2 rows")
    shot(page, "logs.png")
    everything = log.locator("tr").count()
    page.fill("#filter", "COPY")
    page.click("#apply")
    sync_api.expect(page).to_have_url(re.compile(r"filter=COPY"))
    rows = log.locator("tr")
    assert 0 < rows.count() < everything
    for text in rows.locator(".msg").all_inner_texts():
        assert "COPY" in text
    page.get_by_role("link", name="1d", exact=True).click()
    sync_api.expect(page.locator(".ranges .on")).to_have_text("1d")
    page.fill('input[name="start"]', "2000-01-01T00:00:00")
    page.get_by_role("button", name="Custom range").click()
    sync_api.expect(log).to_contain_text("COPY 2")  # the keyword filter is kept
    page.fill('input[name="start"]', "2999-01-01T00:00:00")
    page.get_by_role("button", name="Custom range").click()
    sync_api.expect(log).to_contain_text("No events")


def test_a_queued_job_is_cancelled_from_its_page(
    page: Any, server: ChildServer, seen: Seen
) -> None:
    job = client(server, "batch").submit_job(
        jobName="waits",
        jobQueue="held",
        jobDefinition="secretive",
        parameters={"bucket": BUCKET, "key": "none.csv"},
    )
    page.goto(f"{UI}/jobs/{job['jobId']}")
    sync_api.expect(page.locator("#job-status")).to_have_text("RUNNABLE")
    assert "hunter2-do-not-show" not in page.content()
    sync_api.expect(page.locator("main")).to_contain_text("DB_PASSWORD")
    sync_api.expect(page.locator("#environment tr.secret")).to_have_text(
        "PGPASSfrom RDS-credentials"
    )
    page.click("#cancel")
    sync_api.expect(page.locator("#job-status")).to_have_text("FAILED")
    assert seen.dialogs == ["Cancel this job?"]
    sync_api.expect(page.locator("main")).to_contain_text("Canceled from the dashboard")
    [described] = client(server, "batch").describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert described["status"] == "FAILED"


def test_an_array_job_lists_its_children(page: Any, server: ChildServer) -> None:
    job = client(server, "batch").submit_job(
        jobName="fan-out",
        jobQueue="held",
        jobDefinition="update-RDS-data-from-S3",
        arrayProperties={"size": 3},
        parameters={"bucket": BUCKET, "key": "none.csv"},
    )
    page.goto(f"{UI}/jobs/{job['jobId']}")
    sync_api.expect(page.locator("main")).to_contain_text("parent of 3 children")
    sync_api.expect(page.locator("#children tbody tr")).to_have_count(3)
    page.locator("#children tbody a").first.click()
    sync_api.expect(page.locator("main")).to_contain_text("child 0 of 3")
    page.click("#cancel")
    sync_api.expect(page.locator("#job-status")).to_have_text("FAILED")


def test_a_dead_letter_is_replayed_from_the_events_page(page: Any, server: ChildServer) -> None:
    events = client(server, "events")
    events.put_rule(
        Name="broken-hook", EventPattern=json.dumps({"detail-type": ["dashboard test"]})
    )
    events.put_targets(
        Rule="broken-hook",
        Targets=[
            {
                "Id": "hook",
                "Arn": f"{server.endpoint}/_s3batch/no-such-hook",
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
            }
        ],
    )
    events.put_events(
        Entries=[{"Source": "my.app", "DetailType": "dashboard test", "Detail": "{}"}]
    )
    page.goto(UI + "/events")
    replay = page.locator("#dead-letters button.replay")
    sync_api.expect(replay).to_have_count(1)
    sync_api.expect(page.locator("#rules")).to_contain_text("S3-Source-Batch-Target")
    shot(page, "events.png")
    action = page.locator("#dead-letters form").first.get_attribute("action")
    replay.click()
    # The replayed letter is gone; the hook still fails, so a new letter may take its place.
    sync_api.expect(page.locator(f'#dead-letters form[action="{action}"]')).to_have_count(0)
    page.fill('textarea[name="pattern"]', '{"source": ["aws.s3"]}')
    page.get_by_role("button", name="Test").click()
    sync_api.expect(page.locator("#test-result")).to_have_text("Matches")


def test_an_upload_from_the_objects_page_runs_the_pipeline(page: Any, server: ChildServer) -> None:
    page.goto(f"{UI}/objects/{BUCKET}")
    page.set_input_files(
        "#upload-file",
        files=[
            {
                "name": "more-persons.csv",
                "mimeType": "text/csv",
                "buffer": PERSONS + b"3,cy@example.com,TX,73301,3 Elm St\n",
            }
        ],
    )
    page.get_by_role("button", name="Upload").click()
    sync_api.expect(page.locator("#upload-status")).to_contain_text("Uploaded more-persons.csv")
    sync_api.expect(page.locator("#live")).to_contain_text("more-persons.csv")
    shot(page, "objects.png")
    succeeded(server, 2)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").last.click()
    assert Path(download.value.path()).read_bytes().startswith(b"1,ada@example.com")


def test_the_root_sends_a_browser_to_the_dashboard(page: Any) -> None:
    page.goto("/")
    sync_api.expect(page).to_have_url(re.compile(re.escape(UI) + "/$"))


def test_an_upload_refused_as_an_expired_form_says_so(page: Any) -> None:
    page.goto(f"{UI}/objects/{BUCKET}")
    # As after a server restart: the token the page holds is no longer valid.
    page.route(
        "**/upload?*",
        lambda route: route.continue_(headers={**route.request.headers, "x-csrf-token": "expired"}),
    )
    page.set_input_files(
        "#upload-file", files=[{"name": "late.csv", "mimeType": "text/csv", "buffer": b"x\n"}]
    )
    page.get_by_role("button", name="Upload").click()
    status = page.locator("#upload-status")
    sync_api.expect(status).to_contain_text("Failed: ")
    sync_api.expect(status).to_contain_text("The form expired")
