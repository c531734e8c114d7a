"""SQL for jobs and job events (reading many jobs at once is :mod:`.listing`'s).

A job's status changes only through :func:`transition`: a compare-and-set ``UPDATE … WHERE
id = ? AND status IN (…)`` whose row count is checked, plus a ``job_events`` row, in the
caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from s3batch.batch import codec
from s3batch.batch.errors import IllegalTransition, TransitionConflict
from s3batch.batch.models import Attempt, ContainerDetail, Dependency, Job, JobEvent, Submission
from s3batch.batch.status import JobStatus, allowed
from s3batch.batch.store.sql import dump as _dump
from s3batch.batch.store.sql import marks as _marks
from s3batch.state.db import Row

#: Job columns a transition may set besides status and status_reason.
_TRANSITION_FIELDS = {
    "attempts": "attempts",
    "exit_code": "exit_code",
    "container_reason": "reason",
    "log_stream_name": "log_stream_name",
    "compute_environment": "compute_env",
    "pgid": "pgid",
    "started_at": "started_at",
    "stopped_at": "stopped_at",
    "stop_request": "stop_request",
    "stop_reason": "stop_reason",
    "blocked_since": "blocked_since",
}


# -- jobs ----------------------------------------------------------------------------


def job_from_row(row: Row) -> Job:
    """A job as its ``jobs`` row holds it (the one place a whole job is decoded)."""
    spec = json.loads(row["container"])
    container = ContainerDetail(
        command=tuple(spec["command"]),
        environment=codec.pairs_from_json(spec.get("environment"), "name"),
        resource_requirements=codec.pairs_from_json(spec.get("resourceRequirements"), "type"),
        vcpus=row["vcpus"],
        memory=row["memory"],
        image=spec.get("image"),
        secrets=codec.pairs_from_json(spec.get("secrets"), "name", "valueFrom"),
        exit_code=row["exit_code"],
        reason=row["reason"],
        log_stream_name=row["log_stream_name"],
    )
    trigger = json.loads(row["trigger_info"]) if row["trigger_info"] is not None else None
    return Job(
        id=row["id"],
        name=row["name"],
        arn=row["arn"],
        queue=row["queue"],
        queue_arn=row["queue_arn"],
        definition_arn=row["definition_arn"],
        status=JobStatus(row["status"]),
        status_reason=row["status_reason"],
        parameters=json.loads(row["parameters"]),
        container=container,
        created_at=row["created_at"],
        attempts=tuple(codec.attempt_from_json(a) for a in json.loads(row["attempts"])),
        started_at=row["started_at"],
        stopped_at=row["stopped_at"],
        retry_strategy=codec.retry_from_json(json.loads(row["retry_strategy"])),
        timeout=row["timeout"],
        compute_environment=row["compute_env"],
        pgid=row["pgid"],
        submission=Submission(row["idempotency_key"], trigger),
        depends_on=tuple(json.loads(row["depends_on"])),
        dependencies=_dependencies(row),
        platform_capabilities=tuple(json.loads(row["platform_capabilities"])),
        stop_request=row["stop_request"],
        stop_reason=row["stop_reason"],
        array_size=row["array_size"],
        array_index=row["array_index"],
        array_parent=row["array_parent"],
        blocked_since=row["blocked_since"],
    )


def _dependencies(row: Row) -> tuple[Dependency, ...]:
    """``depends_spec`` as pairs (none stored: ``depends_on`` says it all)."""
    if row["depends_spec"] is None:
        return ()
    return tuple((d.get("jobId"), d.get("type")) for d in json.loads(row["depends_spec"]))


def insert_job(conn: sqlite3.Connection, job: Job) -> bool:
    """Add a SUBMITTED job and its first event; False when its idempotency key is taken."""
    c = job.container
    spec = {
        "command": list(c.command),
        "environment": codec.pairs_to_json(c.environment, "name"),
        "resourceRequirements": codec.pairs_to_json(c.resource_requirements, "type"),
        "image": c.image,
        "secrets": codec.pairs_to_json(c.secrets, "name", "valueFrom"),
    }
    trigger = job.submission.trigger
    cursor = conn.execute(
        "INSERT OR IGNORE INTO jobs (id, name, arn, queue, queue_arn, definition_arn, status, status_reason,"
        " parameters, container, vcpus, memory, retry_strategy, timeout, created_at, idempotency_key,"
        " trigger_info, depends_on, depends_spec, platform_capabilities, array_size, array_index,"
        " array_parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job.id,
            job.name,
            job.arn,
            job.queue,
            job.queue_arn,
            job.definition_arn,
            job.status.value,
            job.status_reason,
            _dump(job.parameters),
            _dump(spec),
            c.vcpus,
            c.memory,
            _dump(codec.retry_to_json(job.retry_strategy)),
            job.timeout,
            job.created_at,
            job.submission.idempotency_key,
            None if trigger is None else _dump(trigger),
            _dump(list(job.depends_on)),
            _dump([codec.dependency_to_json(d) for d in job.dependencies])
            if job.dependencies
            else None,
            _dump(list(job.platform_capabilities)),
            job.array_size,
            job.array_index,
            job.array_parent,
        ),
    )
    if cursor.rowcount != 1:
        return False
    _add_event(conn, job.id, job.created_at, None, job.status, job.status_reason)
    return True


def get_job(conn: sqlite3.Connection, job_id: str) -> Job | None:
    """A job by id."""
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return job_from_row(row) if row else None


def job_by_key(conn: sqlite3.Connection, key: str) -> Job | None:
    """The job submitted with an idempotency key."""
    row = conn.execute("SELECT * FROM jobs WHERE idempotency_key = ?", (key,)).fetchone()
    return job_from_row(row) if row else None


#: Waiting jobs the scheduler has something to do with: SUBMITTED ones, array parents, and
#: PENDING ones whose dependencies all succeeded or one failed (others are skipped in SQL,
#: so a long SEQUENTIAL array costs one scan, not one parsed row per child, each tick).
_RELEASABLE = """
SELECT * FROM jobs AS j WHERE status IN ('SUBMITTED', 'PENDING') AND (
    status = 'SUBMITTED'
    OR (array_size IS NOT NULL AND array_index IS NULL)
    OR NOT EXISTS (SELECT 1 FROM json_each(j.depends_on) AS d JOIN jobs AS x ON x.id = d.value
                   WHERE x.status <> 'SUCCEEDED')
    OR EXISTS (SELECT 1 FROM json_each(j.depends_on) AS d JOIN jobs AS x ON x.id = d.value
               WHERE x.status = 'FAILED')
) ORDER BY seq
"""


@dataclass(frozen=True)
class Waiting:
    """A job waiting to be released, as much of it as releasing needs (not decoded whole)."""

    id: str
    status: JobStatus
    depends_on: tuple[str, ...]
    #: Whether it is an array job's parent (it follows its children).
    is_array_parent: bool


def releasable(conn: sqlite3.Connection) -> list[Waiting]:
    """SUBMITTED jobs, array parents, and PENDING jobs whose dependencies are settled."""
    return [
        Waiting(
            r["id"],
            JobStatus(r["status"]),
            tuple(json.loads(r["depends_on"])),
            r["array_size"] is not None and r["array_index"] is None,
        )  # fmt: skip
        for r in conn.execute(_RELEASABLE)
    ]


def dependency_statuses(conn: sqlite3.Connection, job_ids: Iterable[str]) -> dict[str, JobStatus]:
    """The statuses of the given jobs that exist."""
    ids = list(job_ids)
    rows = conn.execute(f"SELECT id, status FROM jobs WHERE id IN ({_marks(ids)})", ids)
    return {r["id"]: JobStatus(r["status"]) for r in rows}


def request_stop(conn: sqlite3.Connection, job_id: str, kind: str, reason: str) -> bool:
    """Flag a RUNNING job to be stopped (the supervisor polls); False when it is not RUNNING."""
    cursor = conn.execute(
        "UPDATE jobs SET stop_request = ?, stop_reason = ? WHERE id = ? AND status = 'RUNNING'",
        (kind, reason, job_id),
    )
    return cursor.rowcount == 1


def mark_blocked(conn: sqlite3.Connection, job_id: str, reason: str, since: int) -> bool:
    """Record why a RUNNABLE head job blocks its queue, and since when (no status move)."""
    cursor = conn.execute(
        "UPDATE jobs SET status_reason = ?, blocked_since = ? WHERE id = ? AND status = 'RUNNABLE'",
        (reason, since, job_id),
    )
    return cursor.rowcount == 1


def stop_requests(conn: sqlite3.Connection) -> dict[str, str]:
    """Running jobs flagged to stop: job id → the caller's reason."""
    rows = conn.execute(
        "SELECT id, stop_reason FROM jobs WHERE status = 'RUNNING' AND stop_request IS NOT NULL"
    )
    return {r["id"]: r["stop_reason"] or "" for r in rows}


