"""Dashboard, jobs list, job detail, job logs, and cancel/terminate."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from s3batch.batch.control import JobControl
from s3batch.batch.errors import JobNotFound
from s3batch.batch.models import Job
from s3batch.batch.status import QUEUED, TERMINAL, JobStatus
from s3batch.batch.supervisor import LOG_GROUP
from s3batch.errors import S3BatchError
from s3batch.runtime import Services
from s3batch.web.definitions import reference
from s3batch.web.render import PAGE_SIZE, PREFIX, Renderer
from s3batch.web.security import Access

#: Statuses in the order a job goes through them.
STATUSES = [str(s) for s in JobStatus]
#: Time-range buttons of the logs page: label → seconds.
RANGES = {
    "1h": 3600,
    "3h": 3 * 3600,
    "12h": 12 * 3600,
    "1d": 86400,
    "3d": 3 * 86400,
    "1w": 7 * 86400,
}


class JobPages:
    """The pages about jobs, queues and compute environments."""

    def __init__(self, services: Services, render: Renderer, access: Access) -> None:
        self.batch = services.batch
        self.logs = services.logs
        self.bus = services.bus
        self.control = JobControl(services.batch)
        self.render = render
        self.access = access

    def dashboard(self, request: Request) -> Response:
        """Jobs by status, queues with counts per status, compute environments with vCPUs.

        Counts come from one SQL aggregate and vCPUs in use from another: no job is read."""
        per_queue = self.batch.job_counts()
        totals: Counter[str] = Counter()
        for (_, status), n in per_queue.items():
            totals[status] += n
        queues = [
            {"q": q, "counts": {s: per_queue.get((q.name, s), 0) for s in STATUSES}}
            for q in sorted(self.batch.job_queues(), key=lambda q: q.name)
        ]
        in_use = self.batch.vcpus_in_use()
        envs = [
            _environment(ce, in_use.get(ce.name, 0)) for ce in self.batch.compute_environments()
        ]
        return self.render.page(
            request, "dashboard.html", totals=totals, statuses=STATUSES, queues=queues, envs=envs
        )

    def jobs(self, request: Request) -> Response:
        """Jobs newest first (array children too), filtered by queue, status, name and age, in
        pages: a count and one page of jobs are read, whatever the number of jobs."""
        q = request.query_params
        queue, status, name = q.get("queue") or None, q.get("status") or None, q.get("name", "")
        since = q.get("since", "")
        page = max(int(q["page"]), 1) if q.get("page", "").isdigit() else 1
        where: dict[str, object] = {"with_children": True, "name_contains": name}
        if status in STATUSES:
            where["statuses"] = [status]
        if since in RANGES:  # createdAt at or after the range's start
            where["after"] = int((time.time() - RANGES[since]) * 1000) - 1
        try:
            where["queue"] = self.batch.job_queue(queue).name if queue else None
        except S3BatchError:
            total, shown = 0, []
        else:
            total = self.batch.count_jobs(where)
            shown = [
                j
                for _, j in self.batch.newest_jobs(where, PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            ]
        pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        return self.render.page(
            request,
            "jobs.html",
            jobs=shown,
            total=total,
            page=page,
            pages=pages,
            queues=[x.name for x in self.batch.job_queues()],
            statuses=STATUSES,
            queue=queue or "",
            status=status or "",
            name=name,
            since=since,
            ranges=list(RANGES),
        )

    def _job(self, request: Request) -> Job | None:
        try:
            return self.batch.job(request.path_params["job_id"])
        except JobNotFound:
            return None

    def job(self, request: Request) -> Response:
        """One job: status, reason, parameters, command, masked environment (a secret's variable
        shows where its value comes from, never the value), attempts, trigger."""
        job = self._job(request)
        if job is None:
            return self.render.page(request, "error.html", 404, message="No such job.")
        secret = dict(job.container.secrets)
        env = [(k, self.access.mask(k, v)) for k, v in job.container.environment if k not in secret]
        return self.render.page(
            request,
            "job.html",
            job=job,
            env=env,
            events=self.batch.job_events(job.id),
            command=self.access.mask_text(" ".join(job.container.command)),
            cancellable=job.status in QUEUED,  # CancelJob does nothing to a job once placed
            running=job.status not in TERMINAL,
            streams=_streams(job),
            trigger_event=self._trigger_event(job),
            children=self.batch.array_children(job) if job.is_array_parent else [],
            definition=reference(job.definition_arn),
        )

    def _trigger_event(self, job: Job) -> Any:
        """The event that submitted the job, found by its id among those the bus received."""
        trigger = job.submission.trigger
        event_id = trigger.get("eventId") if isinstance(trigger, dict) else None
        return self.bus.received_event(str(event_id)) if event_id else None

    def stop(self, request: Request) -> Response:
        """POST: cancel or terminate a job, then back to its page."""
        job_id, kind = request.path_params["job_id"], request.path_params["kind"]
        reason = f"{'Terminated' if kind == 'terminate' else 'Canceled'} from the dashboard"
        try:
            (self.control.terminate if kind == "terminate" else self.control.cancel)(job_id, reason)
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 400, message=str(exc))
        return RedirectResponse(f"{PREFIX}/jobs/{job_id}", 303)

    def job_logs(self, request: Request) -> Response:
        """A job's log: keyword filter, max results, order, time range, live tail while it runs."""
        job = self._job(request)
        if job is None:
            return self.render.page(request, "error.html", 404, message="No such job.")
        q = request.query_params
        streams = _streams(job)
        stream = q.get("stream") or (streams[-1] if streams else "")
        opts = _log_options(q)
        lines, error = self._lines(stream, opts) if stream else ([], None)
        return self.render.page(
            request,
            "logs.html",
            job=job,
            streams=streams,
            stream=stream,
            lines=lines,
            error=error,
            ranges=list(RANGES),
            running=job.status not in TERMINAL,
            **opts,
        )

    def _lines(self, stream: str, opts: dict[str, Any]) -> tuple[list[Any], str | None]:
        start, end = _window(opts)
        try:
            if opts["filter"]:
                page = self.logs.filter_log_events(
                    LOG_GROUP,
                    [stream],
                    start_time=start,
                    end_time=end,
                    pattern=opts["filter"],
                    limit=10000,
                )
                events = [f.event for f in page.events]
                events = (
                    events[-opts["limit"] :] if opts["order"] == "desc" else events[: opts["limit"]]
                )
            else:
                events = self.logs.get_log_events(
                    LOG_GROUP,
                    stream,
                    start_from_head=opts["order"] == "asc",
                    limit=opts["limit"],
                    start_time=start,
                    end_time=end,
                ).events
        except S3BatchError as exc:
            return [], str(exc)
        return (events[::-1] if opts["order"] == "desc" else events), None


