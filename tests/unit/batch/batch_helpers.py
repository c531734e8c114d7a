"""Helpers for the batch tests: build compute environments, queues, definitions and jobs;
collect job output; wait for a condition."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from s3batch.batch.models import Job
from s3batch.batch.service import BatchService

PYTHON = sys.executable


def add_ce(service: BatchService, name: str, max_vcpus: int, state: str = "ENABLED") -> None:
    """A managed Fargate compute environment."""
    service.ensure_compute_environment(
        {
            "computeEnvironmentName": name,
            "type": "MANAGED",
            "state": state,
            "computeResources": {"type": "FARGATE", "maxvCpus": max_vcpus},
        }
    )


def add_queue(service: BatchService, name: str, priority: int, *ces: str) -> None:
    """A queue over ``ces`` in that order."""
    service.ensure_job_queue(
        {
            "jobQueueName": name,
            "priority": priority,
            "computeEnvironmentOrder": [
                {"order": i + 1, "computeEnvironment": ce} for i, ce in enumerate(ces)
            ],
        }
    )


def add_definition(
    service: BatchService,
    name: str = "work",
    command: list[str] | None = None,
    vcpus: str = "1",
    attempts: int = 1,
    timeout: int | None = None,
    **extra: object,
) -> None:
    """A container job definition."""
    request: dict[str, object] = {
        "jobDefinitionName": name,
        "type": "container",
        "containerProperties": {
            "command": command or ["true"],
            "resourceRequirements": [
                {"type": "VCPU", "value": vcpus},
                {"type": "MEMORY", "value": "512"},
            ],
        },
        "retryStrategy": {"attempts": attempts},
        **extra,
    }
    if timeout is not None:
        request["timeout"] = {"attemptDurationSeconds": timeout}
    service.ensure_job_definition(request)


def submit(
    service: BatchService,
    queue: str = "q",
    definition: str = "work",
    name: str = "job",
    **extra: object,
) -> Job:
    """Submit a job."""
    return service.submit_job(
        {"jobName": name, "jobQueue": queue, "jobDefinition": definition, **extra}
    )


class CollectedLogs:
    """A log sink that keeps the messages it is given."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def append(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        self.messages += [message for _, message in events]


def eventually(done: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``done()`` (fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)
