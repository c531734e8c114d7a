"""Job definitions page: every revision, ACTIVE by default, and one revision with its JSON.

The JSON is DescribeJobDefinitions' shape. Environment values whose names look secret are
masked as on a job's page; ``secrets`` entries are shown as registered, that is as the
``valueFrom`` names of the secrets, never their values.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from s3batch.batch import arns, codec
from s3batch.batch.models import JobDefinition
from s3batch.batch.service import BatchService
from s3batch.errors import S3BatchError
from s3batch.types import Json
from s3batch.web.render import Renderer
from s3batch.web.security import Access

#: The status filters of the list: query value → statuses shown.
STATUS_FILTERS = {"ACTIVE": "ACTIVE", "INACTIVE": "INACTIVE", "all": None}


class DefinitionPages:
    """Job definitions as pages."""

    def __init__(self, batch: BatchService, render: Renderer, access: Access) -> None:
        self.batch = batch
        self.render = render
        self.access = access

    def page(self, request: Request) -> Response:
        """Definitions by name and revision (newest revision first), of one status or all."""
        shown = request.query_params.get("status", "ACTIVE")
        shown = shown if shown in STATUS_FILTERS else "ACTIVE"
        found = self.batch.job_definitions(status=STATUS_FILTERS[shown])
        found.sort(key=lambda d: (d.name, -d.revision))
        rows = [{"d": d, "detail": self._detail(d)} for d in found]
        return self.render.page(
            request, "job_definitions.html", rows=rows, shown=shown, filters=list(STATUS_FILTERS)
        )

    def definition(self, request: Request) -> Response:
        """One revision (``name:revision``): its settings, secrets by name, and its JSON."""
        try:
            definition = self.batch.job_definition(request.path_params["reference"])
        except S3BatchError as exc:
            return self.render.page(request, "error.html", 404, message=str(exc))
        return self.render.page(
            request, "job_definition.html", d=definition, detail=self._detail(definition)
        )

    def _detail(self, definition: JobDefinition) -> dict[str, Json]:
        """DescribeJobDefinitions' shape, with secret-looking environment values masked."""
        detail = codec.job_definition_detail(definition, self.batch.tags(definition.arn))
        props = detail.get("containerProperties")
        if isinstance(props, dict) and isinstance(props.get("environment"), list):
            environment = [self._masked(item) for item in props["environment"]]
            detail["containerProperties"] = {**props, "environment": environment}
        return detail

    def _masked(self, item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        name, value = str(item.get("name", "")), str(item.get("value", ""))
        return {**item, "value": self.access.mask(name, value)}


def reference(definition_arn: str) -> str:
    """``name:revision`` of a definition ARN (the path of its page under ``/job-definitions/``)."""
    return arns.resource_name(definition_arn, arns.JOB_DEFINITION)
