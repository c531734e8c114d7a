"""Create/Register requests in AWS's shapes → entities, validated as AWS does (pure).

Requests are the JSON bodies of CreateComputeEnvironment, CreateJobQueue and
RegisterJobDefinition, with boto3's field names. Errors are :class:`ClientException`
naming the field. AWS's ``timeout.attemptDurationSeconds >= 60`` is the API's check, not
the model's: a definition may hold a shorter timeout (tests, stack files).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import cast

from s3batch.batch import sensitive
from s3batch.batch.errors import ClientException
from s3batch.batch.models import (
    ComputeEnvironment,
    ComputeType,
    ContainerProperties,
    EvaluateOnExit,
    JobDefinition,
    JobQueue,
    Pair,
    RetryStrategy,
    State,
)
from s3batch.types import Json

#: Job names: 1-128 letters, numbers, hyphens and underscores, starting alphanumeric.
JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
#: Names of compute environments, queues and job definitions.
RESOURCE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")
#: The most compute environments one queue may use.
MAX_QUEUE_CES = 3
#: ``jobStateTimeLimitActions``: at most this many, each ``maxTimeSeconds`` within these bounds.
MAX_TIME_LIMIT_ACTIONS, MIN_TIME_LIMIT, MAX_TIME_LIMIT = 5, 600, 86400
MANAGED_TYPES = ("FARGATE", "FARGATE_SPOT", "EC2", "SPOT")
PLATFORM_CAPABILITIES = ("EC2", "FARGATE")
#: Tags: how many a resource may hold, the longest key and value.
MAX_TAGS, MAX_TAG_KEY, MAX_TAG_VALUE = 50, 128, 256
RESOURCE_TYPES = ("VCPU", "MEMORY", "GPU")


def fail(message: str) -> ClientException:
    """A ClientException with AWS's message framing."""
    return ClientException(f"Error executing request, Exception : {message}")


def require(request: Mapping[str, Json], field: str) -> Json:
    """A required request member."""
    value = request.get(field)
    if value is None or value == "":
        raise fail(f"{field} is required")
    return value


def check_name(value: Json, field: str) -> str:
    """A resource name: up to 128 letters, numbers, hyphens and underscores."""
    if not isinstance(value, str) or not RESOURCE_NAME.fullmatch(value):
        raise fail(
            f"{field} must be 1-128 characters: letters, numbers, hyphens (-) and underscores (_)"
        )
    return value


def _state(request: Mapping[str, Json]) -> State:
    state = request.get("state", "ENABLED")
    if state not in ("ENABLED", "DISABLED"):
        raise fail(f"state must be ENABLED or DISABLED, not {state!r}")
    return cast(State, state)


