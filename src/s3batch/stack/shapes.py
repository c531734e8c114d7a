"""Validate stack resources against botocore's own service models: one schema, AWS's.

A resource is the request of the AWS call that creates it, so botocore's parameter
validator checks field names, types, enums and ranges exactly as boto3 would before
sending the call. Requirements that only make sense in the cloud (a trail's log bucket,
a Fargate environment's subnets) are waived locally.
"""

from __future__ import annotations

import functools
from typing import Any

import botocore.session
from botocore.model import ListShape, OperationModel, Shape, StructureShape
from botocore.validate import ParamValidator, ValidationErrors

from s3batch.errors import ConfigError

#: Required request members that a local stack may leave out, per operation.
LOCAL_WAIVERS: dict[str, frozenset[str]] = {
    "CreateTrail": frozenset({"S3BucketName"}),
    "PutEventSelectors": frozenset({"TrailName"}),
    "PutTargets": frozenset({"Rule"}),
    "CreateComputeEnvironment": frozenset({"subnets"}),
}


@functools.cache
def _operation(service: str, operation: str) -> OperationModel:
    return botocore.session.get_session().get_service_model(service).operation_model(operation)


def _waived(error: tuple[str, str, dict[str, Any]], operation: str) -> bool:
    kind, _, detail = error
    return kind == "missing required field" and detail.get("required_name") in LOCAL_WAIVERS.get(
        operation, ()
    )


def _enum_errors(shape: Shape, value: Any, path: str) -> list[str]:
    """botocore's validator leaves enums unchecked; AWS rejects a value outside one."""
    enum = getattr(shape, "enum", None)
    if enum and isinstance(value, str) and value not in enum:
        return [
            f"Invalid value for parameter {path}, value: {value}, valid values: {', '.join(enum)}"
        ]
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return [
            e
            for k, v in value.items()
            if k in shape.members
            for e in _enum_errors(shape.members[k], v, f"{path}.{k}".lstrip("."))
        ]
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [
            e for i, v in enumerate(value) for e in _enum_errors(shape.member, v, f"{path}[{i}]")
        ]
    return []


def check(service: str, operation: str, request: dict[str, Any], where: str) -> None:
    """Raise ConfigError listing every way ``request`` breaks the operation's input shape."""
    enums = _enum_errors(_operation(service, operation).input_shape, request, "")
    if enums:
        raise ConfigError(f"{where}: " + "; ".join(enums))
    report = ParamValidator().validate(request, _operation(service, operation).input_shape)
    errors = [
        e for e in report._errors if not _waived(e, operation)
    ]  # botocore has no public accessor
    if not errors:
        return
    kept = ValidationErrors()
    for kind, name, detail in errors:
        kept.report(name, kind, **detail)
    lines = kept.generate_report().splitlines()
    raise ConfigError(f"{where}: " + "; ".join(lines))
