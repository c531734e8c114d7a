"""Compute environments, job queues and job definitions: create, ensure, resolve."""

from __future__ import annotations

import pytest
from batch_helpers import add_ce, add_definition, add_queue

from s3batch.batch.errors import ClientException
from s3batch.batch.service import BatchService

ARN = "arn:aws:batch:us-east-1:123456789012"

DEFINITION = {
    "jobDefinitionName": "load",
    "type": "container",
    "parameters": {"table": "persons"},
    "containerProperties": {
        "command": ["s3batch", "load", "--table", "Ref::table"],
        "environment": [{"name": "MODE", "value": "replace"}],
        "resourceRequirements": [
            {"type": "VCPU", "value": "2"},
            {"type": "MEMORY", "value": "4096"},
        ],
    },
    "retryStrategy": {"attempts": 3, "evaluateOnExit": [{"action": "exit", "onExitCode": "2"}]},
    "timeout": {"attemptDurationSeconds": 600},
}


def test_compute_environment_from_a_managed_request(service: BatchService) -> None:
    ce = service.create_compute_environment(
        {
            "computeEnvironmentName": "local",
            "type": "MANAGED",
            "computeResources": {"type": "FARGATE", "maxvCpus": 4},
        }
    )
    assert (ce.arn, ce.compute_type, ce.state, ce.max_vcpus) == (
        f"{ARN}:compute-environment/local",
        "FARGATE",
        "ENABLED",
        4,
    )
    assert service.compute_environment(ce.arn) == ce
    with pytest.raises(ClientException, match="already exists"):
        service.create_compute_environment(ce.spec)


def test_unmanaged_compute_environment_is_local(service: BatchService) -> None:
    ce = service.create_compute_environment(
        {"computeEnvironmentName": "here", "type": "UNMANAGED", "unmanagedvCpus": 8}
    )
    assert (ce.compute_type, ce.max_vcpus) == ("LOCAL", 8)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"type": "MANAGED"}, "computeEnvironmentName is required"),
        ({"computeEnvironmentName": "a b", "type": "MANAGED"}, "computeEnvironmentName must be"),
        ({"computeEnvironmentName": "a", "type": "OTHER"}, "type must be"),
        ({"computeEnvironmentName": "a", "type": "MANAGED"}, "computeResources is required"),
        (
            {
                "computeEnvironmentName": "a",
                "type": "MANAGED",
                "computeResources": {"type": "FARGATE"},
            },
            "maxvCpus must be an integer",
        ),
    ],
)
def test_invalid_compute_environments_are_refused(
    service: BatchService, request_: dict[str, object], message: str
) -> None:
    with pytest.raises(ClientException, match=message):
        service.create_compute_environment(request_)


def test_ensure_compute_environment_updates_in_place(service: BatchService) -> None:
    add_ce(service, "ce", 4)
    add_ce(service, "ce", 8, state="DISABLED")
    ce = service.compute_environment("ce")
    assert (ce.max_vcpus, ce.state) == (8, "DISABLED")
    assert len(service.compute_environments()) == 1


def test_job_queue_resolves_compute_environments_by_name_or_arn(service: BatchService) -> None:
    add_ce(service, "a", 2)
    add_ce(service, "b", 2)
    queue = service.create_job_queue(
        {
            "jobQueueName": "q",
            "priority": 5,
            "computeEnvironmentOrder": [
                {"order": 2, "computeEnvironment": "a"},
                {"order": 1, "computeEnvironment": f"{ARN}:compute-environment/b"},
            ],
        }
    )
    assert queue.arn == f"{ARN}:job-queue/q"
    assert queue.compute_environments == ["b", "a"]
    assert service.job_queue(queue.arn) == queue
    with pytest.raises(ClientException, match="already exists"):
        service.create_job_queue(queue.spec)


