"""SQL for compute environments, job queues and job definitions."""

from __future__ import annotations

import json
import sqlite3

from s3batch.batch import codec
from s3batch.batch.models import ComputeEnvironment, JobDefinition, JobQueue
from s3batch.batch.store.sql import dump as _dump
from s3batch.state.db import Row

# -- compute environments ------------------------------------------------------------


def _compute_environment(row: Row) -> ComputeEnvironment:
    return ComputeEnvironment(
        row["name"],
        row["arn"],
        row["type"],
        row["compute_type"],
        row["state"],
        row["max_vcpus"],
        row["created_at"],
        json.loads(row["spec"]),
    )


def insert_compute_environment(conn: sqlite3.Connection, ce: ComputeEnvironment) -> bool:
    """Create a compute environment row; False when the name is taken."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO compute_environments"
        " (name, arn, type, compute_type, state, max_vcpus, spec, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ce.name,
            ce.arn,
            ce.type,
            ce.compute_type,
            ce.state,
            ce.max_vcpus,
            _dump(ce.spec),
            ce.created_at,
        ),
    )
    return cursor.rowcount == 1


def update_compute_environment(conn: sqlite3.Connection, ce: ComputeEnvironment) -> None:
    """Replace a compute environment's settings (not its name, ARN or creation time)."""
    conn.execute(
        "UPDATE compute_environments SET type = ?, compute_type = ?, state = ?, max_vcpus = ?, spec = ?"
        " WHERE name = ?",
        (ce.type, ce.compute_type, ce.state, ce.max_vcpus, _dump(ce.spec), ce.name),
    )


def get_compute_environment(conn: sqlite3.Connection, name: str) -> ComputeEnvironment | None:
    """A compute environment by name."""
    row = conn.execute("SELECT * FROM compute_environments WHERE name = ?", (name,)).fetchone()
    return _compute_environment(row) if row else None


def config_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever a compute environment or job queue does (a trigger
    moves it on, whoever writes)."""
    return int(conn.execute("SELECT version FROM batch_config_version").fetchone()["version"])


def list_compute_environments(conn: sqlite3.Connection) -> list[ComputeEnvironment]:
    """Every compute environment, by name."""
    rows = conn.execute("SELECT * FROM compute_environments ORDER BY name")
    return [_compute_environment(r) for r in rows]


# -- job queues ----------------------------------------------------------------------


def _job_queue(row: Row) -> JobQueue:
    order = tuple((int(o), str(n)) for o, n in json.loads(row["ce_order"]))
    return JobQueue(
        row["name"],
        row["arn"],
        row["state"],
        row["priority"],
        order,
        row["created_at"],
        row["id"],
        json.loads(row["spec"]),
    )


def insert_job_queue(conn: sqlite3.Connection, queue: JobQueue) -> bool:
    """Create a job queue row; False when the name is taken."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO job_queues (name, arn, state, priority, ce_order, spec, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            queue.name,
            queue.arn,
            queue.state,
            queue.priority,
            _dump(queue.compute_environment_order),
            _dump(queue.spec),
            queue.created_at,
        ),
    )
    return cursor.rowcount == 1


def update_job_queue(conn: sqlite3.Connection, queue: JobQueue) -> None:
    """Replace a queue's state, priority and compute environment order."""
    conn.execute(
        "UPDATE job_queues SET state = ?, priority = ?, ce_order = ?, spec = ? WHERE name = ?",
        (
            queue.state,
            queue.priority,
            _dump(queue.compute_environment_order),
            _dump(queue.spec),
            queue.name,
        ),
    )


def get_job_queue(conn: sqlite3.Connection, name: str) -> JobQueue | None:
    """A job queue by name."""
    row = conn.execute("SELECT * FROM job_queues WHERE name = ?", (name,)).fetchone()
    return _job_queue(row) if row else None


