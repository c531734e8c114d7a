"""The Batch job queue as an event target: each delivered event submits one job.

It satisfies the bus's ``Target`` interface structurally (it imports nothing from the
event bus). As AWS does, ``BatchParameters`` give the job name, definition, array size
and retry attempts, and the delivered payload's top-level ``Parameters``,
``ContainerOverrides`` and ``DependsOn`` are mapped onto the SubmitJob request; the rest
of the payload is ignored. The delivery id is the submission's idempotency key, so a
redelivered event never submits a second job.
"""

from __future__ import annotations

from collections.abc import Callable

from s3batch.batch.errors import ClientException
from s3batch.batch.service import BatchService
from s3batch.types import Json

_OVERRIDES = {"Command": "command", "Environment": "environment", "InstanceType": "instanceType"}


def queue_of(arn: str) -> str:
    """The job queue a target ARN (or bare queue name) points at."""
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn


def _container_overrides(overrides: Json) -> Json:
    mapped: Json = {}
    for key, value in overrides.items():
        if key == "Environment":
            mapped["environment"] = [
                {"name": e.get("Name", e.get("name")), "value": e.get("Value", e.get("value"))}
                for e in value
            ]
        elif key in ("Vcpus", "Memory"):
            kind = "VCPU" if key == "Vcpus" else "MEMORY"
            mapped.setdefault("resourceRequirements", []).append(
                {"type": kind, "value": str(value)}
            )
        elif key == "ResourceRequirements":
            mapped.setdefault("resourceRequirements", []).extend(
                {"type": r["Type"], "value": str(r["Value"])} for r in value
            )
        elif key in _OVERRIDES:
            mapped[_OVERRIDES[key]] = value
    return mapped


def submit_request(target: Json, payload: Json) -> Json:
    """The SubmitJob request a delivery makes."""
    params = target.get("BatchParameters") or {}
    if "JobDefinition" not in params or "JobName" not in params:
        raise ClientException(
            "A Batch target needs BatchParameters with JobDefinition and JobName."
        )
    request: Json = {
        "jobName": params["JobName"],
        "jobQueue": queue_of(target["Arn"]),
        "jobDefinition": params["JobDefinition"],
    }
    if "Size" in (params.get("ArrayProperties") or {}):
        request["arrayProperties"] = {"size": params["ArrayProperties"]["Size"]}
    if "Attempts" in (params.get("RetryStrategy") or {}):
        request["retryStrategy"] = {"attempts": params["RetryStrategy"]["Attempts"]}
    if isinstance(payload, dict):
        if isinstance(payload.get("Parameters"), dict):
            request["parameters"] = {
                k: v if isinstance(v, str) else str(v) for k, v in payload["Parameters"].items()
            }
        if isinstance(payload.get("ContainerOverrides"), dict):
            request["containerOverrides"] = _container_overrides(payload["ContainerOverrides"])
        if isinstance(payload.get("DependsOn"), list):
            request["dependsOn"] = [
                {"jobId": d["JobId"]} for d in payload["DependsOn"] if "JobId" in d
            ]
    return request


class BatchJobTarget:
    """Submits a Batch job for each event a rule delivers."""

    def __init__(self, service: BatchService, on_submit: Callable[[], None] = lambda: None) -> None:
        self.service = service
        #: Hook called after each submission (the runtime wakes the scheduler with it).
        self.on_submit = on_submit

    def deliver(self, event: Json, target: Json, payload: Json, delivery_id: str) -> str:
        """Submit (once per delivery id) and return the job's id."""
        trigger = {
            "eventId": event.get("id"),
            "deliveryId": delivery_id,
            "source": event.get("source"),
            "detailType": event.get("detail-type"),
        }
        job = self.service.submit_job(
            submit_request(target, payload), idempotency_key=delivery_id, trigger=trigger
        )
        self.on_submit()
        return f"job {job.id}"
