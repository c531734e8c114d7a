"""Job control: cancel, terminate, dependencies, ListJobs paging and filters, resource updates."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch import store
from s3batch.batch.control import JobControl
from s3batch.batch.errors import ClientException
from s3batch.batch.requests import check_timeout_floor
from s3batch.batch.scheduler import DEPENDENCY_FAILED, Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.clock import FakeClock

S = JobStatus


@pytest.fixture
def control(service: BatchService) -> JobControl:
    add_ce(service, "ce", 1)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    return JobControl(service)


def _run(service: BatchService, job_id: str) -> None:
    service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    service.transition(job_id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
    service.transition(job_id, [S.STARTING], S.RUNNING, None)


def test_cancel_fails_a_queued_job_with_the_reason(
    service: BatchService, control: JobControl
) -> None:
    job = submit(service)
    control.cancel(job.id, "no longer needed")
    found = service.job(job.id)
    assert (found.status, found.status_reason, found.stop_request) == (
        S.FAILED,
        "no longer needed",
        "CANCEL",
    )
    assert found.stopped_at is not None


def test_cancel_leaves_a_running_job_alone(service: BatchService, control: JobControl) -> None:
    job = submit(service)
    _run(service, job.id)
    control.cancel(job.id, "too late")
    assert service.job(job.id).status is S.RUNNING
    assert store.stop_requests(service.db.conn) == {}


def test_terminate_flags_a_running_job_for_the_supervisor(
    service: BatchService, control: JobControl
) -> None:
    job = submit(service)
    _run(service, job.id)
    control.terminate(job.id, "stop now")
    assert service.job(job.id).status is S.RUNNING
    assert store.stop_requests(service.db.conn) == {job.id: "stop now"}


def test_terminate_fails_a_starting_job_at_once(service: BatchService, control: JobControl) -> None:
    job = submit(service)
    service.transition(job.id, [S.SUBMITTED], S.RUNNABLE, None)
    service.transition(job.id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
    control.terminate(job.id, "stop")
    assert service.job(job.id).status is S.FAILED


def test_unknown_job_is_a_client_exception(control: JobControl) -> None:
    with pytest.raises(ClientException):
        control.cancel("nope", "x")


def test_dependencies_hold_release_and_fail(
    service: BatchService, clock: FakeClock, control: JobControl
) -> None:
    scheduler = Scheduler(service.db, clock)
    first = submit(service, name="first")
    second = submit(service, name="second", dependsOn=[{"jobId": first.id}])
    scheduler.tick()
    assert service.job(second.id).status is S.PENDING
    service.transition(first.id, [S.STARTING], S.RUNNING, None)
    service.transition(first.id, [S.RUNNING], S.SUCCEEDED, None)
    scheduler.tick()
    assert service.job(second.id).status in (S.RUNNABLE, S.STARTING)
    doomed_parent = submit(service, name="parent")
    doomed = submit(service, name="child", dependsOn=[{"jobId": doomed_parent.id}])
    control.cancel(doomed_parent.id, "gone")
    scheduler.tick()
    found = service.job(doomed.id)
    assert (found.status, found.status_reason) == (S.FAILED, DEPENDENCY_FAILED)


def test_list_defaults_to_running_and_pages(
    service: BatchService, clock: FakeClock, control: JobControl
) -> None:
    jobs = [submit(service, name=f"job-{i}") for i in range(5)]
    assert control.list({"jobQueue": "q"}).jobs == []
    first = control.list({"jobQueue": "q", "jobStatus": "SUBMITTED", "maxResults": 2})
    assert [j.id for j in first.jobs] == [jobs[0].id, jobs[1].id] and first.next_token
    rest = control.list({"jobQueue": "q", "jobStatus": "SUBMITTED", "nextToken": first.next_token})
    assert [j.id for j in rest.jobs] == [j.id for j in jobs[2:]] and rest.next_token is None


def test_list_filters_by_name_prefix_and_creation_time(
    service: BatchService, clock: FakeClock, control: JobControl
) -> None:
    old = submit(service, name="Old_one")
    clock.advance(10)
    new = submit(service, name="new-one")
    by_name = control.list(
        {"jobQueue": "q", "filters": [{"name": "JOB_NAME", "values": ["OLD_*"]}]}
    )
    assert [j.id for j in by_name.jobs] == [old.id]
    after = control.list(
        {
            "jobQueue": "q",
            "filters": [{"name": "AFTER_CREATED_AT", "values": [str(old.created_at)]}],
        }
    )
    assert [j.id for j in after.jobs] == [new.id]
    with pytest.raises(ClientException, match="not supported"):
        control.list({"jobQueue": "q", "filters": [{"name": "SHARE_IDENTIFIER", "values": ["x"]}]})
    with pytest.raises(ClientException, match="nextToken"):
        control.list({"jobQueue": "q", "nextToken": "garbage"})


def test_update_and_delete_resources(service: BatchService, control: JobControl) -> None:
    service.update_compute_environment(
        {"computeEnvironment": "ce", "computeResources": {"maxvCpus": 7}}
    )
    assert service.compute_environment("ce").max_vcpus == 7
    with pytest.raises(ClientException, match="DISABLED"):
        service.delete_compute_environment("ce")
    service.update_compute_environment({"computeEnvironment": "ce", "state": "DISABLED"})
    with pytest.raises(ClientException, match="JobQueue relationship"):
        service.delete_compute_environment("ce")
    job = submit(service)
    service.update_job_queue({"jobQueue": "q", "state": "DISABLED", "priority": 5})
    assert service.job_queue("q").priority == 5
    assert service.delete_job_queue("q") == [job.id]
    service.delete_compute_environment("ce")
    assert service.compute_environments() == []


def test_timeout_floor() -> None:
    check_timeout_floor({"timeout": {"attemptDurationSeconds": 60}}, 60)
    check_timeout_floor({}, 60)
    with pytest.raises(ClientException, match="at least 60"):
        check_timeout_floor({"timeout": {"attemptDurationSeconds": 59}}, 60)
