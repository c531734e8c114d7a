"""Array jobs: dependsOn parsing, children fan-out (pure), and the parent following its children."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch.models import ContainerDetail, Job
from s3batch.batch.scheduler import CHILD_FAILED, Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.submission import Dependencies, children, dependencies
from s3batch.clock import FakeClock

S = JobStatus


def _parent(size: int = 3) -> Job:
    return Job(
        id="p",
        name="n",
        arn="arn:aws:batch:us-east-1:1:job/p",
        queue="q",
        queue_arn="qa",
        definition_arn="da",
        status=S.SUBMITTED,
        status_reason=None,
        parameters={},
        container=ContainerDetail(command=("true",)),
        created_at=1,
        array_size=size,
    )


def test_depends_on_is_split_by_type() -> None:
    deps = dependencies(
        [{"jobId": "a"}, {"jobId": "b", "type": "N_TO_N"}, {"type": "SEQUENTIAL"}, {"jobId": "a"}]
    )
    assert deps == Dependencies(("a",), ("b",), True)
    assert deps.job_ids == ("a", "b")


def test_children_are_pending_with_index_and_concrete_dependencies() -> None:
    kids = children(_parent(), Dependencies(("x",), ("arr",), True))
    assert [k.id for k in kids] == ["p:0", "p:1", "p:2"]
    assert [k.arn for k in kids][-1] == "arn:aws:batch:us-east-1:1:job/p:2"
    assert {k.status for k in kids} == {S.PENDING}
    assert [k.array_index for k in kids] == [0, 1, 2]
    assert {(k.array_size, k.array_parent, k.is_array_parent) for k in kids} == {(3, "p", False)}
    assert [k.depends_on for k in kids] == [
        ("x", "arr:0"),
        ("x", "arr:1", "p:0"),
        ("x", "arr:2", "p:1"),
    ]


@pytest.fixture
def scheduler(service: BatchService, clock: FakeClock) -> Scheduler:
    add_ce(service, "ce", 8)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    return Scheduler(service.db, clock)


def _run(service: BatchService, job_id: str, target: JobStatus) -> None:
    service.transition(job_id, [S.STARTING], S.RUNNING, None)
    service.transition(job_id, [S.RUNNING], target, None)


def test_parent_pending_while_children_run_then_succeeded(
    service: BatchService, scheduler: Scheduler
) -> None:
    parent = submit(service, arrayProperties={"size": 2})
    assert service.job(parent.id).status is S.SUBMITTED
    scheduler.tick()  # children RUNNABLE → STARTING; the parent saw them PENDING
    scheduler.tick()
    assert service.job(parent.id).status is S.PENDING
    assert service.array_summary(service.job(parent.id))["STARTING"] == 2
    _run(service, f"{parent.id}:0", S.SUCCEEDED)
    scheduler.tick()
    assert service.job(parent.id).status is S.PENDING
    _run(service, f"{parent.id}:1", S.SUCCEEDED)
    scheduler.tick()
    assert service.job(parent.id).status is S.SUCCEEDED


def test_parent_fails_only_once_every_child_finished(
    service: BatchService, scheduler: Scheduler
) -> None:
    parent = submit(service, arrayProperties={"size": 2})
    scheduler.tick()
    scheduler.tick()
    _run(service, f"{parent.id}:0", S.FAILED)
    scheduler.tick()
    assert service.job(parent.id).status is S.PENDING
    _run(service, f"{parent.id}:1", S.SUCCEEDED)
    scheduler.tick()
    found = service.job(parent.id)
    assert (found.status, found.status_reason) == (S.FAILED, CHILD_FAILED)


def test_sequential_children_are_released_one_at_a_time(
    service: BatchService, scheduler: Scheduler
) -> None:
    parent = submit(service, arrayProperties={"size": 3}, dependsOn=[{"type": "SEQUENTIAL"}])
    scheduler.tick()
    statuses = [service.job(f"{parent.id}:{i}").status for i in range(3)]
    assert statuses == [S.STARTING, S.PENDING, S.PENDING]
    _run(service, f"{parent.id}:0", S.SUCCEEDED)
    scheduler.tick()
    statuses = [service.job(f"{parent.id}:{i}").status for i in range(3)]
    assert statuses == [S.SUCCEEDED, S.STARTING, S.PENDING]
