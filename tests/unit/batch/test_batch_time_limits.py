"""jobStateTimeLimitActions: validation, and the scheduler cancelling a blocked head job."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, submit

from s3batch.batch.errors import ClientException
from s3batch.batch.requests import time_limit_actions
from s3batch.batch.scheduler import TIME_LIMIT_CANCEL, TOO_BIG, Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.clock import FakeClock

S = JobStatus


def _action(**extra: object) -> dict[str, object]:
    return {
        "reason": TOO_BIG,
        "state": "RUNNABLE",
        "maxTimeSeconds": 600,
        "action": "CANCEL",
        **extra,
    }


def test_valid_actions_map_reason_to_seconds() -> None:
    assert time_limit_actions(None) == {}
    assert time_limit_actions([_action(maxTimeSeconds=900)]) == {TOO_BIG: 900}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (_action(state="PENDING"), "state must be RUNNABLE"),
        (_action(action="TERMINATE"), "action must be CANCEL"),
        (_action(maxTimeSeconds=599), "between 600 and 86400"),
        (_action(maxTimeSeconds=86401), "between 600 and 86400"),
        (_action(reason=""), "non-empty"),
    ],
)
def test_invalid_actions_are_refused(item: dict[str, object], message: str) -> None:
    with pytest.raises(ClientException, match=message):
        time_limit_actions([item])


def _queue(service: BatchService, actions: list[dict[str, object]] | None) -> None:
    request: dict[str, object] = {
        "jobQueueName": "q",
        "priority": 1,
        "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}],
    }
    if actions is not None:
        request["jobStateTimeLimitActions"] = actions
    add_ce(service, "ce", 2)
    service.ensure_job_queue(request)


def _big_then_small(service: BatchService) -> tuple[str, str]:
    add_definition(service)
    big = submit(
        service,
        name="big",
        containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "4"}]},
    )
    return big.id, submit(service, name="small").id


def test_without_an_action_a_job_too_big_fails_at_once(
    service: BatchService, clock: FakeClock
) -> None:
    _queue(service, None)
    big, small = _big_then_small(service)
    Scheduler(service.db, clock).tick()
    assert service.job(big).status is S.FAILED
    assert service.job(small).status is S.STARTING


def test_with_an_action_the_head_blocks_then_is_cancelled(
    service: BatchService, clock: FakeClock
) -> None:
    _queue(service, [_action(maxTimeSeconds=600)])
    big, small = _big_then_small(service)
    scheduler = Scheduler(service.db, clock)
    scheduler.tick()
    held = service.job(big)
    assert held.status is S.RUNNABLE and held.status_reason.startswith(TOO_BIG)
    assert service.job(small).status is S.RUNNABLE  # FIFO: the blocked head holds the queue
    clock.advance(599)
    scheduler.tick()
    assert service.job(big).status is S.RUNNABLE
    clock.advance(1)
    scheduler.tick()
    cancelled = service.job(big)
    assert (cancelled.status, cancelled.status_reason) == (S.FAILED, TIME_LIMIT_CANCEL + TOO_BIG)
    assert service.job(small).status is S.STARTING


def test_an_action_for_another_reason_does_not_apply(
    service: BatchService, clock: FakeClock
) -> None:
    _queue(service, [_action(reason="CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY")])
    big, _ = _big_then_small(service)
    Scheduler(service.db, clock).tick()
    assert service.job(big).status is S.FAILED