def _log_options(q: Any) -> dict[str, Any]:
    limit = q.get("limit", "1000")
    return {
        "filter": q.get("filter", "").strip(),
        "limit": min(max(int(limit), 1), 10000) if limit.isdigit() else 1000,
        "order": "desc" if q.get("order") == "desc" else "asc",
        "range": q.get("range", "all"),
        "start": q.get("start", ""),
        "end": q.get("end", ""),
    }


def _window(opts: dict[str, Any]) -> tuple[int | None, int | None]:
    """Epoch-ms bounds of a log query: a preset range, or custom ISO start/end (UTC)."""
    if opts["range"] in RANGES:
        return int((time.time() - RANGES[opts["range"]]) * 1000), None
    if opts["range"] != "custom":
        return None, None
    return _epoch_ms(opts["start"]), _epoch_ms(opts["end"])


def _epoch_ms(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return int(moment.replace(tzinfo=moment.tzinfo or UTC).timestamp() * 1000)


def _streams(job: Job) -> list[str]:
    names = [a.log_stream_name for a in job.attempts if a.log_stream_name]
    if job.container.log_stream_name and job.container.log_stream_name not in names:
        names.append(job.container.log_stream_name)
    return names


def _environment(ce: Any, in_use: float) -> dict[str, Any]:
    resources = ce.spec.get("computeResources") if isinstance(ce.spec, dict) else None
    resources = resources if isinstance(resources, dict) else {}
    return {
        "name": ce.name,
        "type": ce.type,
        "model": ce.compute_type,
        "state": ce.state,
        "status": "VALID",
        "min": resources.get("minvCpus", 0),
        "desired": resources.get("desiredvCpus", in_use),
        "max": ce.max_vcpus,
        "in_use": in_use,
    }
