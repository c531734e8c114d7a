"""Batch values ↔ AWS-shaped JSON (camelCase), as stored in JSON columns and sent on the wire (pure)."""

from __future__ import annotations

from typing import cast

from s3batch.batch.models import (
    Attempt,
    ComputeEnvironment,
    ContainerDetail,
    ContainerProperties,
    Dependency,
    EvaluateOnExit,
    Job,
    JobDefinition,
    JobQueue,
    Pair,
    RetryStrategy,
)
from s3batch.batch.status import TERMINAL
from s3batch.types import Json


def _compact(shape: dict[str, Json]) -> dict[str, Json]:
    return {k: v for k, v in shape.items() if v is not None}


def pairs_to_json(pairs: tuple[Pair, ...], key: str, value: str = "value") -> list[dict[str, str]]:
    """``(name, value)`` pairs as ``[{key: name, value: value}]``."""
    return [{key: name, value: text} for name, text in pairs]


def pairs_from_json(items: Json, key: str, value: str = "value") -> tuple[Pair, ...]:
    """The inverse of :func:`pairs_to_json`."""
    return tuple((str(i[key]), str(i[value])) for i in items or [])


def retry_to_json(strategy: RetryStrategy) -> dict[str, Json]:
    """A RetryStrategy shape."""
    shape: dict[str, Json] = {"attempts": strategy.attempts}
    if strategy.evaluate_on_exit:
        shape["evaluateOnExit"] = [
            _compact(
                {
                    "action": r.action,
                    "onStatusReason": r.on_status_reason,
                    "onReason": r.on_reason,
                    "onExitCode": r.on_exit_code,
                }
            )
            for r in strategy.evaluate_on_exit
        ]
    return shape


def retry_from_json(shape: Json) -> RetryStrategy:
    """The inverse of :func:`retry_to_json`."""
    rules = tuple(
        EvaluateOnExit(r["action"], r.get("onStatusReason"), r.get("onReason"), r.get("onExitCode"))
        for r in shape.get("evaluateOnExit", [])
    )
    return RetryStrategy(int(shape.get("attempts", 1)), rules)


def properties_to_json(props: ContainerProperties) -> dict[str, Json]:
    """The parts of a ContainerProperties shape s3batch acts on."""
    return _compact(
        {
            "image": props.image,
            "command": list(props.command),
            "environment": pairs_to_json(props.environment, "name"),
            "resourceRequirements": pairs_to_json(props.resource_requirements, "type"),
            "secrets": pairs_to_json(props.secrets, "name", "valueFrom") or None,
        }
    )


def properties_from_json(shape: Json) -> ContainerProperties:
    """The inverse of :func:`properties_to_json`."""
    return ContainerProperties(
        tuple(shape.get("command", [])),
        pairs_from_json(shape.get("environment"), "name"),
        pairs_from_json(shape.get("resourceRequirements"), "type"),
        shape.get("image"),
        pairs_from_json(shape.get("secrets"), "name", "valueFrom"),
    )


def container_to_json(detail: ContainerDetail) -> dict[str, Json]:
    """A ContainerDetail shape."""
    return _compact(
        {
            "image": detail.image,
            "command": list(detail.command),
            "environment": pairs_to_json(detail.environment, "name"),
            "resourceRequirements": pairs_to_json(detail.resource_requirements, "type"),
            "secrets": pairs_to_json(detail.secrets, "name", "valueFrom") or None,
            "vcpus": detail.vcpus,
            "memory": detail.memory,
            "exitCode": detail.exit_code,
            "reason": detail.reason,
            "logStreamName": detail.log_stream_name,
        }
    )


def attempt_to_json(attempt: Attempt) -> dict[str, Json]:
    """An AttemptDetail shape."""
    container = _compact(
        {
            "exitCode": attempt.exit_code,
            "reason": attempt.reason,
            "logStreamName": attempt.log_stream_name,
        }
    )
    return _compact(
        {
            "container": container,
            "startedAt": attempt.started_at,
            "stoppedAt": attempt.stopped_at,
            "statusReason": attempt.status_reason,
        }
    )


def attempt_from_json(shape: Json) -> Attempt:
    """The inverse of :func:`attempt_to_json`."""
    container = cast(dict[str, Json], shape.get("container", {}))
    return Attempt(
        shape.get("startedAt"),
        shape.get("stoppedAt"),
        shape.get("statusReason"),
        container.get("exitCode"),
        container.get("reason"),
        container.get("logStreamName"),
    )


def array_properties(
    job: Job, summary: dict[str, int] | None = None, summary_at: int | None = None
) -> dict[str, Json] | None:
    """``arrayProperties``: size, statusSummary and statusSummaryLastUpdatedAt on a parent,
    index on a child, else None."""
    if job.array_index is not None:
        return {"index": job.array_index}
    if job.array_size is None:
        return None
    shape: dict[str, Json] = {"size": job.array_size}
    if summary is not None:
        shape["statusSummary"] = dict(summary)
    if summary_at is not None:
        shape["statusSummaryLastUpdatedAt"] = summary_at
    return shape


