"""The Batch API refuses malformed members with a 400 naming them, and reports what was submitted.

Requests go through boto3 against a running ``s3batch up``. Malformed ones are sent as
SDKs that do not check types send them: through a client with
``parameter_validation=False``, or with the JSON body swapped in before boto3 signs it
(botocore cannot serialise a string where its model has a structure).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from batch_support import PY, local_queue, wait
from botocore.config import Config
from botocore.exceptions import ClientError
from raw_json import refused_body

from s3batch.cli.child import ChildServer

ACCOUNT_ARN = "arn:aws:batch:us-east-1:000000000000"


@pytest.fixture(scope="module")
def raw(batch_server: ChildServer) -> Any:
    """A client that sends whatever it is given (no client-side type checks)."""
    config = Config(retries={"max_attempts": 1}, parameter_validation=False)
    return boto3.client("batch", **batch_server.client_kwargs(), config=config)


def _name() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error
    assert error["Error"]["Code"] == "ClientException"
    return str(error["Error"]["Message"])


def _refused_body(client: Any, operation: str, body: dict[str, Any]) -> str:
    """Send ``body`` as the JSON of ``operation``; the 400 ClientException's message."""
    placeholder = (
        {"jobName": "x", "jobQueue": "q", "jobDefinition": "py"}
        if operation == "submit_job"
        else {"jobDefinitionName": "x", "type": "container"}
    )
    error = refused_body(client, operation, body, **placeholder)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error
    assert error["Error"]["Code"] == "ClientException"
    return str(error["Error"]["Message"])


def _definition(**container: Any) -> dict[str, Any]:
    return {
        "jobDefinitionName": _name(),
        "type": "container",
        "containerProperties": {"command": [PY, "-c", "pass"], **container},
    }


@pytest.mark.parametrize(
    ("container", "field"),
    [
        ({"memory": "lots"}, "containerProperties.memory"),
        ({"vcpus": "abc"}, "containerProperties.vcpus"),
        ({"vcpus": -100}, "containerProperties.vcpus"),
        ({"memory": 2}, "containerProperties.memory"),
    ],
)
def test_legacy_vcpus_and_memory_must_be_positive_integers(
    batch: Any, raw: Any, container: dict[str, Any], field: str
) -> None:
    request = _definition(**container)
    assert field in _refused(raw.register_job_definition, **request)
    # Nothing was registered, and listing definitions still works for every client.
    name = request["jobDefinitionName"]
    assert batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"] == []
    assert batch.describe_job_definitions(status="ACTIVE")["jobDefinitions"]


@pytest.mark.parametrize(
    ("member", "value", "field"),
    [
        ("retryStrategy", "x", "retryStrategy"),
        ("retryStrategy", {"attempts": 2, "evaluateOnExit": ["x"]}, "retryStrategy.evaluateOnExit"),
        ("retryStrategy", {"evaluateOnExit": [{"action": "EXIT", "onExitCode": 1}]},
         "retryStrategy.evaluateOnExit.onExitCode"),
        ("timeout", ["x"], "timeout"),
        ("containerOverrides", ["x"], "containerOverrides"),
        ("containerOverrides", {"vcpus": 0}, "containerOverrides.vcpus"),
    ],
)  # fmt: skip
def test_a_malformed_submit_member_is_a_client_exception_naming_it(
    batch: Any, member: str, value: Any, field: str
) -> None:
    body = {"jobName": _name(), "jobQueue": "q", "jobDefinition": "py", member: value}
    assert field in _refused_body(batch, "submit_job", body)


@pytest.mark.parametrize(
    ("member", "value", "field"),
    [
        ("timeout", [60], "timeout"),
        ("retryStrategy", [1], "retryStrategy"),
        ("platformCapabilities", ["BOGUS"], "platformCapabilities"),
        ("schedulingPriority", -1, "schedulingPriority"),
    ],
)
def test_a_malformed_definition_member_is_a_client_exception_naming_it(
    batch: Any, member: str, value: Any, field: str
) -> None:
    assert field in _refused_body(
        batch, "register_job_definition", {**_definition(), member: value}
    )


def test_container_overrides_of_vcpus_and_memory_apply(batch: Any) -> None:
    request = _definition(vcpus=1, memory=256)
    arn = batch.register_job_definition(**request)["jobDefinitionArn"]
    job_id = batch.submit_job(
        jobName=_name(),
        jobQueue="q",
        jobDefinition=arn,
        containerOverrides={"vcpus": 2, "memory": 1024},
    )["jobId"]
    container = batch.describe_jobs(jobs=[job_id])["jobs"][0]["container"]
    assert (container["vcpus"], container["memory"]) == (2, 1024)


