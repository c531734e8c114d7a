"""SubmitJob: validation, overrides, parameter substitution, idempotency."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue, submit

from s3batch.batch.errors import ClientException, JobNotFound
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus

ARN = "arn:aws:batch:us-east-1:123456789012"


@pytest.fixture(autouse=True)
def _stack(service: BatchService) -> None:
    add_ce(service, "ce", 4)
    add_queue(service, "q", 1, "ce")
    add_definition(
        service,
        parameters={"table": "persons", "bucket": "default"},
        containerProperties={
            "command": [
                "load",
                "--bucket",
                "Ref::bucket",
                "--key",
                "Ref::key",
                "--table",
                "Ref::table",
            ],
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "resourceRequirements": [
                {"type": "VCPU", "value": "2"},
                {"type": "MEMORY", "value": "2048"},
            ],
        },
    )


def test_submit_creates_a_submitted_job(service: BatchService) -> None:
    job = submit(service, parameters={"bucket": "b", "key": "k.csv"})
    assert job.status is JobStatus.SUBMITTED
    assert job.arn == f"{ARN}:job/{job.id}"
    assert (job.queue, job.queue_arn) == ("q", f"{ARN}:job-queue/q")
    assert job.definition_arn == f"{ARN}:job-definition/work:1"
    assert job.container.command == (
        "load",
        "--bucket",
        "b",
        "--key",
        "k.csv",
        "--table",
        "persons",
    )
    assert job.parameters == {"table": "persons", "bucket": "b", "key": "k.csv"}
    assert (job.container.vcpus, job.container.memory) == (2.0, 2048)
    assert job.created_at == service.now()
    assert service.job(job.id) == job


def test_overrides_replace_command_merge_environment_and_requirements(
    service: BatchService,
) -> None:
    job = submit(
        service,
        parameters={"x": "X"},
        containerOverrides={
            "command": ["echo", "Ref::x", "Ref::table"],
            "environment": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}],
            "resourceRequirements": [{"type": "VCPU", "value": "0.5"}],
        },
        retryStrategy={"attempts": 4},
        timeout={"attemptDurationSeconds": 90},
    )
    assert job.container.command == ("echo", "X", "persons")
    assert dict(job.container.environment) == {"A": "1", "B": "two", "C": "3"}
    assert (job.container.vcpus, job.container.memory) == (0.5, 2048)
    assert (job.retry_strategy.attempts, job.timeout) == (4, 90)


@pytest.mark.parametrize("name", ["a", "A1", "load-persons_2", "x" * 128])
def test_valid_job_names(service: BatchService, name: str) -> None:
    assert submit(service, name=name).name == name


@pytest.mark.parametrize("name", ["", "-a", "_a", "a b", "a.b", "x" * 129, None])
def test_invalid_job_names_are_refused_as_aws_does(service: BatchService, name: str | None) -> None:
    with pytest.raises(ClientException, match="Job name should match valid pattern"):
        service.submit_job({"jobName": name, "jobQueue": "q", "jobDefinition": "work"})


def test_unknown_queue_or_definition(service: BatchService) -> None:
    with pytest.raises(ClientException, match="JobQueue nope not found."):
        submit(service, queue="nope")
    with pytest.raises(ClientException, match="JobDefinition name nope does not exist"):
        submit(service, definition="nope")


def test_disabled_queue_refuses_new_jobs(service: BatchService) -> None:
    service.ensure_job_queue(
        {
            "jobQueueName": "q",
            "priority": 1,
            "state": "DISABLED",
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}],
        }
    )
    with pytest.raises(ClientException, match="not in ENABLED state"):
        submit(service)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"containerOverrides": {"command": ["a", ""]}}, "cannot have empty strings"),
        (
            {"containerOverrides": {"environment": [{"name": "AWS_BATCH_JOB_ID", "value": "x"}]}},
            "reserved",
        ),
        ({"parameters": {"n": 3}}, "string values"),
        ({"dependsOn": [{"jobId": "x"}]}, "dependsOn names unknown job x"),
        ({"dependsOn": [{"type": "SEQUENTIAL"}]}, "apply to array jobs only"),
        ({"dependsOn": [{"type": "N_TO_N"}]}, "dependsOn entries must name a jobId"),
        ({"dependsOn": [{"jobId": "x", "type": "ALL"}]}, "must be N_TO_N or SEQUENTIAL"),
        ({"arrayProperties": {"size": 1}}, "between 2 and 10000"),
        ({"arrayProperties": {"size": 10001}}, "between 2 and 10000"),
        (
            {"arrayProperties": {"size": 2}, "dependsOn": [{"jobId": "x", "type": "N_TO_N"}]},
            "dependsOn names unknown job x",
        ),
    ],
)
def test_invalid_submissions(service: BatchService, extra: dict[str, object], message: str) -> None:
    with pytest.raises(ClientException, match=message):
        submit(service, **extra)


def test_same_idempotency_key_returns_the_same_job(service: BatchService) -> None:
    trigger = {"eventId": "e1", "rule": "r"}
    first = service.submit_job(
        {"jobName": "a", "jobQueue": "q", "jobDefinition": "work"},
        idempotency_key="k1",
        trigger=trigger,
    )
    again = service.submit_job(
        {"jobName": "b", "jobQueue": "q", "jobDefinition": "work"},
        idempotency_key="k1",
        trigger={"eventId": "e2"},
    )
    assert again == first
    assert first.submission.idempotency_key == "k1"
    assert service.job(first.id).submission.trigger == trigger
    other = service.submit_job(
        {"jobName": "a", "jobQueue": "q", "jobDefinition": "work"}, idempotency_key="k2"
    )
    assert other.id != first.id
    assert len(service.list_jobs()) == 2


def test_without_a_key_every_submit_is_a_new_job(service: BatchService) -> None:
    assert submit(service).id != submit(service).id


def test_describe_and_list(service: BatchService) -> None:
    a, b = submit(service, name="a"), submit(service, name="b")
    assert [j.id for j in service.describe_jobs([b.id, "unknown", a.id])] == [b.id, a.id]
    assert [j.name for j in service.list_jobs(queue=f"{ARN}:job-queue/q")] == ["a", "b"]
    assert service.list_jobs(status=JobStatus.RUNNING) == []
    with pytest.raises(JobNotFound):
        service.job("unknown")
