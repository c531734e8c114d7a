"""Job control over the service: CancelJob, TerminateJob and paged ListJobs (reference/batch.md 5.1, 5.2).

Cancel and terminate of a job not yet running are one guarded move to FAILED. A RUNNING
job is not touched here: terminating it sets a flag in its row that the supervisor polls,
so only the supervisor, which owns the process, signals it and records the outcome.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from s3batch.batch import store
from s3batch.batch.errors import TransitionConflict
from s3batch.batch.models import Job
from s3batch.batch.requests import fail
from s3batch.batch.service import BatchService
from s3batch.batch.status import QUEUED, TERMINAL, JobStatus
from s3batch.types import Json

logger = logging.getLogger(__name__)

S = JobStatus
#: Most jobs a ListJobs page holds (AWS: 1000, or 100 with filters).
MAX_PAGE, MAX_FILTERED_PAGE = 1000, 100
#: How often a stop is retried when the job moves under it.
RACE_RETRIES = 5
#: ListJobs filters s3batch supports.
FILTERS = ("JOB_NAME", "JOB_DEFINITION", "BEFORE_CREATED_AT", "AFTER_CREATED_AT")


@dataclass(frozen=True)
class Page:
    """One ListJobs page."""

    jobs: list[Job]
    next_token: str | None


class JobControl:
    """Cancels, terminates and lists jobs of one :class:`BatchService`."""

    def __init__(self, service: BatchService) -> None:
        self.service = service

    def cancel(self, job_id: str, reason: str) -> None:
        """CancelJob: a job not yet STARTING becomes FAILED with ``reason``; others are left alone.

        Raises:
            ClientException: there is no such job.
        """
        self._stop(job_id, reason, "CANCEL", QUEUED)

    def terminate(self, job_id: str, reason: str) -> None:
        """TerminateJob: a job not yet RUNNING becomes FAILED; a RUNNING one is flagged for the supervisor.

        Raises:
            ClientException: there is no such job.
        """
        self._stop(job_id, reason, "TERMINATE", QUEUED | {S.STARTING, S.RUNNING})

    def _stop(self, job_id: str, reason: str, kind: str, stoppable: frozenset[JobStatus]) -> None:
        parent = self.service.job(job_id)
        if parent.is_array_parent:  # the parent ends when its children do
            for child in store.array_children(self.service.db.conn, job_id):
                if child.status not in TERMINAL:
                    self._stop_one(child.id, reason, kind, stoppable)
            return
        self._stop_one(job_id, reason, kind, stoppable)

    def _stop_one(
        self, job_id: str, reason: str, kind: str, stoppable: frozenset[JobStatus]
    ) -> None:
        for _ in range(RACE_RETRIES):
            job = self.service.job(job_id)
            if job.status in TERMINAL or job.status not in stoppable:
                return
            if job.status is S.RUNNING:
                with self.service.db.transaction() as conn:
                    flagged = store.request_stop(conn, job_id, kind, reason)
                if flagged:
                    self.service.stop_flagged.set()  # committed: the supervisor reads it now
                    logger.info(
                        "job %s: terminate requested", job_id, extra={"action": kind.lower()}
                    )
                    return
                continue
            try:
                self.service.transition(
                    job_id,
                    [job.status],
                    S.FAILED,
                    reason,
                    stop_request=kind,
                    stop_reason=reason,
                    stopped_at=self.service.now(),
                    compute_environment=None,
                )
                return
            except TransitionConflict:
                continue  # it moved meanwhile: look again

    def list(self, request: Mapping[str, Json]) -> Page:
        """ListJobs: one queue's jobs (or an array's), by status or by one filter, in pages.

        Raises:
            ClientException: the request is invalid.
        """
        given = [k for k in ("jobQueue", "arrayJobId", "multiNodeJobId") if request.get(k)]
        if len(given) != 1:
            raise fail("Exactly one of jobQueue, arrayJobId or multiNodeJobId is required")
        if request.get("multiNodeJobId"):
            return Page([], None)  # s3batch has no multi-node jobs
        where: dict[str, object] = {}
        if request.get("arrayJobId"):
            where["array_parent"] = self.service.job(str(request["arrayJobId"])).id
        else:
            where["queue"] = self.service.job_queue(str(request["jobQueue"])).name
        filters = request.get("filters") or []
        if filters:
            where.update(_filter(filters))
        else:
            status = str(request.get("jobStatus") or "RUNNING")
            if status not in JobStatus.__members__:
                raise fail(f"jobStatus must be one of {', '.join(JobStatus.__members__)}")
            where["statuses"] = [status]
        limit = _limit(request.get("maxResults"), MAX_FILTERED_PAGE if filters else MAX_PAGE)
        after = _decode(request.get("nextToken"))
        rows = store.page_jobs(self.service.db.conn, where, bool(filters), after, limit + 1)
        token = _encode(rows[limit - 1][0]) if len(rows) > limit else None
        return Page([job for _, job in rows[:limit]], token)


def _filter(filters: Json) -> dict[str, object]:
    if not isinstance(filters, list) or len(filters) != 1 or not isinstance(filters[0], Mapping):
        raise fail("filters must hold exactly one {name, values} entry")
    name, values = filters[0].get("name"), filters[0].get("values") or []
    if name not in FILTERS:
        raise fail(f"filter {name} is not supported by s3batch (use one of {', '.join(FILTERS)})")
    if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str):
        raise fail(f"filter {name} takes exactly one value")
    if name == "JOB_NAME":
        return {"name": values[0]}
    if name == "JOB_DEFINITION":
        if values[0].startswith("arn:") and "*" in values[0]:
            raise fail("filter JOB_DEFINITION takes an ARN without '*'")
        return {"definition": values[0]}
    if not values[0].isdigit():
        raise fail(f"filter {name} takes epoch milliseconds")
    return {"before" if name == "BEFORE_CREATED_AT" else "after": int(values[0])}


def _limit(value: Json, largest: int) -> int:
    if value is None:
        return largest
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= largest:
        raise fail(f"maxResults must be between 1 and {largest}")
    return value


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def _decode(token: Json) -> int | None:
    if token in (None, ""):
        return None
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("seq:") or not text[4:].isdigit():
        raise fail("nextToken is not valid")
    return int(text[4:])