class Queued:
    """A RUNNABLE job as the scheduler walks its queue: its place and vCPUs, the rest read on demand.

    Most of a queue's head is only looked at (does it fit?) and left where it is, so the
    whole job is decoded only for one that moves.
    """

    def __init__(self, row: Row) -> None:
        self._row = row
        self.seq: int = row["seq"]
        self.vcpus: float = row["vcpus"]

    @cached_property
    def job(self) -> Job:
        """The whole job."""
        return job_from_row(self._row)


def queue_head(conn: sqlite3.Connection, queue: str, after_seq: int, limit: int) -> list[Queued]:
    """The next RUNNABLE jobs of a queue in FIFO order after ``after_seq``."""
    rows = conn.execute(
        "SELECT * FROM jobs WHERE status = 'RUNNABLE' AND queue = ? AND seq > ? ORDER BY seq LIMIT ?",
        (queue, after_seq, limit),
    )
    return [Queued(r) for r in rows]


def any_in(conn: sqlite3.Connection, statuses: Iterable[JobStatus]) -> bool:
    """Whether some job is in one of ``statuses`` (cheap: an index probe)."""
    values = [s.value for s in statuses]
    row = conn.execute(
        f"SELECT EXISTS(SELECT 1 FROM jobs WHERE status IN ({_marks(values)})) AS found", values
    ).fetchone()
    return bool(row["found"])


