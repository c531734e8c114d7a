"""The job status machine: allowed moves, guarded compare-and-set transitions, job events."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch import store
from s3batch.batch.errors import IllegalTransition, TransitionConflict
from s3batch.batch.service import BatchService, Move
from s3batch.batch.status import TERMINAL, TRANSITIONS, JobStatus

S = JobStatus


@pytest.fixture
def job_id(service: BatchService) -> str:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")
    add_definition(service)
    return submit(service).id


def test_every_status_has_a_row_and_terminal_statuses_lead_nowhere() -> None:
    assert set(TRANSITIONS) == set(JobStatus)
    assert TERMINAL == {S.SUCCEEDED, S.FAILED}
    assert all(not TRANSITIONS[s] for s in TERMINAL)
    assert all(S.FAILED in TRANSITIONS[s] for s in set(JobStatus) - TERMINAL)


def test_a_failed_attempt_with_retries_left_goes_back_to_runnable() -> None:
    assert S.RUNNABLE in TRANSITIONS[S.RUNNING]
    assert S.SUBMITTED not in TRANSITIONS[S.RUNNING]


def test_transition_moves_the_job_and_records_an_event(service: BatchService, job_id: str) -> None:
    job = service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    assert job.status is S.RUNNABLE
    job = service.transition(job_id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
    assert job.compute_environment == "ce"
    events = service.job_events(job_id)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, S.SUBMITTED),
        (S.SUBMITTED, S.RUNNABLE),
        (S.RUNNABLE, S.STARTING),
    ]


def test_an_illegal_move_raises_and_changes_nothing(service: BatchService, job_id: str) -> None:
    with pytest.raises(IllegalTransition, match="SUBMITTED to SUCCEEDED"):
        service.transition(job_id, [S.SUBMITTED], S.SUCCEEDED, None)
    assert service.job(job_id).status is S.SUBMITTED
    assert len(service.job_events(job_id)) == 1


def test_a_lost_compare_and_set_raises_and_records_nothing(
    service: BatchService, job_id: str
) -> None:
    service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    with pytest.raises(TransitionConflict, match="is RUNNABLE, not SUBMITTED"):
        service.transition(job_id, [S.SUBMITTED], S.FAILED, "cancelled")
    assert service.job(job_id).status is S.RUNNABLE
    assert len(service.job_events(job_id)) == 2


def test_two_writers_racing_for_one_move_only_one_wins(service: BatchService, job_id: str) -> None:
    service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    wins = 0
    for _ in range(2):
        try:
            service.transition(job_id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
            wins += 1
        except TransitionConflict:
            pass
    assert wins == 1


def test_transition_of_an_unknown_job_is_a_conflict(service: BatchService, job_id: str) -> None:
    with pytest.raises(TransitionConflict, match="no such job"):
        service.transition("nope", [S.SUBMITTED], S.RUNNABLE, None)


def test_transition_refuses_fields_it_does_not_know(service: BatchService, job_id: str) -> None:
    with pytest.raises(ValueError, match="status"), service.db.transaction() as conn:
        store.transition(conn, job_id, [S.SUBMITTED], S.RUNNABLE, None, 0, status="SUCCEEDED")


def test_status_reason_and_fields_are_stored(service: BatchService, job_id: str) -> None:
    service.transition(job_id, [S.SUBMITTED], S.FAILED, "no thanks", stopped_at=42, exit_code=9)
    job = service.job(job_id)
    assert (job.status_reason, job.stopped_at, job.container.exit_code) == ("no thanks", 42, 9)
    assert service.job_events(job_id)[-1].reason == "no thanks"


def test_a_move_written_late_is_stamped_when_it_happened(
    service: BatchService, job_id: str
) -> None:
    service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    service.transition(job_id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
    started, stopped = service.now() - 20, service.now() - 10
    moves = [
        Move(job_id, (S.STARTING,), S.RUNNING, None, {"started_at": started}),
        Move(job_id, (S.RUNNING,), S.SUCCEEDED, None, {"stopped_at": stopped}),
    ]
    assert service.transition_many(moves) == [True, True]
    assert [e.at for e in service.job_events(job_id)][-2:] == [started, stopped]


def test_a_move_through_a_status_writes_both_events_each_when_it_happened(
    service: BatchService, job_id: str
) -> None:
    service.transition(job_id, [S.SUBMITTED], S.RUNNABLE, None)
    service.transition(job_id, [S.RUNNABLE], S.STARTING, None, compute_environment="ce")
    started = service.now() - 20
    retry = Move(job_id, (S.STARTING,), S.RUNNABLE, "again", {"started_at": started},
                 via=(S.RUNNING, started))  # fmt: skip
    assert service.transition_many([retry]) == [True]
    events = service.job_events(job_id)[-2:]
    assert [(e.from_status, e.to_status, e.reason) for e in events] == [
        (S.STARTING, S.RUNNING, None),
        (S.RUNNING, S.RUNNABLE, "again"),
    ]
    # A retry says no stoppedAt: its event is when it was written, not when it started.
    assert events[0].at == started and events[1].at >= started + 20
    job = service.job(job_id)
    assert (job.status, job.status_reason, job.started_at) == (S.RUNNABLE, "again", started)


def test_a_move_through_a_status_is_refused_when_either_step_is(
    service: BatchService, job_id: str
) -> None:
    with pytest.raises(IllegalTransition), service.db.transaction() as conn:
        store.transition(conn, job_id, [S.SUBMITTED], S.SUCCEEDED, None, 0, (S.RUNNING, 0))
    with pytest.raises(IllegalTransition), service.db.transaction() as conn:
        store.transition(conn, job_id, [S.SUBMITTED], S.SUCCEEDED, None, 0, (S.RUNNABLE, 0))
    assert service.job(job_id).status is S.SUBMITTED
    assert [e.to_status for e in service.job_events(job_id)] == [S.SUBMITTED]
