"""A SubmitJob request + its definition and queue → a SUBMITTED job (pure).

Overrides follow AWS: ``containerOverrides.command`` replaces the command,
``environment`` is merged by name over the definition's, ``resourceRequirements`` replace
the definition's per type; ``retryStrategy`` and ``timeout`` replace the definition's.
Parameters are the definition's defaults overridden by the submitted ones, substituted
into the effective command (see :mod:`.params`).
"""

from __future__ import annotations

from collections.abc import Mapping

from s3batch.batch import params, requests
from s3batch.batch.models import (
    ContainerDetail,
    Job,
    JobDefinition,
    JobQueue,
    Pair,
    Submission,
)
from s3batch.batch.requests import fail
from s3batch.batch.status import JobStatus
from s3batch.types import Json

#: vCPUs of a job that names none.
DEFAULT_VCPUS = 1.0
#: The most jobs one job may depend on.
MAX_DEPENDENCIES = 20
#: SubmitJob members s3batch does not implement yet: refused rather than ignored.
UNSUPPORTED = (
    "arrayProperties",
    "nodeOverrides",
    "eksPropertiesOverride",
    "ecsPropertiesOverride",
)


def check_job_name(name: Json) -> str:
    """A job name as AWS accepts it."""
    if not isinstance(name, str) or not requests.JOB_NAME.fullmatch(name):
        raise fail("Job name should match valid pattern")
    return name


def depends_on(items: Json) -> tuple[str, ...]:
    """``dependsOn`` job ids (``[{jobId}]``; N_TO_N and SEQUENTIAL need array jobs)."""
    if not items:
        return ()
    if not isinstance(items, list) or len(items) > MAX_DEPENDENCIES:
        raise fail(f"dependsOn must be a list of at most {MAX_DEPENDENCIES} entries")
    ids = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("jobId"), str):
            raise fail("dependsOn entries must name a jobId")
        if item.get("type") not in (None, ""):
            raise fail(
                "dependsOn type N_TO_N and SEQUENTIAL apply to array jobs, not supported by s3batch yet"
            )
        ids.append(item["jobId"])
    return tuple(dict.fromkeys(ids))


def _merge_pairs(base: tuple[Pair, ...], override: tuple[Pair, ...]) -> tuple[Pair, ...]:
    merged = dict(base)
    merged.update(override)
    return tuple(merged.items())


def _resources(requirements: tuple[Pair, ...]) -> tuple[float, int | None]:
    values = dict(requirements)
    vcpus = float(values["VCPU"]) if "VCPU" in values else DEFAULT_VCPUS
    memory = int(values["MEMORY"]) if "MEMORY" in values else None
    return vcpus, memory


def container(
    request: Mapping[str, Json], definition: JobDefinition, parameters: dict[str, str]
) -> ContainerDetail:
    """The job's container: effective command (substituted), environment and resources."""
    overrides = request.get("containerOverrides") or {}
    override_command = requests.command(overrides.get("command"), "containerOverrides.command")
    effective = override_command or definition.container.command
    if not effective:
        raise fail(
            "Command cannot be empty: set containerProperties.command or containerOverrides.command"
        )
    environment = _merge_pairs(
        definition.container.environment,
        requests.environment(overrides.get("environment"), "containerOverrides.environment"),
    )
    requirements = _merge_pairs(
        definition.container.resource_requirements,
        requests.resource_requirements(
            overrides.get("resourceRequirements"), "containerOverrides.resourceRequirements"
        ),
    )
    vcpus, memory = _resources(requirements)
    return ContainerDetail(
        command=tuple(params.substitute(effective, parameters)),
        environment=environment,
        resource_requirements=requirements,
        vcpus=vcpus,
        memory=memory,
        image=definition.container.image,
    )


def build_job(
    request: Mapping[str, Json],
    definition: JobDefinition,
    queue: JobQueue,
    *,
    job_id: str,
    job_arn: str,
    now: int,
    submission: Submission,
) -> Job:
    """The SUBMITTED job a SubmitJob request describes.

    Raises:
        ClientException: a member is invalid or not supported.
    """
    name = check_job_name(request.get("jobName"))
    for member in UNSUPPORTED:
        if request.get(member):
            raise fail(f"{member} is not supported by s3batch yet")
    merged = params.merge(
        definition.parameters, requests.parameters(request.get("parameters"), "parameters")
    )
    retry = definition.retry_strategy
    if request.get("retryStrategy") is not None:
        retry = requests.retry_strategy(request["retryStrategy"])
    timeout = definition.timeout
    if request.get("timeout") is not None:
        timeout = requests.timeout(request["timeout"])
    return Job(
        id=job_id,
        name=name,
        arn=job_arn,
        queue=queue.name,
        queue_arn=queue.arn,
        definition_arn=definition.arn,
        status=JobStatus.SUBMITTED,
        status_reason=None,
        parameters=merged,
        container=container(request, definition, merged),
        created_at=now,
        retry_strategy=retry,
        timeout=timeout,
        submission=submission,
        depends_on=depends_on(request.get("dependsOn")),
    )