def list_job_queues(conn: sqlite3.Connection) -> list[JobQueue]:
    """Every queue in scheduling order: higher priority first, then creation order."""
    rows = conn.execute("SELECT * FROM job_queues ORDER BY priority DESC, id")
    return [_job_queue(r) for r in rows]


# -- job definitions -----------------------------------------------------------------


def _job_definition(row: Row) -> JobDefinition:
    return JobDefinition(
        name=row["name"],
        revision=row["revision"],
        arn=row["arn"],
        status=row["status"],
        type=row["type"],
        parameters=json.loads(row["parameters"]),
        container=codec.properties_from_json(json.loads(row["container"])),
        retry_strategy=codec.retry_from_json(json.loads(row["retry_strategy"])),
        timeout=row["timeout"],
        created_at=row["created_at"],
        spec=json.loads(row["spec"]),
    )


def next_revision(conn: sqlite3.Connection, name: str) -> int:
    """The revision the next registration of ``name`` gets (numbers are never reused)."""
    row = conn.execute(
        "SELECT coalesce(max(revision), 0) + 1 AS next FROM job_definitions WHERE name = ?", (name,)
    ).fetchone()
    return int(row["next"])


def insert_job_definition(
    conn: sqlite3.Connection, definition: JobDefinition, fingerprint: str
) -> None:
    """Add a revision."""
    d = definition
    conn.execute(
        "INSERT INTO job_definitions (name, revision, arn, status, type, parameters, container,"
        " retry_strategy, timeout, spec, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.name,
            d.revision,
            d.arn,
            d.status,
            d.type,
            _dump(d.parameters),
            _dump(codec.properties_to_json(d.container)),
            _dump(codec.retry_to_json(d.retry_strategy)),
            d.timeout,
            _dump(d.spec),
            fingerprint,
            d.created_at,
        ),
    )


def get_job_definition(conn: sqlite3.Connection, name: str, revision: int) -> JobDefinition | None:
    """One revision of a definition, active or not."""
    row = conn.execute(
        "SELECT * FROM job_definitions WHERE name = ? AND revision = ?", (name, revision)
    ).fetchone()
    return _job_definition(row) if row else None


def latest_active_definition(
    conn: sqlite3.Connection, name: str
) -> tuple[JobDefinition, str] | None:
    """The newest ACTIVE revision of ``name`` and its content fingerprint."""
    row = conn.execute(
        "SELECT * FROM job_definitions WHERE name = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
        (name,),
    ).fetchone()
    return (_job_definition(row), row["fingerprint"]) if row else None


def list_job_definitions(
    conn: sqlite3.Connection, name: str | None = None, status: str | None = None
) -> list[JobDefinition]:
    """Definitions by name and revision, optionally of one name and/or status."""
    rows = conn.execute(
        "SELECT * FROM job_definitions WHERE (?1 IS NULL OR name = ?1) AND (?2 IS NULL OR status = ?2)"
        " ORDER BY name, revision",
        (name, status),
    )
    return [_job_definition(r) for r in rows]


def set_definition_status(conn: sqlite3.Connection, name: str, revision: int, status: str) -> bool:
    """Mark a revision ACTIVE or INACTIVE; False when there is no such revision."""
    cursor = conn.execute(
        "UPDATE job_definitions SET status = ? WHERE name = ? AND revision = ?",
        (status, name, revision),
    )
    return cursor.rowcount == 1


def queues_using(conn: sqlite3.Connection, ce_name: str) -> list[str]:
    """Names of the queues whose compute environment order names ``ce_name``."""
    return [q.name for q in list_job_queues(conn) if ce_name in q.compute_environments]


def delete_compute_environment(conn: sqlite3.Connection, name: str) -> None:
    """Remove a compute environment row."""
    conn.execute("DELETE FROM compute_environments WHERE name = ?", (name,))


def delete_job_queue(conn: sqlite3.Connection, name: str) -> None:
    """Remove a job queue row."""
    conn.execute("DELETE FROM job_queues WHERE name = ?", (name,))
