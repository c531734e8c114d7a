"""The scheduler: release, queue priority, compute environment order and capacity, FIFO, misconfiguration."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch.models import Job
from s3batch.batch.scheduler import Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.clock import FakeClock

S = JobStatus


@pytest.fixture
def scheduler(service: BatchService, clock: FakeClock) -> Scheduler:
    return Scheduler(service.db, clock)


def _job(service: BatchService, queue: str, vcpus: str = "1", name: str = "job") -> Job:
    return submit(
        service,
        queue=queue,
        name=name,
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": vcpus}]},
    )


def _status(service: BatchService, job: Job) -> tuple[JobStatus, str | None]:
    found = service.job(job.id)
    return found.status, found.compute_environment


def _finish(service: BatchService, job: Job) -> None:
    service.transition(job.id, [S.STARTING], S.RUNNING, None)
    service.transition(job.id, [S.RUNNING], S.SUCCEEDED, None)


def test_idle_tick_moves_nothing(scheduler: Scheduler) -> None:
    assert scheduler.tick() == 0


def test_submitted_jobs_become_runnable_then_starting(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    job = _job(service, "q")
    assert scheduler.tick() == 2
    assert _status(service, job) == (S.STARTING, "ce")
    moves = [(e.from_status, e.to_status) for e in service.job_events(job.id)]
    assert moves == [(None, S.SUBMITTED), (S.SUBMITTED, S.RUNNABLE), (S.RUNNABLE, S.STARTING)]


def test_fifo_within_a_queue_and_capacity_limits(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 2)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    jobs = [_job(service, "q", name=f"j{i}") for i in range(4)]
    scheduler.tick()
    assert [service.job(j.id).status for j in jobs] == [
        S.STARTING,
        S.STARTING,
        S.RUNNABLE,
        S.RUNNABLE,
    ]
    _finish(service, jobs[1])
    scheduler.tick()
    assert [service.job(j.id).status for j in jobs[2:]] == [S.STARTING, S.RUNNABLE]


def test_strict_fifo_a_head_that_does_not_fit_now_blocks_smaller_jobs(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    first = _job(service, "q", "3")
    big = _job(service, "q", "2")
    small = _job(service, "q", "1")
    scheduler.tick()
    assert [service.job(j.id).status for j in (first, big, small)] == [
        S.STARTING,
        S.RUNNABLE,
        S.RUNNABLE,
    ]


def test_higher_priority_queue_is_served_first_on_a_shared_ce(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 2)
    add_queue(service, "low", 1, "ce")
    add_queue(service, "high", 10, "ce")
    add_definition(service)
    lows = [_job(service, "low", name=f"low{i}") for i in range(2)]
    highs = [_job(service, "high", name=f"high{i}") for i in range(2)]
    scheduler.tick()
    assert [service.job(j.id).status for j in highs] == [S.STARTING, S.STARTING]
    assert [service.job(j.id).status for j in lows] == [S.RUNNABLE, S.RUNNABLE]


def test_a_blocked_high_priority_head_lets_a_lower_queue_use_free_capacity(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 2)
    add_queue(service, "low", 1, "ce")
    add_queue(service, "high", 10, "ce")
    add_definition(service)
    running = _job(service, "high", "1", name="running")
    scheduler.tick()
    blocked = _job(service, "high", "2", name="blocked")
    low = _job(service, "low", "1", name="low")
    scheduler.tick()
    assert _status(service, running)[0] is S.STARTING
    assert _status(service, blocked)[0] is S.RUNNABLE
    assert _status(service, low) == (S.STARTING, "ce")


def test_equal_priorities_are_served_in_queue_creation_order(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 1)
    add_queue(service, "first", 5, "ce")
    add_queue(service, "second", 5, "ce")
    add_definition(service)
    later = _job(service, "second")
    earlier_queue = _job(service, "first")
    scheduler.tick()
    assert _status(service, earlier_queue)[0] is S.STARTING
    assert _status(service, later)[0] is S.RUNNABLE


def test_jobs_spill_over_to_the_next_ce_when_the_first_is_full(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "small", 2)
    add_ce(service, "spill", 4)
    add_queue(service, "q", 1, "small", "spill")
    add_definition(service)
    jobs = [_job(service, "q", "1", name=f"j{i}") for i in range(5)]
    scheduler.tick()
    assert [service.job(j.id).compute_environment for j in jobs] == [
        "small",
        "small",
        "spill",
        "spill",
        "spill",
    ]


def test_disabled_ce_gets_no_placements(service: BatchService, scheduler: Scheduler) -> None:
    add_ce(service, "off", 4, state="DISABLED")
    add_ce(service, "on", 4)
    add_queue(service, "q", 1, "off", "on")
    add_definition(service)
    job = _job(service, "q")
    scheduler.tick()
    assert _status(service, job) == (S.STARTING, "on")


def test_every_change_to_compute_environments_and_queues_is_seen_by_the_next_pass(
    service: BatchService, scheduler: Scheduler
) -> None:
    # The scheduler keeps them between passes: a change by any writer (another connection
    # too) must reach the next pass, and a deleted one must not linger.
    add_ce(service, "off", 4, state="DISABLED")
    add_queue(service, "q", 1, "off")
    add_definition(service)
    first = _job(service, "q", name="first")
    scheduler.tick()
    assert _status(service, first) == (S.RUNNABLE, None)
    service.update_compute_environment({"computeEnvironment": "off", "state": "ENABLED"})
    scheduler.tick()
    assert _status(service, first) == (S.STARTING, "off")
    add_ce(service, "spare", 4)
    with service.db.transaction() as conn:  # as another process would: plain SQL
        conn.execute("UPDATE compute_environments SET max_vcpus = 1 WHERE name = 'off'")
    add_queue(service, "q2", 2, "spare")
    second, third = _job(service, "q", name="second"), _job(service, "q2", name="third")
    scheduler.tick()
    assert _status(service, second) == (S.RUNNABLE, None)  # "off" is full at 1 vCPU now
    assert _status(service, third) == (S.STARTING, "spare")


def test_a_job_no_ce_can_ever_hold_fails_at_once_and_unblocks_the_queue(
    service: BatchService, scheduler: Scheduler, clock: FakeClock
) -> None:
    add_ce(service, "a", 2)
    add_ce(service, "b", 4)
    add_queue(service, "q", 1, "a", "b")
    add_definition(service)
    huge = _job(service, "q", "5")
    after = _job(service, "q", "1")
    scheduler.tick()
    failed = service.job(huge.id)
    assert failed.status is S.FAILED
    assert failed.status_reason is not None
    assert failed.status_reason.startswith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ")
    assert failed.stopped_at == service.now()
    assert _status(service, after) == (S.STARTING, "a")


def test_fractional_vcpus_share_a_ce(service: BatchService, scheduler: Scheduler) -> None:
    add_ce(service, "ce", 1)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    jobs = [_job(service, "q", "0.25", name=f"j{i}") for i in range(5)]
    scheduler.tick()
    assert [service.job(j.id).status for j in jobs].count(S.STARTING) == 4


def test_a_long_queue_is_walked_in_batches(service: BatchService, scheduler: Scheduler) -> None:
    add_ce(service, "ce", 200)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    for i in range(150):
        _job(service, "q", name=f"j{i}")
    assert scheduler.tick() == 300
    assert len(service.list_jobs(status=S.STARTING)) == 150


def test_a_pass_that_is_not_durable_leaves_outcomes_to_a_durable_one(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "a", 2)
    add_queue(service, "q", 1, "a")
    add_definition(service)
    huge = _job(service, "q", "5")
    after = _job(service, "q", "1")
    scheduler.durable = False
    scheduler.tick()
    assert scheduler.settling
    assert service.job(huge.id).status is S.RUNNABLE  # its failure waits for a durable commit
    assert _status(service, after) == (S.STARTING, "a")
    scheduler.durable = True
    scheduler.tick()
    assert service.job(huge.id).status is S.FAILED
    assert not scheduler.settling


def test_vcpus_of_attempts_just_ended_count_as_free(
    service: BatchService, scheduler: Scheduler
) -> None:
    add_ce(service, "ce", 1)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    first, second = _job(service, "q", name="first"), _job(service, "q", name="second")
    scheduler.tick()
    assert _status(service, second) == (S.RUNNABLE, None)
    service.transition(first.id, [S.STARTING], S.RUNNING, None)
    scheduler.tick(freed={"ce": 1.0})  # first has ended; its outcome is written next
    assert _status(service, second) == (S.STARTING, "ce")