def used_vcpus(conn: sqlite3.Connection) -> dict[str, float]:
    """vCPUs held per compute environment by STARTING and RUNNING jobs."""
    rows = conn.execute(
        "SELECT compute_env, sum(vcpus) AS used FROM jobs"
        " WHERE status IN ('STARTING', 'RUNNING') AND compute_env IS NOT NULL GROUP BY compute_env"
    )
    return {r["compute_env"]: float(r["used"]) for r in rows}


def _add_event(
    conn: sqlite3.Connection,
    job_id: str,
    at: int,
    source: JobStatus | None,
    target: JobStatus,
    reason: str | None,
) -> None:
    conn.execute(
        "INSERT INTO job_events (job_id, at, from_status, to_status, reason) VALUES (?, ?, ?, ?, ?)",
        (job_id, at, source.value if source else None, target.value, reason),
    )


def _field_value(name: str, value: object) -> object:
    if name == "attempts" and isinstance(value, tuple | list):
        return _dump([codec.attempt_to_json(a) for a in value if isinstance(a, Attempt)])
    return value


def transition(
    conn: sqlite3.Connection,
    job_id: str,
    sources: Iterable[JobStatus],
    target: JobStatus,
    reason: str | None,
    now: int,
    via: tuple[JobStatus, int] | None = None,
    **fields: object,
) -> JobStatus:
    """Move a job from one of ``sources`` to ``target``, setting ``fields``; return the status it left.

    ``via``: a status the job passed through on the way, and when (an attempt that started
    and ended since it was last written): both moves are checked and get their events, the
    row is written once.

    Raises:
        IllegalTransition: the machine does not allow a move from some source to target.
        TransitionConflict: the job is not in any of ``sources`` (another writer won).
    """
    sources = tuple(sources)
    steps = [(s, target) for s in sources] if via is None else [
        *((s, via[0]) for s in sources), (via[0], target)
    ]  # fmt: skip
    for source, to in steps:
        if not allowed(source, to):
            raise IllegalTransition(f"job status cannot move from {source.value} to {to.value}")
    unknown = set(fields) - set(_TRANSITION_FIELDS)
    if unknown:
        raise ValueError(f"not a job field a transition sets: {sorted(unknown)}")
    # With one possible source the status left is known; with several it is read first.
    row = None if len(sources) == 1 else _status_row(conn, job_id)
    sets = "".join(f", {_TRANSITION_FIELDS[k]} = ?" for k in fields)
    statuses = [s.value for s in sources]
    cursor = conn.execute(
        f"UPDATE jobs SET status = ?, status_reason = ?{sets} WHERE id = ? AND status IN ({_marks(statuses)})",
        [target.value, reason, *(_field_value(k, v) for k, v in fields.items()), job_id, *statuses],
    )
    if cursor.rowcount != 1:
        found = _status_row(conn, job_id)
        raise TransitionConflict(
            f"job {job_id} is {found['status'] if found else 'no such job'},"
            f" not {'/'.join(statuses)}: cannot move it to {target.value}"
        )
    source = sources[0] if row is None else JobStatus(row["status"])
    if via is None:
        _add_event(conn, job_id, now, source, target, reason)
    else:
        _add_event(conn, job_id, via[1], source, via[0], None)
        _add_event(conn, job_id, now, via[0], target, reason)
    return source


def _status_row(conn: sqlite3.Connection, job_id: str) -> Row | None:
    return conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()  # type: ignore[no-any-return]


def events(conn: sqlite3.Connection, job_id: str) -> list[JobEvent]:
    """A job's recorded status moves, oldest first."""
    rows = conn.execute("SELECT * FROM job_events WHERE job_id = ? ORDER BY id", (job_id,))
    return [
        JobEvent(
            r["id"],
            r["job_id"],
            r["at"],
            JobStatus(r["from_status"]) if r["from_status"] else None,
            JobStatus(r["to_status"]),
            r["reason"],
        )
        for r in rows
    ]
