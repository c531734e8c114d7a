"""A SubmitJob request + its definition and queue → a SUBMITTED job (pure).

Overrides follow AWS: ``containerOverrides.command`` replaces the command,
``environment`` is merged by name over the definition's, ``resourceRequirements`` replace
the definition's per type; ``retryStrategy`` and ``timeout`` replace the definition's.
Parameters are the definition's defaults overridden by the submitted ones, substituted
into the effective command (see :mod:`.params`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from s3batch.batch import params, requests
from s3batch.batch.models import (
    ContainerDetail,
    Dependency,
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
#: ``arrayProperties.size`` bounds.
MIN_ARRAY, MAX_ARRAY = 2, 10000
#: SubmitJob members for fair-share queues, which s3batch does not have (CreateJobQueue
#: takes no ``schedulingPolicyArn``): refused, as AWS refuses them on a FIFO queue.
FAIR_SHARE = ("shareIdentifier", "schedulingPriorityOverride")
#: SubmitJob members s3batch does not implement yet: refused rather than ignored.
UNSUPPORTED = (
    "nodeOverrides",
    "eksPropertiesOverride",
    "ecsPropertiesOverride",
)


def check_job_name(name: Json) -> str:
    """A job name as AWS accepts it."""
    if not isinstance(name, str) or not requests.JOB_NAME.fullmatch(name):
        raise fail("Job name should match valid pattern")
    return name


@dataclass(frozen=True)
class Dependencies:
    """A SubmitJob ``dependsOn``: plain job ids, N_TO_N array ids, and SEQUENTIAL."""

    plain: tuple[str, ...] = ()
    n_to_n: tuple[str, ...] = ()
    sequential: bool = False

    @property
    def job_ids(self) -> tuple[str, ...]:
        """Every job id named (plain and N_TO_N)."""
        return tuple(dict.fromkeys((*self.plain, *self.n_to_n)))

    def entries(self) -> tuple[Dependency, ...]:
        """The entries as DescribeJobs shows them: ``(jobId, type)``."""
        return (
            *((job_id, None) for job_id in self.plain),
            *((job_id, "N_TO_N") for job_id in self.n_to_n),
            *(((None, "SEQUENTIAL"),) if self.sequential else ()),
        )

    def of_child(self, parent_id: str, index: int) -> tuple[str, ...]:
        """The jobs child ``index`` of array ``parent_id`` waits for: the plain dependencies,
        child ``index`` of each N_TO_N array and (SEQUENTIAL) child ``index - 1``."""
        sequential = (f"{parent_id}:{index - 1}",) if self.sequential and index else ()
        return (*self.plain, *(f"{array}:{index}" for array in self.n_to_n), *sequential)


def dependencies(items: Json) -> Dependencies:
    """``dependsOn``: ``[{jobId}]``, ``[{jobId, type: N_TO_N}]`` or ``[{type: SEQUENTIAL}]``.

    Raises:
        ClientException: an entry is malformed.
    """
    if not items:
        return Dependencies()
    if not isinstance(items, list) or len(items) > MAX_DEPENDENCIES:
        raise fail(f"dependsOn must be a list of at most {MAX_DEPENDENCIES} entries")
    plain: list[str] = []
    n_to_n: list[str] = []
    sequential = False
    for item in items:
        if not isinstance(item, Mapping):
            raise fail("dependsOn entries must be objects")
        kind, job_id = item.get("type") or None, item.get("jobId")
        if kind == "SEQUENTIAL":
            sequential = True
            continue
        if not isinstance(job_id, str) or not job_id:
            raise fail("dependsOn entries must name a jobId")
        if kind not in (None, "N_TO_N"):
            raise fail("dependsOn type must be N_TO_N or SEQUENTIAL")
        (n_to_n if kind == "N_TO_N" else plain).append(job_id)
    return Dependencies(tuple(dict.fromkeys(plain)), tuple(dict.fromkeys(n_to_n)), sequential)


def depends_on(items: Json) -> tuple[str, ...]:
    """The job ids a ``dependsOn`` names (plain and N_TO_N)."""
    return dependencies(items).job_ids


def array_size(request: Mapping[str, Json]) -> int | None:
    """``arrayProperties.size`` (2..10000), or None for a plain job.

    Raises:
        ClientException: the size is out of range.
    """
    props = request.get("arrayProperties") or {}
    if not isinstance(props, Mapping):
        raise fail("arrayProperties must be an object")
    size = props.get("size")
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_ARRAY <= size <= MAX_ARRAY:
        raise fail(f"arrayProperties.size must be between {MIN_ARRAY} and {MAX_ARRAY}")
    return size


def children(parent: Job, deps: Dependencies) -> list[Job]:
    """An array parent's children, created PENDING: ``<parent>:<index>``.

    Child *i* waits for the parent's plain dependencies, for child *i* of each N_TO_N
    array, and (SEQUENTIAL) for child *i-1* of its own array.
    """
    size = parent.array_size or 0
    out = []
    for index in range(size):
        waits = deps.of_child(parent.id, index)
        out.append(
            replace(
                parent,
                id=f"{parent.id}:{index}",
                arn=f"{parent.arn}:{index}",
                status=JobStatus.PENDING,
                submission=Submission(None, parent.submission.trigger),
                depends_on=waits,
                dependencies=(),  # its waits are plain job ids: depends_on says them
                array_index=index,
                array_parent=parent.id,
            )
        )
    return out


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
    overrides = request.get("containerOverrides")
    overrides = {} if overrides is None else requests.mapping(overrides, "containerOverrides")
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
        _merge_pairs(
            definition.container.resource_requirements,
            requests.legacy_resources(overrides, "containerOverrides"),
        ),
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
        secrets=definition.container.secrets,
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
    for member in FAIR_SHARE:
        if request.get(member) is not None:
            raise fail(f"{member} applies to a job queue with a fair-share scheduling policy;"
                       f" job queue {queue.name} has none")  # fmt: skip
    merged = params.merge(
        definition.parameters, requests.parameters(request.get("parameters"), "parameters")
    )
    retry = definition.retry_strategy
    if request.get("retryStrategy") is not None:
        retry = requests.retry_strategy(request["retryStrategy"])
    timeout = definition.timeout
    if request.get("timeout") is not None:
        timeout = requests.timeout(request["timeout"])
    size = array_size(request)
    deps = dependencies(request.get("dependsOn"))
    if size is None and (deps.n_to_n or deps.sequential):
        raise fail("dependsOn types N_TO_N and SEQUENTIAL apply to array jobs only")
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
        depends_on=deps.job_ids,
        dependencies=deps.entries() if deps.n_to_n or deps.sequential else (),
        platform_capabilities=requests.platform_capabilities(
            definition.spec.get("platformCapabilities")
        ),
        array_size=size,
    )
