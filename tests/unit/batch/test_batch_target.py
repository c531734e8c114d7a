"""The Batch job queue as an event target: SubmitJob mapping and once-per-delivery submission."""

from __future__ import annotations

from typing import Any

import pytest

from s3batch.batch.errors import ClientException
from s3batch.batch.service import BatchService
from s3batch.batch.status import JobStatus
from s3batch.batch.target import BatchJobTarget, queue_of, submit_request

ACCOUNT = "123456789012"
QUEUE = "update-RDS-data-from-S3"
QUEUE_ARN = f"arn:aws:batch:us-east-1:{ACCOUNT}:job-queue/{QUEUE}"
PARAMS = {"JobDefinition": QUEUE, "JobName": "load-persons"}
EVENT = {
    "id": "ev-1",
    "source": "aws.s3",
    "detail-type": "AWS API Call via CloudTrail",
    "detail": {},
}


def batch_target(arn: str = QUEUE_ARN, **params: Any) -> dict[str, Any]:
    return {"Id": "load", "Arn": arn, "BatchParameters": {**PARAMS, **params}}


# -- submit_request (pure) ---------------------------------------------------------------------


def test_batch_parameters_name_the_job_definition_and_queue() -> None:
    assert submit_request(batch_target(), {}) == {
        "jobName": "load-persons",
        "jobQueue": QUEUE,
        "jobDefinition": QUEUE,
    }


@pytest.mark.parametrize(
    ("arn", "queue"),
    [
        (QUEUE_ARN, QUEUE),
        (QUEUE, QUEUE),
        ("arn:aws:batch:eu-west-1:1:job-queue/other", "other"),
    ],
)
def test_queue_from_an_arn_or_a_bare_name(arn: str, queue: str) -> None:
    assert queue_of(arn) == queue
    assert submit_request(batch_target(arn), {})["jobQueue"] == queue


def test_array_size_and_retry_attempts_come_from_batch_parameters() -> None:
    request = submit_request(
        batch_target(ArrayProperties={"Size": 10}, RetryStrategy={"Attempts": 3}), {}
    )
    assert request["arrayProperties"] == {"size": 10}
    assert request["retryStrategy"] == {"attempts": 3}


@pytest.mark.parametrize("member", ["RetryStrategy", "ArrayProperties"])
def test_an_empty_optional_batch_parameter_is_not_an_internal_error(member: str) -> None:
    # AWS's BatchRetryStrategy.Attempts and BatchArrayProperties.Size are both optional.
    request = submit_request(batch_target(**{member: {}}), {})
    assert {"retryStrategy", "arrayProperties"}.isdisjoint(request)


@pytest.mark.parametrize(
    "params",
    [{}, {"JobName": "j"}, {"JobDefinition": "d"}],
    ids=["empty", "no-definition", "no-name"],
)
def test_incomplete_batch_parameters_are_a_client_error(params: dict[str, str]) -> None:
    with pytest.raises(ClientException, match="BatchParameters"):
        submit_request({"Id": "t", "Arn": QUEUE, "BatchParameters": params}, {})


def test_missing_batch_parameters_are_a_client_error() -> None:
    with pytest.raises(ClientException):
        submit_request({"Id": "t", "Arn": QUEUE}, {"Parameters": {"a": "b"}})


def test_payload_parameters_are_passed_with_values_as_strings() -> None:
    payload = {
        "Parameters": {"bucket": "b", "key": "a b+c.csv", "size": 1024, "ratio": 0.5, "ok": True}
    }
    assert submit_request(batch_target(), payload)["parameters"] == {
        "bucket": "b",
        "key": "a b+c.csv",
        "size": "1024",
        "ratio": "0.5",
        "ok": "True",
    }


def test_container_overrides_are_mapped_to_submit_job_fields() -> None:
    payload = {
        "ContainerOverrides": {
            "Command": ["echo", "Ref::bucket"],
            "Environment": [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "two"}],
            "Vcpus": 2,
            "Memory": 1024,
            "InstanceType": "m5.large",
            "Privileged": True,  # not a Batch target override: ignored
        }
    }
    assert submit_request(batch_target(), payload)["containerOverrides"] == {
        "command": ["echo", "Ref::bucket"],
        "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "two"}],
        "resourceRequirements": [
            {"type": "VCPU", "value": "2"},
            {"type": "MEMORY", "value": "1024"},
        ],
        "instanceType": "m5.large",
    }


def test_resource_requirements_override_is_mapped() -> None:
    payload = {"ContainerOverrides": {"ResourceRequirements": [{"Type": "MEMORY", "Value": 2048}]}}
    assert submit_request(batch_target(), payload)["containerOverrides"] == {
        "resourceRequirements": [{"type": "MEMORY", "value": "2048"}]
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"Vcpus": 2, "ResourceRequirements": [{"Type": "MEMORY", "Value": "1024"}]},
        {"ResourceRequirements": [{"Type": "MEMORY", "Value": "1024"}], "Vcpus": 2},
    ],
    ids=["vcpus-first", "requirements-first"],
)
def test_vcpus_and_resource_requirements_together_keep_both(overrides: dict[str, Any]) -> None:
    mapped = submit_request(batch_target(), {"ContainerOverrides": overrides})["containerOverrides"]
    assert sorted(mapped["resourceRequirements"], key=lambda r: r["type"]) == [
        {"type": "MEMORY", "value": "1024"},
        {"type": "VCPU", "value": "2"},
    ]


def test_depends_on_keeps_only_job_ids() -> None:
    payload = {
        "DependsOn": [{"JobId": "j-1", "Type": "SEQUENTIAL"}, {"Type": "N_TO_N"}, {"JobId": "j-2"}]
    }
    assert submit_request(batch_target(), payload)["dependsOn"] == [
        {"jobId": "j-1"},
        {"jobId": "j-2"},
    ]