def _int(value: Json, field: str, low: int, high: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise fail(f"{field} must be an integer {bounds}")
    return value


def compute_environment(
    request: Mapping[str, Json], arn: Callable[[str], str], now: int
) -> ComputeEnvironment:
    """A CreateComputeEnvironment request as an entity."""
    name = check_name(require(request, "computeEnvironmentName"), "computeEnvironmentName")
    kind = require(request, "type")
    if kind not in ("MANAGED", "UNMANAGED"):
        raise fail(f"type must be MANAGED or UNMANAGED, not {kind!r}")
    resources = request.get("computeResources")
    compute_type: ComputeType = "LOCAL"
    if kind == "MANAGED" and request.get("unmanagedvCpus") is not None:
        raise fail("unmanagedvCpus is only supported for an UNMANAGED compute environment")
    if kind == "UNMANAGED" and resources is not None:
        raise fail("computeResources is only supported for a MANAGED compute environment")
    if kind == "MANAGED":
        if not isinstance(resources, Mapping):
            raise fail("computeResources is required for a MANAGED compute environment")
        if resources.get("type") not in MANAGED_TYPES:
            raise fail(f"computeResources.type must be one of {', '.join(MANAGED_TYPES)}")
        compute_type = cast(ComputeType, resources["type"])
        max_vcpus = _int(resources.get("maxvCpus"), "computeResources.maxvCpus", 0)
    else:
        default = os.cpu_count() or 1
        max_vcpus = _int(request.get("unmanagedvCpus", default), "unmanagedvCpus", 0)
    return ComputeEnvironment(
        name, arn(name), kind, compute_type, _state(request), max_vcpus, now, dict(request)
    )


def job_queue(
    request: Mapping[str, Json],
    arn: Callable[[str], str],
    resolve_ce: Callable[[str], ComputeEnvironment],
    now: int,
) -> JobQueue:
    """A CreateJobQueue request as an entity; ``resolve_ce`` finds a CE by name or ARN."""
    name = check_name(require(request, "jobQueueName"), "jobQueueName")
    priority = _int(request.get("priority"), "priority", 0)
    entries = request.get("computeEnvironmentOrder") or []
    if not isinstance(entries, list) or not entries:
        raise fail("computeEnvironmentOrder must list at least one compute environment")
    if len(entries) > MAX_QUEUE_CES:
        raise fail(f"a job queue can use at most {MAX_QUEUE_CES} compute environments")
    order: list[tuple[int, str]] = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise fail("computeEnvironmentOrder entries are {order, computeEnvironment}")
        position = _int(entry.get("order"), "computeEnvironmentOrder.order", 0)
        ce = resolve_ce(str(require(entry, "computeEnvironment")))
        order.append((position, ce.name))
    if len({p for p, _ in order}) != len(order):
        raise fail("computeEnvironmentOrder has duplicate order values")
    time_limit_actions(request.get("jobStateTimeLimitActions"))
    return JobQueue(
        name, arn(name), _state(request), priority, tuple(sorted(order)), now, 0, dict(request)
    )


def time_limit_actions(items: Json) -> dict[str, int]:
    """``jobStateTimeLimitActions`` (``[{reason, state: RUNNABLE, maxTimeSeconds, action: CANCEL}]``) as reason → seconds.

    Raises:
        ClientException: an entry is invalid.
    """
    if items is None:
        return {}
    if not isinstance(items, list) or len(items) > MAX_TIME_LIMIT_ACTIONS:
        raise fail(f"jobStateTimeLimitActions must list at most {MAX_TIME_LIMIT_ACTIONS} actions")
    actions: dict[str, int] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise fail("jobStateTimeLimitActions entries are objects")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason:
            raise fail("jobStateTimeLimitActions.reason must be a non-empty string")
        if item.get("state") != "RUNNABLE":
            raise fail("jobStateTimeLimitActions.state must be RUNNABLE")
        if item.get("action") != "CANCEL":
            raise fail("jobStateTimeLimitActions.action must be CANCEL")
        seconds = _int(
            item.get("maxTimeSeconds"),
            "jobStateTimeLimitActions.maxTimeSeconds",
            MIN_TIME_LIMIT,
            MAX_TIME_LIMIT,
        )
        actions[reason] = seconds
    return actions


def _objects(items: Json, field: str) -> list[Mapping[str, Json]]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise fail(f"{field} must be a list of objects")
    return items


def _pairs(items: Json, field: str, key: str) -> tuple[Pair, ...]:
    return tuple((str(require(i, key)), str(i.get("value", ""))) for i in _objects(items, field))


def _unreserved(pairs: tuple[Pair, ...], field: str) -> tuple[Pair, ...]:
    for name, _ in pairs:
        if name.startswith("AWS_BATCH"):
            raise fail(f"{field}: variable names starting with AWS_BATCH are reserved ({name})")
    return pairs


def environment(items: Json, field: str) -> tuple[Pair, ...]:
    """``[{name, value}]`` as pairs; names starting with AWS_BATCH are reserved."""
    return _unreserved(_pairs(items, field, "name"), field)


def secrets(items: Json, field: str) -> tuple[Pair, ...]:
    """``[{name, valueFrom}]`` as pairs, both required; each valueFrom a Secrets Manager secret
    (see :mod:`.sensitive`). A secret's variable takes the place of an environment entry of
    its name, as the ECS agent sets secrets after the environment."""
    objects = _objects(items, field)
    pairs = tuple((str(require(i, "name")), str(require(i, "valueFrom"))) for i in objects)
    for _, value_from in pairs:
        try:
            sensitive.parse(value_from)
        except ValueError as exc:
            raise fail(f"{field}: {exc}") from None
    return _unreserved(pairs, field)


def resource_requirements(items: Json, field: str) -> tuple[Pair, ...]:
    """``[{type, value}]`` as pairs; VCPU must be a positive number, MEMORY a positive integer."""
    pairs = _pairs(items, field, "type")
    for kind, value in pairs:
        if kind not in RESOURCE_TYPES:
            raise fail(f"{field}: type must be one of {', '.join(RESOURCE_TYPES)}, not {kind!r}")
        try:
            number = float(value) if kind == "VCPU" else int(value)
        except ValueError:
            raise fail(f"{field}: {kind} value {value!r} is not a number") from None
        if number <= 0 and kind != "GPU":
            raise fail(f"{field}: {kind} must be greater than 0")
    return pairs


def command(items: Json, field: str) -> tuple[str, ...]:
    """A command: a list of non-empty strings."""
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(a, str) for a in items):
        raise fail(f"{field} must be a list of strings")
    if any(a == "" for a in items):
        raise fail("Command field cannot have empty strings")
    return tuple(items)