def job_detail(
    job: Job,
    tags: dict[str, str] | None = None,
    summary: dict[str, int] | None = None,
    summary_at: int | None = None,
) -> dict[str, Json]:
    """A JobDetail shape (DescribeJobs), plus s3batch's ``trigger``: the event that submitted it.

    ``summary`` is an array parent's children counted by status, ``summary_at`` when that
    last changed (epoch ms).
    """
    return _compact(
        {
            "jobArn": job.arn,
            "jobName": job.name,
            "jobId": job.id,
            "jobQueue": job.queue_arn,
            "status": str(job.status),
            "statusReason": job.status_reason,
            "attempts": [attempt_to_json(a) for a in job.attempts],
            "createdAt": job.created_at,
            "startedAt": job.started_at,
            "stoppedAt": job.stopped_at,
            "jobDefinition": job.definition_arn,
            "parameters": dict(job.parameters),
            "container": container_to_json(job.container),
            "retryStrategy": retry_to_json(job.retry_strategy),
            "timeout": {"attemptDurationSeconds": job.timeout} if job.timeout else None,
            "platformCapabilities": list(job.platform_capabilities),
            "dependsOn": [
                dependency_to_json(d)
                for d in job.dependencies or tuple((job_id, None) for job_id in job.depends_on)
            ]
            or None,
            "arrayProperties": array_properties(job, summary, summary_at),
            "tags": tags or None,
            **_stopped_flags(job),
            "trigger": job.submission.trigger,
        }
    )


def _stopped_flags(job: Job) -> dict[str, Json]:
    """``isCancelled`` / ``isTerminated``: present (true) once a cancelled or terminated job ended."""
    ended = job.status in TERMINAL
    return {
        "isCancelled": ended and job.stop_request == "CANCEL" or None,
        "isTerminated": ended and job.stop_request == "TERMINATE" or None,
    }


def dependency_to_json(dependency: Dependency) -> dict[str, Json]:
    """A JobDependency shape: ``{jobId, type}``, each only when set."""
    job_id, kind = dependency
    return _compact({"jobId": job_id, "type": kind})


def job_summary(job: Job) -> dict[str, Json]:
    """A JobSummary shape (ListJobs)."""
    container = _compact({"exitCode": job.container.exit_code, "reason": job.container.reason})
    return _compact(
        {
            "jobArn": job.arn,
            "jobId": job.id,
            "jobName": job.name,
            "createdAt": job.created_at,
            "status": str(job.status),
            "statusReason": job.status_reason,
            "startedAt": job.started_at,
            "stoppedAt": job.stopped_at,
            "container": container or None,
            "arrayProperties": array_properties(job),
            "jobDefinition": job.definition_arn,
            **_stopped_flags(job),
        }
    )


def compute_environment_detail(ce: ComputeEnvironment, tags: dict[str, str]) -> dict[str, Json]:
    """A ComputeEnvironmentDetail shape."""
    resources = ce.spec.get("computeResources")
    if isinstance(resources, dict):
        resources = {**resources, "maxvCpus": ce.max_vcpus}
    return _compact(
        {
            "computeEnvironmentName": ce.name,
            "computeEnvironmentArn": ce.arn,
            "type": ce.type,
            "state": ce.state,
            "status": "VALID",
            "statusReason": "ComputeEnvironment Healthy",
            "computeResources": resources if ce.type == "MANAGED" else None,
            "unmanagedvCpus": ce.max_vcpus if ce.type == "UNMANAGED" else None,
            "serviceRole": ce.spec.get("serviceRole"),
            "containerOrchestrationType": "ECS",
            "tags": tags or None,
        }
    )


def job_queue_detail(
    queue: JobQueue, ce_arn: dict[str, str], tags: dict[str, str]
) -> dict[str, Json]:
    """A JobQueueDetail shape; ``ce_arn`` maps compute environment names to ARNs."""
    order = [
        {"order": position, "computeEnvironment": ce_arn.get(name, name)}
        for position, name in queue.compute_environment_order
    ]
    return _compact(
        {
            "jobQueueName": queue.name,
            "jobQueueArn": queue.arn,
            "state": queue.state,
            "status": "VALID",
            "statusReason": "JobQueue Healthy",
            "priority": queue.priority,
            "computeEnvironmentOrder": order,
            "jobStateTimeLimitActions": queue.spec.get("jobStateTimeLimitActions") or None,
            "jobQueueType": "ECS",
            "tags": tags or None,
        }
    )


def job_definition_detail(definition: JobDefinition, tags: dict[str, str]) -> dict[str, Json]:
    """A JobDefinition shape (DescribeJobDefinitions): the registered request, with name, ARN, revision and status."""
    spec = definition.spec
    return _compact(
        {
            "jobDefinitionName": definition.name,
            "jobDefinitionArn": definition.arn,
            "revision": definition.revision,
            "status": definition.status,
            "type": definition.type,
            "parameters": dict(definition.parameters),
            "retryStrategy": retry_to_json(definition.retry_strategy),
            "containerProperties": spec.get("containerProperties"),
            "timeout": {"attemptDurationSeconds": definition.timeout}
            if definition.timeout
            else None,
            "platformCapabilities": spec.get("platformCapabilities") or ["EC2"],
            "propagateTags": spec.get("propagateTags"),
            "schedulingPriority": spec.get("schedulingPriority"),
            "containerOrchestrationType": "ECS",
            "tags": tags or None,
        }
    )