def test_everything_else_in_the_payload_is_ignored() -> None:
    payload = {
        **EVENT,
        "JobName": "from-payload",
        "JobQueue": "elsewhere",
        "RetryStrategy": {"Attempts": 9},
        "Timeout": {"AttemptDurationSeconds": 5},
        "Tags": {"a": "b"},
    }
    assert submit_request(batch_target(), payload) == submit_request(batch_target(), {})


@pytest.mark.parametrize(
    "payload",
    [
        "just text",
        ["Parameters"],
        None,
        42,
        {"Parameters": "a=b", "ContainerOverrides": [], "DependsOn": {}},
    ],
    ids=["string", "list", "null", "number", "wrong-member-types"],
)
def test_a_payload_without_usable_members_submits_the_bare_job(payload: Any) -> None:
    assert submit_request(batch_target(), payload) == submit_request(batch_target(), {})


# -- BatchJobTarget over a real BatchService --------------------------------------------------------


@pytest.fixture
def batch(service: BatchService) -> BatchService:
    """A service with the compute environment, queue and definition of stack/default.yaml."""
    service.ensure_compute_environment(
        {
            "computeEnvironmentName": "local",
            "type": "MANAGED",
            "state": "ENABLED",
            "computeResources": {"type": "FARGATE", "maxvCpus": 4},
        }
    )
    service.ensure_job_queue(
        {
            "jobQueueName": QUEUE,
            "state": "ENABLED",
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "local"}],
        }
    )
    service.ensure_job_definition(
        {
            "jobDefinitionName": QUEUE,
            "type": "container",
            "parameters": {"table": "persons"},
            "containerProperties": {
                "image": "s3batch:latest",
                "command": [
                    "s3batch",
                    "load",
                    "--bucket",
                    "Ref::bucket",
                    "--key",
                    "Ref::key",
                    "--table",
                    "Ref::table",
                ],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "2"},
                    {"type": "MEMORY", "value": "4096"},
                ],
            },
            "retryStrategy": {"attempts": 1},
        }
    )
    return service


class Wakes:
    """An on_submit hook that notes how many jobs existed each time it ran."""

    def __init__(self, batch: BatchService) -> None:
        self.batch = batch
        self.seen: list[int] = []

    def __call__(self) -> None:
        self.seen.append(len(self.batch.list_jobs()))


def test_a_delivery_submits_a_job_and_wakes_the_scheduler(batch: BatchService) -> None:
    wakes = Wakes(batch)
    target = BatchJobTarget(batch, on_submit=wakes)
    payload = {"Parameters": {"bucket": "s3-eventbridge-batch", "key": "in/a b+c.csv"}}
    detail = target.deliver(EVENT, batch_target(), payload, "ev-1/rule/load")
    [job] = batch.list_jobs()
    assert detail == f"job {job.id}"
    assert job.status is JobStatus.SUBMITTED
    assert (job.name, job.queue) == ("load-persons", QUEUE)
    assert job.definition_name == QUEUE
    assert job.parameters == {
        "table": "persons",
        "bucket": "s3-eventbridge-batch",
        "key": "in/a b+c.csv",
    }
    assert job.container.command[2:6] == (
        "--bucket",
        "s3-eventbridge-batch",
        "--key",
        "in/a b+c.csv",
    )
    assert job.submission.idempotency_key == "ev-1/rule/load"
    assert job.submission.trigger == {
        "eventId": "ev-1",
        "deliveryId": "ev-1/rule/load",
        "source": "aws.s3",
        "detailType": "AWS API Call via CloudTrail",
    }
    assert wakes.seen == [1]  # called once, after the job was stored


def test_the_same_delivery_twice_submits_one_job(batch: BatchService) -> None:
    target = BatchJobTarget(batch)
    payload = {"Parameters": {"bucket": "b", "key": "k"}}
    first = target.deliver(EVENT, batch_target(), payload, "ev-1/rule/load")
    second = target.deliver(EVENT, batch_target(), payload, "ev-1/rule/load")
    assert first == second
    assert len(batch.list_jobs()) == 1


def test_different_deliveries_submit_different_jobs(batch: BatchService) -> None:
    target = BatchJobTarget(batch)
    ids = {
        target.deliver(EVENT, batch_target(), {"Parameters": {"key": "k"}}, f"ev-1/rule/{t}")
        for t in ("a", "b")
    }
    assert len(ids) == 2 and len(batch.list_jobs()) == 2


def test_batch_parameters_and_overrides_reach_the_job(batch: BatchService) -> None:
    target = BatchJobTarget(batch)
    payload = {
        "Parameters": {"bucket": "b", "key": "k"},
        "ContainerOverrides": {"Environment": [{"Name": "MODE", "Value": "append"}], "Vcpus": 1},
    }
    target.deliver(EVENT, batch_target(RetryStrategy={"Attempts": 3}), payload, "d1")
    [job] = batch.list_jobs()
    assert job.retry_strategy.attempts == 3
    assert dict(job.container.environment) == {"MODE": "append"}
    assert (job.container.vcpus, job.container.memory) == (1.0, 4096)


def test_a_delivery_the_service_refuses_raises_and_submits_nothing(batch: BatchService) -> None:
    wakes = Wakes(batch)
    target = BatchJobTarget(batch, on_submit=wakes)
    with pytest.raises(ClientException, match="not found"):
        target.deliver(EVENT, batch_target("no-such-queue"), {}, "d1")
    with pytest.raises(ClientException, match="BatchParameters"):
        target.deliver(EVENT, {"Id": "t", "Arn": QUEUE}, {}, "d2")
    assert batch.list_jobs() == [] and wakes.seen == []