def test_describe_shows_dependency_types_and_platform_capabilities(batch: Any) -> None:
    fargate = batch.register_job_definition(
        **_definition(), platformCapabilities=["FARGATE"], schedulingPriority=5
    )["jobDefinitionArn"]
    shown = batch.describe_job_definitions(jobDefinitions=[fargate])["jobDefinitions"][0]
    assert shown["platformCapabilities"] == ["FARGATE"] and shown["schedulingPriority"] == 5
    first = batch.submit_job(
        jobName=_name(), jobQueue="idle-q", jobDefinition=fargate, arrayProperties={"size": 2}
    )["jobId"]
    n_to_n, sequential = (
        batch.submit_job(
            jobName=_name(), jobQueue="idle-q", jobDefinition="py",
            arrayProperties={"size": 2}, dependsOn=[dependency],
        )["jobId"]
        for dependency in ({"jobId": first, "type": "N_TO_N"}, {"type": "SEQUENTIAL"})
    )  # fmt: skip
    jobs = batch.describe_jobs(jobs=[first, n_to_n, sequential, f"{n_to_n}:1", f"{sequential}:1"])
    by_id = {j["jobId"]: j for j in jobs["jobs"]}
    assert by_id[first]["platformCapabilities"] == ["FARGATE"]
    assert by_id[n_to_n]["platformCapabilities"] == ["EC2"]
    assert by_id[n_to_n]["dependsOn"] == [{"jobId": first, "type": "N_TO_N"}]
    assert by_id[sequential]["dependsOn"] == [{"type": "SEQUENTIAL"}]
    assert by_id[f"{n_to_n}:1"]["dependsOn"] == [{"jobId": f"{first}:1"}]
    assert by_id[f"{sequential}:1"]["dependsOn"] == [{"jobId": f"{sequential}:0"}]


def test_fair_share_members_are_refused_on_a_fifo_queue(batch: Any) -> None:
    for member, value in (("shareIdentifier", "team-a"), ("schedulingPriorityOverride", 9)):
        message = _refused(
            batch.submit_job, jobName=_name(), jobQueue="q", jobDefinition="py", **{member: value}
        )
        assert member in message and "fair-share" in message


def test_list_jobs_says_which_jobs_were_cancelled(batch: Any) -> None:
    name = _name()
    job_id = batch.submit_job(jobName=name, jobQueue="idle-q", jobDefinition="py")["jobId"]
    batch.cancel_job(jobId=job_id, reason="not needed")
    wait(batch, job_id, "FAILED")
    listed = batch.list_jobs(jobQueue="idle-q", filters=[{"name": "JOB_NAME", "values": [name]}])
    assert [(j["jobId"], j.get("isCancelled")) for j in listed["jobSummaryList"]] == [
        (job_id, True)
    ]


def test_tags_are_limited_per_resource_and_the_aws_prefix_is_reserved(batch: Any) -> None:
    queue = f"{ACCOUNT_ARN}:job-queue/q"
    batch.tag_resource(resourceArn=queue, tags={f"a{i}": "v" for i in range(30)})
    message = _refused(
        batch.tag_resource, resourceArn=queue, tags={f"b{i}": "v" for i in range(30)}
    )
    assert "at most 50 tags" in message
    assert len(batch.list_tags_for_resource(resourceArn=queue)["tags"]) == 30
    assert "reserved" in _refused(batch.tag_resource, resourceArn=queue, tags={"aws:x": "1"})
    assert "256" in _refused(batch.tag_resource, resourceArn=queue, tags={"k": "v" * 257})
    batch.untag_resource(resourceArn=queue, tagKeys=[f"a{i}" for i in range(30)])


def test_arns_of_another_account_or_region_and_revisionless_definitions_do_not_resolve(
    batch: Any,
) -> None:
    foreign = "arn:aws:batch:eu-west-1:999999999999"
    message = _refused(
        batch.submit_job, jobName=_name(), jobQueue=f"{foreign}:job-queue/q", jobDefinition="py"
    )
    assert "not found" in message
    message = _refused(
        batch.submit_job,
        jobName=_name(),
        jobQueue="q",
        jobDefinition=f"{foreign}:job-definition/py:1",
    )
    assert "not found" in message
    assert "not the ARN" in _refused(
        batch.tag_resource, resourceArn=f"{ACCOUNT_ARN}:job-definition/py", tags={"b": "2"}
    )


def test_compute_environment_members_of_the_other_type_are_refused(
    batch: Any, tmp_path: Path
) -> None:
    assert "UNMANAGED" in _refused(
        batch.create_compute_environment,
        computeEnvironmentName=_name(),
        type="MANAGED",
        unmanagedvCpus=3,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": ["s"]},
    )
    assert "MANAGED" in _refused(
        batch.create_compute_environment,
        computeEnvironmentName=_name(),
        type="UNMANAGED",
        computeResources={"type": "EC2", "maxvCpus": 4, "subnets": ["s"]},
    )
    local_queue(batch, _name(), _name(), 1)  # the plain forms still work
