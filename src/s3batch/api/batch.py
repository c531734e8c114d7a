"""AWS Batch over REST-JSON: ``POST /v1/<operation>`` (lower case), tags at ``/v1/tags/<arn>``.

Bodies are the operations' JSON shapes as botocore's ``batch/2016-08-10`` model names
them. Errors are ``{"__type": "ClientException", "message": …}`` with status 400 (the
caller's fault) or ``ServerException`` with 500, the code repeated in ``x-amzn-ErrorType``;
signatures and body handling are the JSON protocol's (:mod:`.jsonproto`). Handlers are
synchronous domain calls, run in the thread pool, but for SubmitJob of one job
(:func:`runs_inline`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar
from urllib.parse import parse_qsl, unquote

from starlette.concurrency import run_in_threadpool

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.jsonproto import (
    JsonObject,
    UnknownOperationException,
    authenticate,
    error_response,
    log_failure,
    ok_response,
    parse_body,
    read_body,
    status_of,
)
from s3batch.batch import arns, codec, requests
from s3batch.batch.control import JobControl
from s3batch.batch.errors import ClientException, ServerException
from s3batch.batch.models import Job, JobDefinition
from s3batch.batch.service import BatchService
from s3batch.errors import S3BatchError

logger = logging.getLogger(__name__)

T = TypeVar("T")
#: REST-JSON responses are plain JSON.
CONTENT_TYPE = "application/json"
#: Where every operation lives, and the tags resource.
PREFIX, TAGS = "/v1/", "/v1/tags/"
#: Largest Describe* page (AWS: 100).
MAX_PAGE = 100
#: The statusReason of jobs whose queue was deleted (AWS's wording).
QUEUE_DELETED = "JobQueue deleted"

#: One operation: the request body (plus the tag path's ARN and query) in, the response body out.
Handler = Callable[[JsonObject], JsonObject]


def runs_inline(operation: str, params: JsonObject) -> bool:
    """Whether the operation runs on the event loop instead of in the thread pool.

    SubmitJob of one job: a small SQLite transaction, which SQLite serialises anyway; the
    hop to a worker thread and back cost the server ~0.3 ms of CPU per call here (of ~2
    ms), and thread wake-ups. An array job inserts its children (up to 10,000 rows), so it
    goes to the pool, as every other operation does.
    """
    return operation == "submitjob" and not params.get("arrayProperties")


class BatchProtocol:
    """The AWS Batch API: register it in ``ApiApp.protocols["batch"]``.

    ``min_timeout`` is the least ``timeout.attemptDurationSeconds`` accepted (AWS: 60;
    lower in tests, from ``Settings.min_timeout_seconds``); ``on_submit`` is called after
    each SubmitJob (it wakes the scheduler).
    """

    def __init__(
        self,
        service: BatchService,
        auth: Authenticator,
        min_timeout: int = 60,
        on_submit: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.control = JobControl(service)
        self.auth = auth
        self.min_timeout = min_timeout
        self.on_submit = on_submit
        self.handlers: dict[str, Handler] = {
            "createcomputeenvironment": self.create_compute_environment,
            "updatecomputeenvironment": self.update_compute_environment,
            "deletecomputeenvironment": self.delete_compute_environment,
            "describecomputeenvironments": self.describe_compute_environments,
            "createjobqueue": self.create_job_queue,
            "updatejobqueue": self.update_job_queue,
            "deletejobqueue": self.delete_job_queue,
            "describejobqueues": self.describe_job_queues,
            "registerjobdefinition": self.register_job_definition,
            "deregisterjobdefinition": self.deregister_job_definition,
            "describejobdefinitions": self.describe_job_definitions,
            "submitjob": self.submit_job,
            "describejobs": self.describe_jobs,
            "listjobs": self.list_jobs,
            "canceljob": self.cancel_job,
            "terminatejob": self.terminate_job,
        }

    async def __call__(self, request: Request) -> Response:
        """Answer one Batch request (errors become Batch's JSON errors)."""
        operation = "-"
        try:
            body = await read_body(request)
            authenticate(self.auth, request, body)
            operation, handler, params = self._route(request, parse_body(body))
            if runs_inline(operation, params):
                result = handler(params)
            else:
                result = await run_in_threadpool(handler, params)
            return ok_response(result, request.request_id, CONTENT_TYPE)
        except S3BatchError as exc:
            status = 500 if isinstance(exc, ServerException) else status_of(exc)
            return error_response(exc, request.request_id, status, CONTENT_TYPE)
        except Exception as exc:
            log_failure(operation, exc)
            return error_response(ServerException(), request.request_id, 500, CONTENT_TYPE)

    def _route(self, request: Request, params: JsonObject) -> tuple[str, Handler, JsonObject]:
        path = request.raw_path
        if path.startswith(TAGS):
            params = {**params, "resourceArn": unquote(path[len(TAGS) :])}
            params["tagKeys"] = [v for k, v in parse_qsl(request.query_string) if k == "tagKeys"]
            handlers = {"GET": self.list_tags, "POST": self.tag_resource, "DELETE": self.untag}
            if request.method in handlers:
                return "tags", handlers[request.method], params
        elif path.startswith(PREFIX) and request.method == "POST":
            operation = path[len(PREFIX) :].strip("/").lower()
            if operation in self.handlers:
                return operation, self.handlers[operation], params
        raise UnknownOperationException(f"s3batch does not support {request.method} {path}.")

    # -- compute environments ------------------------------------------------------

    def create_compute_environment(self, params: JsonObject) -> JsonObject:
        """CreateComputeEnvironment."""
        ce = self.service.create_compute_environment(params)
        return {"computeEnvironmentName": ce.name, "computeEnvironmentArn": ce.arn}

    def update_compute_environment(self, params: JsonObject) -> JsonObject:
        """UpdateComputeEnvironment."""
        ce = self.service.update_compute_environment(params)
        return {"computeEnvironmentName": ce.name, "computeEnvironmentArn": ce.arn}

    def delete_compute_environment(self, params: JsonObject) -> JsonObject:
        """DeleteComputeEnvironment."""
        self.service.delete_compute_environment(_text(params, "computeEnvironment"))
        return {}

    def describe_compute_environments(self, params: JsonObject) -> JsonObject:
        """DescribeComputeEnvironments: the named ones (unknown names left out) or all, in pages."""
        wanted = _names(params, "computeEnvironments", arns.COMPUTE_ENVIRONMENT)
        found = [
            ce for ce in self.service.compute_environments() if wanted is None or ce.name in wanted
        ]
        page, token = _page(found, params)
        details = [codec.compute_environment_detail(ce, self.service.tags(ce.arn)) for ce in page]
        return _with_token({"computeEnvironments": details}, token)

    # -- job queues ----------------------------------------------------------------

    def create_job_queue(self, params: JsonObject) -> JsonObject:
        """CreateJobQueue."""
        queue = self.service.create_job_queue(params)
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def update_job_queue(self, params: JsonObject) -> JsonObject:
        """UpdateJobQueue."""
        queue = self.service.update_job_queue(params)
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def delete_job_queue(self, params: JsonObject) -> JsonObject:
        """DeleteJobQueue: its unfinished jobs fail (queued) or are terminated (running)."""
        for job_id in self.service.delete_job_queue(_text(params, "jobQueue")):
            self.control.terminate(job_id, QUEUE_DELETED)
        return {}

    def describe_job_queues(self, params: JsonObject) -> JsonObject:
        """DescribeJobQueues: the named ones (unknown names left out) or all, in pages."""
        wanted = _names(params, "jobQueues", arns.JOB_QUEUE)
        found = [q for q in self.service.job_queues() if wanted is None or q.name in wanted]
        page, token = _page(found, params)
        ce_arns = {ce.name: ce.arn for ce in self.service.compute_environments()}
        details = [codec.job_queue_detail(q, ce_arns, self.service.tags(q.arn)) for q in page]
        return _with_token({"jobQueues": details}, token)

    # -- job definitions -----------------------------------------------------------

    def register_job_definition(self, params: JsonObject) -> JsonObject:
        """RegisterJobDefinition: a new revision."""
        requests.check_timeout_floor(params, self.min_timeout)
        definition = self.service.register_job_definition(params)
        return {
            "jobDefinitionName": definition.name,
            "jobDefinitionArn": definition.arn,
            "revision": definition.revision,
        }

    def deregister_job_definition(self, params: JsonObject) -> JsonObject:
        """DeregisterJobDefinition: the revision becomes INACTIVE."""
        self.service.deregister_job_definition(_text(params, "jobDefinition"))
        return {}

    def describe_job_definitions(self, params: JsonObject) -> JsonObject:
        """DescribeJobDefinitions: by ``name:revision``/ARN list, or by name and/or status, in pages."""
        references = params.get("jobDefinitions") or []
        if references:
            if not isinstance(references, list) or len(references) > MAX_PAGE:
                raise ClientException(f"jobDefinitions must list at most {MAX_PAGE} entries")
            found = [d for r in references if (d := self._definition_or_none(str(r)))]
        else:
            name, status = params.get("jobDefinitionName"), params.get("status")
            found = self.service.job_definitions(
                None if name is None else str(name), None if status is None else str(status)
            )
        page, token = _page(found, params)
        details = [codec.job_definition_detail(d, self.service.tags(d.arn)) for d in page]
        return _with_token({"jobDefinitions": details}, token)

    def _definition_or_none(self, reference: str) -> JobDefinition | None:
        try:
            return self.service.job_definition(reference)
        except ClientException:
            return None

    # -- jobs ----------------------------------------------------------------------

    def submit_job(self, params: JsonObject) -> JsonObject:
        """SubmitJob."""
        requests.check_timeout_floor(params, self.min_timeout)
        job = self.service.submit_job(params)
        if self.on_submit is not None:
            self.on_submit()
        return {"jobArn": job.arn, "jobName": job.name, "jobId": job.id}

    def describe_jobs(self, params: JsonObject) -> JsonObject:
        """DescribeJobs: up to 100 jobs by id; unknown ids are left out."""
        ids = params.get("jobs")
        if not isinstance(ids, list) or len(ids) > MAX_PAGE:
            raise ClientException(f"jobs must list at most {MAX_PAGE} job ids")
        jobs = self.service.describe_jobs(str(i) for i in ids)
        return {"jobs": [self._job_detail(j) for j in jobs]}

    def _job_detail(self, job: Job) -> JsonObject:
        tags = self.service.tags(job.arn)
        if not job.is_array_parent:
            return codec.job_detail(job, tags)
        summary = self.service.array_summary(job)
        return codec.job_detail(job, tags, summary, self.service.array_summary_changed_at(job))

    def list_jobs(self, params: JsonObject) -> JsonObject:
        """ListJobs: RUNNING jobs of a queue unless a status or a filter says otherwise."""
        page = self.control.list(params)
        body = {"jobSummaryList": [codec.job_summary(j) for j in page.jobs]}
        return _with_token(body, page.next_token)

    def cancel_job(self, params: JsonObject) -> JsonObject:
        """CancelJob."""
        self.control.cancel(_text(params, "jobId"), _text(params, "reason"))
        return {}

    def terminate_job(self, params: JsonObject) -> JsonObject:
        """TerminateJob."""
        self.control.terminate(_text(params, "jobId"), _text(params, "reason"))
        return {}

    # -- tags ----------------------------------------------------------------------

    def _check_resource(self, arn: str) -> None:
        kind = arn.split(":", 5)[-1].split("/", 1)[0] if arn.startswith("arn:") else ""
        lookups: dict[str, Callable[[str], object]] = {
            arns.COMPUTE_ENVIRONMENT: self.service.compute_environment,
            arns.JOB_QUEUE: self.service.job_queue,
            arns.JOB_DEFINITION: self.service.job_definition,
            arns.JOB: lambda a: self.service.taggable_job(a.rsplit("/", 1)[-1]),
        }
        if kind not in lookups:
            raise ClientException(f"{arn} is not a taggable AWS Batch resource ARN")
        resource = lookups[kind](arn)
        if getattr(resource, "arn", None) != arn:  # a definition's without its revision
            raise ClientException(f"{arn} is not the ARN of an AWS Batch resource")

    def list_tags(self, params: JsonObject) -> JsonObject:
        """ListTagsForResource."""
        self._check_resource(params["resourceArn"])
        return {"tags": self.service.tags(params["resourceArn"])}

    def tag_resource(self, params: JsonObject) -> JsonObject:
        """TagResource."""
        self._check_resource(params["resourceArn"])
        self.service.tag_resource(params["resourceArn"], requests.tags(params.get("tags")))
        return {}

    def untag(self, params: JsonObject) -> JsonObject:
        """UntagResource."""
        self._check_resource(params["resourceArn"])
        if not params["tagKeys"]:
            raise ClientException("tagKeys is required")
        self.service.untag_resource(params["resourceArn"], params["tagKeys"])
        return {}


def _text(params: JsonObject, name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise ClientException(f"{name} is required")
    return value


def _names(params: JsonObject, member: str, kind: str) -> set[str] | None:
    references = params.get(member)
    if not references:
        return None
    if not isinstance(references, list) or len(references) > MAX_PAGE:
        raise ClientException(f"{member} must list at most {MAX_PAGE} names or ARNs")
    return {arns.resource_name(str(r), kind) for r in references}


def _page(items: Sequence[T], params: JsonObject) -> tuple[Sequence[T], str | None]:
    size = params.get("maxResults") or MAX_PAGE
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
        raise ClientException(f"maxResults must be between 1 and {MAX_PAGE}")
    start = _offset(params.get("nextToken"))
    end = start + size
    token = base64.urlsafe_b64encode(f"at:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], token


def _offset(token: object) -> int:
    if token in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token).encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith("at:") or not text[3:].isdigit():
        raise ClientException("nextToken is not valid")
    return int(text[3:])


def _with_token(body: JsonObject, token: str | None) -> JsonObject:
    if token is not None:
        body["nextToken"] = token
    return body
