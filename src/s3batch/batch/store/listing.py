"""SQL that reads many jobs at once: listings, pages, counts, and an array's children.

Each reader decodes only the rows it returns (:func:`~.jobs.job_from_row`); counts are
SQL aggregates, so a caller that shows a page or a tally never decodes the whole table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Container, Iterable

from s3batch.batch.models import Job
from s3batch.batch.status import JobStatus
from s3batch.batch.store.jobs import job_from_row
from s3batch.batch.store.sql import marks as _marks

Where = dict[str, object]


def list_jobs(
    conn: sqlite3.Connection,
    queue: str | None = None,
    statuses: Iterable[JobStatus] | None = None,
    exclude: Container[str] = (),
) -> list[Job]:
    """Jobs in submission order, optionally of one queue and/or some statuses, less the ids in ``exclude``."""
    sql, args = "SELECT * FROM jobs WHERE (? IS NULL OR queue = ?)", [queue, queue]
    if statuses is not None:
        values = [s.value for s in statuses]
        sql += f" AND status IN ({_marks(values)})"
        args.extend(values)
    return [
        job_from_row(r) for r in conn.execute(sql + " ORDER BY seq", args) if r["id"] not in exclude
    ]


def page_jobs(
    conn: sqlite3.Connection,
    where: Where,
    newest_first: bool,
    after_seq: int | None,
    limit: int,
    offset: int = 0,
) -> list[tuple[int, Job]]:
    """One page of a job listing, with each job's seq (the paging cursor).

    ``where`` may hold ``queue``, ``statuses``, ``name`` (case-insensitive; a trailing ``*``
    matches a prefix), ``name_contains`` (case-insensitive), ``before`` and ``after``
    (createdAt bounds, epoch ms, exclusive), ``command_has`` (texts the command's JSON
    must contain: a coarse filter for the caller to refine), ``array_parent`` (that
    array's children) and ``with_children`` (array children too; otherwise they are left
    out), ``definition`` (an ARN, a name, or a name prefix ending in ``*``). The page
    starts after ``after_seq`` when given, then skips ``offset`` jobs.
    """
    clauses, args = _where(where)
    if after_seq is not None:
        clauses.append("seq < ?" if newest_first else "seq > ?")
        args.append(after_seq)
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT * FROM jobs WHERE {' AND '.join(clauses)} ORDER BY seq {order} LIMIT ? OFFSET ?"
    return [(r["seq"], job_from_row(r)) for r in conn.execute(sql, [*args, limit, offset])]


def count_jobs(conn: sqlite3.Connection, where: Where) -> int:
    """How many jobs :func:`page_jobs` would page through for ``where`` (none decoded)."""
    clauses, args = _where(where)
    row = conn.execute(
        f"SELECT count(*) AS n FROM jobs WHERE {' AND '.join(clauses)}", args
    ).fetchone()
    return int(row["n"])


def job_counts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """Every job (array children too) counted by (queue, status), in one aggregate."""
    rows = conn.execute("SELECT queue, status, count(*) AS n FROM jobs GROUP BY queue, status")
    return {(r["queue"], r["status"]): int(r["n"]) for r in rows}


def _where(where: Where) -> tuple[list[str], list[object]]:
    """The SQL clauses and arguments of a ``where`` (see :func:`page_jobs`)."""
    clauses, args = ["1 = 1"], []
    if where.get("queue") is not None:
        clauses.append("queue = ?")
        args.append(where["queue"])
    statuses = where.get("statuses")
    if isinstance(statuses, list | tuple):
        clauses.append(f"status IN ({_marks(statuses)})")
        args.extend(str(s) for s in statuses)
    name = where.get("name")
    if isinstance(name, str):
        exact = not name.endswith("*")
        clauses.append(
            "lower(name) = lower(?)" if exact else "lower(name) LIKE lower(?) ESCAPE '\\'"
        )
        args.append(name if exact else _like_prefix(name[:-1]))
    if where.get("name_contains"):
        clauses.append("instr(lower(name), lower(?)) > 0")
        args.append(where["name_contains"])
    texts = where.get("command_has")
    for text in texts if isinstance(texts, list | tuple) else ():
        clauses.append("instr(json_extract(container, '$.command'), ?) > 0")
        args.append(text)
    clauses.extend(_array_and_definition(where, args))
    for key, op in (("before", "<"), ("after", ">")):
        if where.get(key) is not None:
            clauses.append(f"created_at {op} ?")
            args.append(where[key])
    return clauses, args


def _array_and_definition(where: Where, args: list[object]) -> list[str]:
    """Clauses for ``array_parent`` (an array's children; otherwise children are left out
    unless ``with_children``) and ``definition`` (an ARN, a name, or a name prefix ending in ``*``)."""
    clauses = []
    if where.get("array_parent") is not None:
        clauses.append("array_parent = ?")
        args.append(where["array_parent"])
    elif not where.get("with_children"):
        clauses.append("array_parent IS NULL")
    definition = where.get("definition")
    if isinstance(definition, str) and definition.startswith("arn:"):
        clauses.append("definition_arn = ?")
        args.append(definition)
    elif isinstance(definition, str):
        clauses.append("definition_arn LIKE ? ESCAPE '\\'")
        exact = not definition.endswith("*")
        name = definition if exact else definition[:-1]
        pattern = _like_prefix(name)
        args.append("%:job-definition/" + (pattern[:-1] + ":%" if exact else pattern))
    return clauses


def array_summary(conn: sqlite3.Connection, parent_id: str) -> dict[str, int]:
    """An array parent's children counted by status."""
    rows = conn.execute(
        "SELECT status, count(*) AS n FROM jobs WHERE array_parent = ? GROUP BY status",
        (parent_id,),
    )
    return {r["status"]: int(r["n"]) for r in rows}


def array_summary_changed_at(conn: sqlite3.Connection, parent_id: str) -> int | None:
    """When an array parent's children last changed status (epoch ms), None without children."""
    row = conn.execute(
        "SELECT max(e.at) AS at FROM jobs AS j JOIN job_events AS e ON e.job_id = j.id"
        " WHERE j.array_parent = ?",
        (parent_id,),
    ).fetchone()
    return None if row is None or row["at"] is None else int(row["at"])


def array_children(conn: sqlite3.Connection, parent_id: str) -> list[Job]:
    """An array parent's children, by index."""
    rows = conn.execute("SELECT * FROM jobs WHERE array_parent = ? ORDER BY seq", (parent_id,))
    return [job_from_row(r) for r in rows]


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"