def parameters(items: Json, field: str) -> dict[str, str]:
    """A parameters map: string keys and string values."""
    if items is None:
        return {}
    if not isinstance(items, Mapping) or not all(isinstance(v, str) for v in items.values()):
        raise fail(f"{field} must map names to string values")
    return {str(k): v for k, v in items.items()}


def mapping(value: Json, field: str) -> Mapping[str, Json]:
    if not isinstance(value, Mapping):
        raise fail(f"{field} must be an object")
    return value


def _text(value: Json, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise fail(f"{field} must be a string")
    return value


def retry_strategy(value: Json, field: str = "retryStrategy") -> RetryStrategy:
    """A retryStrategy: attempts 1..10 (default 1) and up to 5 evaluateOnExit rules."""
    if value is None:
        return RetryStrategy()
    value = mapping(value, field)
    attempts = _int(value.get("attempts", 1), f"{field}.attempts", 1, 10)
    rules = []
    where = f"{field}.evaluateOnExit"
    for rule in _objects(value.get("evaluateOnExit"), where):
        action = str(require(rule, "action")).upper()
        if action not in ("RETRY", "EXIT"):
            raise fail(f"{where}.action must be RETRY or EXIT")
        rules.append(
            EvaluateOnExit(
                "RETRY" if action == "RETRY" else "EXIT",
                _text(rule.get("onStatusReason"), f"{where}.onStatusReason"),
                _text(rule.get("onReason"), f"{where}.onReason"),
                _text(rule.get("onExitCode"), f"{where}.onExitCode"),
            )
        )
    if len(rules) > 5:
        raise fail(f"{field}.evaluateOnExit allows at most 5 entries")
    return RetryStrategy(attempts, tuple(rules))


def timeout(value: Json, field: str = "timeout") -> int | None:
    """``timeout.attemptDurationSeconds`` (any positive number of seconds), or None."""
    if value is None or mapping(value, field).get("attemptDurationSeconds") is None:
        return None
    return _int(value["attemptDurationSeconds"], f"{field}.attemptDurationSeconds", 1)


def legacy_resources(props: Mapping[str, Json], field: str) -> tuple[Pair, ...]:
    """The deprecated ``vcpus`` (at least 1) and ``memory`` (MiB, at least 4) as VCPU and
    MEMORY requirements, where given."""
    pairs = []
    for key, kind, low in (("vcpus", "VCPU", 1), ("memory", "MEMORY", 4)):
        if props.get(key) is not None:
            pairs.append((kind, str(_int(props[key], f"{field}.{key}", low))))
    return tuple(pairs)


def _container(props: Json) -> ContainerProperties:
    if not isinstance(props, Mapping):
        raise fail("containerProperties is required for a container job definition")
    requirements = resource_requirements(
        props.get("resourceRequirements"), "containerProperties.resourceRequirements"
    )
    kinds = {k for k, _ in requirements}
    legacy = legacy_resources(props, "containerProperties")
    return ContainerProperties(
        command(props.get("command"), "containerProperties.command"),
        environment(props.get("environment"), "containerProperties.environment"),
        requirements + tuple(p for p in legacy if p[0] not in kinds),
        props.get("image"),
        secrets(props.get("secrets"), "containerProperties.secrets"),
    )


def platform_capabilities(value: Json) -> tuple[str, ...]:
    """``platformCapabilities``: EC2 (the default) or FARGATE."""
    if value is None:
        return ("EC2",)
    if not isinstance(value, list) or len(value) != 1 or value[0] not in PLATFORM_CAPABILITIES:
        raise fail(f"platformCapabilities must be one of {', '.join(PLATFORM_CAPABILITIES)}")
    return (str(value[0]),)


def job_definition(request: Mapping[str, Json], now: int) -> JobDefinition:
    """A RegisterJobDefinition request as an entity, before a revision and ARN are given."""
    name = check_name(require(request, "jobDefinitionName"), "jobDefinitionName")
    kind = require(request, "type")
    if kind != "container":
        raise fail(f"job definition type {kind!r} is not supported by s3batch (only container)")
    platform_capabilities(request.get("platformCapabilities"))
    if request.get("schedulingPriority") is not None:
        _int(request["schedulingPriority"], "schedulingPriority", 0, 9999)
    return JobDefinition(
        name=name,
        revision=0,
        arn="",
        status="ACTIVE",
        type=kind,
        parameters=parameters(request.get("parameters"), "parameters"),
        container=_container(request.get("containerProperties")),
        retry_strategy=retry_strategy(request.get("retryStrategy")),
        timeout=timeout(request.get("timeout")),
        created_at=now,
        spec=dict(request),
    )


def fingerprint(request: Mapping[str, Json]) -> str:
    """A digest of a request's content: equal for requests that register the same thing."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def tags(value: Json) -> dict[str, str]:
    """A tags map: at most 50, keys of 1-128 characters not starting ``aws:``, values of at
    most 256."""
    found = parameters(value, "tags")
    if len(found) > MAX_TAGS:
        raise fail(f"a resource can have at most {MAX_TAGS} tags")
    for key, text in found.items():
        if not 1 <= len(key) <= MAX_TAG_KEY or len(text) > MAX_TAG_VALUE:
            raise fail(
                f"tag keys must be 1-{MAX_TAG_KEY} characters and values at most {MAX_TAG_VALUE}"
                f" (key {key[:MAX_TAG_KEY]!r})"
            )
        if key.lower().startswith("aws:"):
            raise fail(f"tag keys starting with aws: are reserved ({key})")
    return found


def compute_environment_update(
    ce: ComputeEnvironment, request: Mapping[str, Json]
) -> ComputeEnvironment:
    """``ce`` with an UpdateComputeEnvironment request's state and vCPU changes applied."""
    state = _state({"state": request.get("state") or ce.state})
    max_vcpus = ce.max_vcpus
    resources = request.get("computeResources")
    if isinstance(resources, Mapping) and resources.get("maxvCpus") is not None:
        max_vcpus = _int(resources["maxvCpus"], "computeResources.maxvCpus", 0)
    if request.get("unmanagedvCpus") is not None:
        max_vcpus = _int(request["unmanagedvCpus"], "unmanagedvCpus", 0)
    spec = {**ce.spec, "state": state}
    return replace(ce, state=state, max_vcpus=max_vcpus, spec=spec)


def check_timeout_floor(request: Mapping[str, Json], floor: int) -> None:
    """The API's rule: ``timeout.attemptDurationSeconds`` is at least ``floor`` (AWS: 60)."""
    seconds = timeout(request.get("timeout"))
    if seconds is not None and seconds < floor:
        raise fail(f"timeout.attemptDurationSeconds must be at least {floor} seconds")
