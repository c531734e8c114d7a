"""The dashboard's job pages and the Loads page with thousands of jobs: right counts and
lists, and each render reads (decodes) only about as many jobs as it shows."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.responses import Response

from s3batch.batch.models import Job
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.store import jobs as job_rows
from s3batch.batch.store import listing
from s3batch.clock import FakeClock
from s3batch.config import Settings
from s3batch.events.store import record_event
from s3batch.runtime import Services, open_services
from s3batch.state.db import Database
from s3batch.web.jobs import STATUSES, JobPages
from s3batch.web.loads import RECENT_JOBS, LoadPages
from s3batch.web.render import PAGE_SIZE, Renderer
from s3batch.web.security import Access

S = JobStatus
#: Children of the big array job: the bulk of the jobs the pages must not read.
BIG_ARRAY = 3000
#: Load jobs submitted (more than the Loads page lists).
LOADS = RECENT_JOBS + 20
#: Most jobs a page may decode besides the ones it shows (the job itself, a lookahead page).
SLACK = 110


@pytest.fixture
def services(db: Database, tmp_path: Path) -> Services:
    """Two queues over one compute environment, a plain definition and a loader one."""
    found = open_services(
        Settings(data_dir=tmp_path), db, FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    batch = found.batch
    batch.ensure_compute_environment(
        {
            "computeEnvironmentName": "ce",
            "type": "MANAGED",
            "computeResources": {"type": "FARGATE", "maxvCpus": 4},
        }
    )
    for queue in ("busy", "loads"):
        batch.ensure_job_queue(
            {
                "jobQueueName": queue,
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}],
            }
        )
    _definition(batch, "work", ["true"])
    _definition(
        batch, "loader", ["s3batch", "load", "--bucket", "Ref::bucket", "--table", "Ref::table"]
    )
    # Passes the coarse SQL filter ("load" and "--table" in its command) but is no load job.
    _definition(batch, "decoy", ["echo", "not", "a", "load", "--table", "x"])
    return found


def _definition(batch: BatchService, name: str, command: list[str]) -> None:
    batch.ensure_job_definition(
        {
            "jobDefinitionName": name,
            "type": "container",
            "containerProperties": {
                "command": command,
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "512"},
                ],
            },
        }
    )


def _submit(batch: BatchService, name: str, queue: str, definition: str, **extra: object) -> Job:
    return batch.submit_job(
        {"jobName": name, "jobQueue": queue, "jobDefinition": definition, **extra}
    )


@pytest.fixture
def crowd(services: Services) -> Services:
    """Thousands of jobs: a big array, load jobs among plain and decoy ones, a small array,
    and jobs in several statuses (one RUNNING on the compute environment)."""
    batch = services.batch
    _submit(batch, "big", "busy", "work", arrayProperties={"size": BIG_ARRAY})
    for i in range(LOADS):
        _submit(
            batch,
            f"load-{i}",
            "loads",
            "loader",
            parameters={"bucket": "b", "key": f"k{i}.csv", "table": "t"},
        )
        _submit(batch, f"plain-{i}", "loads", "work")
        _submit(batch, f"decoy-{i}", "loads", "decoy")
    _submit(batch, "small", "busy", "work", arrayProperties={"size": 3})
    with services.batch.db.transaction() as conn:
        conn.execute("UPDATE jobs SET status = 'SUCCEEDED' WHERE seq % 7 = 0")
        conn.execute("UPDATE jobs SET status = 'FAILED' WHERE seq % 11 = 0")
        conn.execute(
            "UPDATE jobs SET status = 'RUNNING', compute_env = 'ce' WHERE seq = (SELECT max(seq) FROM jobs"
            " WHERE name LIKE 'plain-%')"
        )
    return services


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """How many jobs were decoded from their rows since the test began (counted at ``["jobs"]``)."""
    seen: Counter[str] = Counter()
    original = job_rows.job_from_row

    def counting(row: object) -> Job:
        seen["jobs"] += 1
        return original(row)  # type: ignore[arg-type]

    for module in (job_rows, listing):
        monkeypatch.setattr(module, "job_from_row", counting)
    yield seen


def _get(handler: Callable[[Request], Response], query: str = "", **path_params: str) -> str:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "query_string": query.encode(),
            "headers": [],
            "path_params": path_params,
        }
    )
    request.state.csrf, request.state.user, request.state.login_required = "token", None, False
    response = handler(request)
    assert response.status_code == 200
    return bytes(response.body).decode()


def _pages(services: Services) -> JobPages:
    return JobPages(services, Renderer(), Access("127.0.0.1", []))


def test_the_overview_counts_every_job_without_reading_one(
    crowd: Services, decoded: Counter[str]
) -> None:
    every = crowd.batch.list_jobs()
    decoded.clear()
    html = _get(_pages(crowd).dashboard)
    assert decoded["jobs"] == 0
    totals = Counter(str(j.status) for j in every)
    shown = dict(
        re.findall(
            r'data-status="(\w+)">\s*<span class="label">\w+</span><span class="num">(\d+)<', html
        )
    )
    assert shown == {s: str(totals[s]) for s in STATUSES}
    for queue in ("busy", "loads"):
        row = html.split(f'data-queue="{queue}"', 1)[1].split("</tr>", 1)[0]
        counts = dict(re.findall(r'data-queue-status="(\w+)"[^>]*>(\d+)<', row))
        assert counts == {
            s: str(sum(1 for j in every if j.queue == queue and j.status == s)) for s in STATUSES
        }
    assert "<td>1.0</td></tr>" in html  # the RUNNING job's vCPU is in use on ce


def test_a_filtered_jobs_page_reads_one_page(crowd: Services, decoded: Counter[str]) -> None:
    every = crowd.batch.list_jobs()
    expected = [j for j in reversed(every) if j.queue == "busy" and j.status == "PENDING"]
    decoded.clear()
    html = _get(_pages(crowd).jobs, "queue=busy&status=PENDING&page=2")
    assert decoded["jobs"] <= PAGE_SIZE
    pages = (len(expected) + PAGE_SIZE - 1) // PAGE_SIZE
    assert f"{len(expected)} job(s) · page 2 of {pages}" in html
    assert re.findall(r'/jobs/([\w:-]+)">', html) == [
        j.id for j in expected[PAGE_SIZE : 2 * PAGE_SIZE]
    ]
    named = [j for j in reversed(every) if "OAD-1" in j.name.upper()]
    html = _get(_pages(crowd).jobs, "name=oad-1")
    assert f"{len(named)} job(s) · page 1 of 1" in html
    assert re.findall(r'/jobs/([\w:-]+)">', html) == [j.id for j in named]
    assert "0 job(s)" in _get(_pages(crowd).jobs, "queue=nowhere")


def test_an_array_jobs_page_reads_only_its_children(crowd: Services, decoded: Counter[str]) -> None:
    [small] = [j for j in crowd.batch.list_jobs("busy") if j.name == "small" and j.is_array_parent]
    decoded.clear()
    html = _get(_pages(crowd).job, job_id=small.id)
    assert decoded["jobs"] <= 1 + 3
    assert [f"{small.id}:{i}" for i in range(3)] == re.findall(rf'/jobs/({small.id}:\d)"', html)


def test_the_loads_page_lists_the_newest_load_jobs_reading_few(
    crowd: Services, decoded: Counter[str]
) -> None:
    expected = [j for j in reversed(crowd.batch.list_jobs()) if j.name.startswith("load-")][
        :RECENT_JOBS
    ]
    decoded.clear()
    html = _get(LoadPages(crowd.secrets, crowd.batch, Renderer()).page)
    assert decoded["jobs"] <= RECENT_JOBS + SLACK
    listed = re.findall(r'/jobs/([\w-]+)">(load-\d+|decoy-\d+|plain-\d+)</a>', html)
    assert [job_id for job_id, _ in listed] == [j.id for j in expected]


def test_a_job_page_shows_its_trigger_event_however_many_came_after(services: Services) -> None:
    trigger = {"id": "evt-trigger", "source": "aws.s3", "detail": {"key": "persons-1998.csv"}}
    job = services.batch.submit_job(
        {"jobName": "triggered", "jobQueue": "loads", "jobDefinition": "work"},
        trigger={"eventId": "evt-trigger", "deliveryId": "d-1"},
    )
    with services.bus.db.transaction() as conn:
        at = "2026-01-01T00:00:00Z"
        record_event(conn, "default", trigger, ["rule"], at)
        for i in range(2000):  # newer events: the trigger is not among the recent ones
            later = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"
            record_event(conn, "default", {"id": f"evt-{i}", "detail": {}}, [], later)
    html = _get(_pages(services).job, job_id=job.id)
    assert "persons-1998.csv" in html.split('id="trigger-event"', 1)[1]


@pytest.mark.parametrize(("kind", "reason"), [("terminate", "Terminated"), ("cancel", "Canceled")])
def test_the_stop_buttons_give_their_reason(services: Services, kind: str, reason: str) -> None:
    job = _submit(services.batch, "stopped", "busy", "work")
    request = Request(
        {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": [],
         "path_params": {"job_id": job.id, "kind": kind}}
    )  # fmt: skip
    assert _pages(services).stop(request).status_code == 303
    assert services.batch.job(job.id).status_reason == f"{reason} from the dashboard"


def test_cancel_is_offered_only_while_it_can_act_and_terminate_until_the_job_ends(
    services: Services,
) -> None:
    job = _submit(services.batch, "stopped", "busy", "work")
    pages = _pages(services)
    buttons = re.compile(r'id="(cancel|terminate)"')
    assert buttons.findall(_get(pages.job, job_id=job.id)) == ["cancel", "terminate"]
    for status in (S.RUNNABLE, S.STARTING, S.RUNNING):
        services.batch.transition(job.id, [services.batch.job(job.id).status], status, None)
        shown = buttons.findall(_get(pages.job, job_id=job.id))
        assert shown == (["cancel", "terminate"] if status is S.RUNNABLE else ["terminate"])
    services.batch.transition(job.id, [S.RUNNING], S.SUCCEEDED, None)
    assert buttons.findall(_get(pages.job, job_id=job.id)) == []