def test_job_queue_errors(service: BatchService) -> None:
    add_ce(service, "a", 2)
    with pytest.raises(ClientException, match="ComputeEnvironment nope not found"):
        add_queue(service, "q", 1, "nope")
    with pytest.raises(ClientException, match="at most 3"):
        add_queue(service, "q", 1, "a", "a", "a", "a")
    with pytest.raises(ClientException, match="JobQueue missing not found"):
        service.job_queue("missing")


def test_register_parses_the_aws_request(service: BatchService) -> None:
    d = service.register_job_definition(DEFINITION)
    assert (d.name, d.revision, d.arn, d.status) == (
        "load",
        1,
        f"{ARN}:job-definition/load:1",
        "ACTIVE",
    )
    assert d.parameters == {"table": "persons"}
    assert d.container.command == ("s3batch", "load", "--table", "Ref::table")
    assert d.container.environment == (("MODE", "replace"),)
    assert d.container.resource_requirements == (("VCPU", "2"), ("MEMORY", "4096"))
    assert d.retry_strategy.attempts == 3
    assert d.retry_strategy.evaluate_on_exit[0].action == "EXIT"
    assert d.timeout == 600


def test_every_registration_is_a_new_revision(service: BatchService) -> None:
    revisions = [service.register_job_definition(DEFINITION).revision for _ in range(3)]
    assert revisions == [1, 2, 3]


def test_ensure_keeps_the_revision_of_an_identical_definition(service: BatchService) -> None:
    first = service.ensure_job_definition(DEFINITION)
    again = service.ensure_job_definition(dict(DEFINITION))
    assert again == first
    changed = service.ensure_job_definition({**DEFINITION, "parameters": {"table": "other"}})
    assert changed.revision == 2
    assert service.ensure_job_definition(DEFINITION).revision == 3


def test_definitions_resolve_by_name_revision_and_arn(service: BatchService) -> None:
    add_definition(service, "d", command=["one"])
    add_definition(service, "d", command=["two"])
    assert service.job_definition("d").revision == 2
    assert service.job_definition("d:1").container.command == ("one",)
    assert service.job_definition(f"{ARN}:job-definition/d:1").revision == 1
    assert service.job_definition(f"{ARN}:job-definition/d").revision == 2
    assert [d.revision for d in service.job_definitions("d")] == [1, 2]


def test_unknown_definitions_give_aws_messages(service: BatchService) -> None:
    add_definition(service, "d")
    with pytest.raises(
        ClientException, match="JobDefinition name nope does not exist or is not in ACTIVE status"
    ):
        service.job_definition("nope")
    with pytest.raises(ClientException, match="JobDefinition d:7 not found"):
        service.job_definition("d:7")
    with pytest.raises(ClientException, match=f"JobDefinition {ARN}:job-definition/x:1 not found"):
        service.job_definition(f"{ARN}:job-definition/x:1")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"jobDefinitionName": "bad name"}, "jobDefinitionName must be"),
        ({"type": "multinode"}, "only container"),
        ({"containerProperties": None}, "containerProperties is required"),
        ({"retryStrategy": {"attempts": 11}}, "attempts must be an integer between 1 and 10"),
        ({"parameters": {"a": 1}}, "parameters must map names to string values"),
        (
            {
                "containerProperties": {
                    "command": ["x"],
                    "environment": [{"name": "AWS_BATCH_X", "value": "1"}],
                }
            },
            "reserved",
        ),
        (
            {
                "containerProperties": {
                    "command": ["x"],
                    "resourceRequirements": [{"type": "VCPU", "value": "lots"}],
                }
            },
            "not a number",
        ),
        (
            {"containerProperties": {"command": ["x", ""]}},
            "Command field cannot have empty strings",
        ),
    ],
)
def test_invalid_definitions_are_refused(
    service: BatchService, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ClientException, match=message):
        service.register_job_definition({**DEFINITION, **change})


def test_a_timeout_below_aws_minimum_is_kept_for_the_model(service: BatchService) -> None:
    d = service.register_job_definition({**DEFINITION, "timeout": {"attemptDurationSeconds": 1}})
    assert d.timeout == 1
