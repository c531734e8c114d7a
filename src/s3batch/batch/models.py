"""Batch entities: frozen values, with storage kept in :mod:`.store`.

Times are epoch milliseconds, as AWS Batch reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from s3batch.batch.status import JobStatus
from s3batch.types import Json

State = Literal["ENABLED", "DISABLED"]
#: ``LOCAL`` is an UNMANAGED environment: this machine, without AWS compute resources.
ComputeType = Literal["FARGATE", "FARGATE_SPOT", "EC2", "SPOT", "LOCAL"]
#: A ``(name, value)`` pair: an environment variable, a resource requirement or a secret
#: (``(name, valueFrom)``).
Pair = tuple[str, str]


@dataclass(frozen=True)
class ComputeEnvironment:
    """Where jobs run: at most ``max_vcpus`` vCPUs at once."""

    name: str
    arn: str
    type: Literal["MANAGED", "UNMANAGED"]
    compute_type: ComputeType
    state: State
    max_vcpus: int
    created_at: int = 0
    spec: Json = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class JobQueue:
    """Jobs wait here; a higher ``priority`` is served first."""

    name: str
    arn: str
    state: State
    priority: int
    #: ``(order, compute environment name)``, ascending by order.
    compute_environment_order: tuple[tuple[int, str], ...]
    created_at: int = 0
    #: Creation order: the tie-break between queues of equal priority.
    seq: int = 0
    spec: Json = field(default_factory=dict, compare=False)

    @property
    def time_limit_actions(self) -> dict[str, int]:
        """``jobStateTimeLimitActions`` (each cancels a RUNNABLE head job): reason → maxTimeSeconds."""
        items = self.spec.get("jobStateTimeLimitActions") or []
        return {
            str(i["reason"]): int(i["maxTimeSeconds"])
            for i in items
            if isinstance(i, dict) and "reason" in i
        }

    @property
    def compute_environments(self) -> list[str]:
        """Compute environment names in the order they are tried."""
        return [name for _, name in self.compute_environment_order]


@dataclass(frozen=True)
class EvaluateOnExit:
    """One retry rule: ``action`` applies when every given pattern matches."""

    action: Literal["RETRY", "EXIT"]
    on_status_reason: str | None = None
    on_reason: str | None = None
    on_exit_code: str | None = None


@dataclass(frozen=True)
class RetryStrategy:
    """How many times a job runs at most (1..10), and which failures are retried."""

    attempts: int = 1
    evaluate_on_exit: tuple[EvaluateOnExit, ...] = ()


@dataclass(frozen=True)
class ContainerProperties:
    """What a job definition runs."""

    command: tuple[str, ...] = ()
    environment: tuple[Pair, ...] = ()
    #: ``(VCPU|MEMORY|GPU, value)``; values are strings as on the wire.
    resource_requirements: tuple[Pair, ...] = ()
    image: str | None = None
    #: ``(name, valueFrom)``: environment variables fetched from Secrets Manager at launch.
    secrets: tuple[Pair, ...] = ()


@dataclass(frozen=True)
class JobDefinition:
    """One revision of a job definition."""

    name: str
    revision: int
    arn: str
    status: Literal["ACTIVE", "INACTIVE"]
    type: str
    parameters: dict[str, str]
    container: ContainerProperties
    retry_strategy: RetryStrategy = RetryStrategy()
    #: ``timeout.attemptDurationSeconds``; None means no limit.
    timeout: int | None = None
    created_at: int = 0
    spec: Json = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class ContainerDetail:
    """A job's container: the resolved command and environment, and how it ended."""

    command: tuple[str, ...]
    environment: tuple[Pair, ...] = ()
    resource_requirements: tuple[Pair, ...] = ()
    vcpus: float = 1.0
    memory: int | None = None
    image: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    log_stream_name: str | None = None
    #: The definition's ``(name, valueFrom)`` secrets (never their values).
    secrets: tuple[Pair, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One finished run of a job (AWS ``AttemptDetail``)."""

    started_at: int | None
    stopped_at: int | None
    status_reason: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    log_stream_name: str | None = None


@dataclass(frozen=True)
class Submission:
    """Where a job came from: its idempotency key and what triggered it (event, rule)."""

    idempotency_key: str | None = None
    trigger: Json = None


#: One ``dependsOn`` entry: ``(jobId, type)``.
Dependency = tuple[str | None, str | None]


@dataclass(frozen=True)
class Job:
    """A submitted job and where it stands."""

    id: str
    name: str
    arn: str
    queue: str
    queue_arn: str
    definition_arn: str
    status: JobStatus
    status_reason: str | None
    parameters: dict[str, str]
    container: ContainerDetail
    created_at: int
    attempts: tuple[Attempt, ...] = ()
    started_at: int | None = None
    stopped_at: int | None = None
    retry_strategy: RetryStrategy = RetryStrategy()
    timeout: int | None = None
    #: The compute environment the job is placed on (STARTING/RUNNING).
    compute_environment: str | None = None
    #: Process group of the running attempt, for the orphan sweep after a crash.
    pgid: int | None = None
    submission: Submission = Submission()
    #: Ids of the jobs that must succeed before this one runs (``dependsOn``).
    depends_on: tuple[str, ...] = ()
    #: ``dependsOn`` as submitted, when it has typed entries (N_TO_N, SEQUENTIAL): ``(jobId,
    #: type)`` pairs, either may be None; empty when :attr:`depends_on` says it all.
    dependencies: tuple[Dependency, ...] = ()
    #: The job definition's ``platformCapabilities``.
    platform_capabilities: tuple[str, ...] = ("EC2",)
    #: ``CANCEL`` or ``TERMINATE`` once CancelJob/TerminateJob asked for it.
    stop_request: str | None = None
    #: The reason given with the stop request.
    stop_reason: str | None = None
    #: ``arrayProperties.size``: set on an array parent and on each of its children.
    array_size: int | None = None
    #: A child's index (0..size-1); None on a parent or a plain job.
    array_index: int | None = None
    #: A child's parent job id.
    array_parent: str | None = None
    #: When this RUNNABLE job began blocking its queue's head (jobStateTimeLimitActions).
    blocked_since: int | None = None

    @property
    def is_array_parent(self) -> bool:
        """Whether this is an array job's parent (it never runs; its children do)."""
        return self.array_size is not None and self.array_index is None

    @property
    def attempt_number(self) -> int:
        """The 1-based number of the current (or next) attempt."""
        return len(self.attempts) + 1

    @property
    def definition_name(self) -> str:
        """The job definition's name, from its ARN (``…:job-definition/<name>:<rev>``)."""
        return self.definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


@dataclass(frozen=True)
class JobEvent:
    """One recorded status move of a job."""

    id: int
    job_id: str
    at: int
    from_status: JobStatus | None
    to_status: JobStatus
    reason: str | None
