"""A real ``s3batch up`` whose stack has a bucket, a trail, a Batch queue and job definition
running the loader, and a SQLite target (secret ``Lite-credentials``), but no rule: for the
tests of ``s3batch backfill`` and of what ``s3batch load`` prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from s3batch.cli.child import ChildServer

BUCKET = "landing"
QUEUE = "loads"
#: The table is appended to, so that every load shows in the rows.
STACK: dict[str, Any] = {
    "buckets": [{"Bucket": BUCKET}],
    "trails": [
        {
            "Name": "data-events",
            "EventSelectors": [
                {
                    "ReadWriteType": "WriteOnly",
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}
                    ],
                }
            ],
        }
    ],
    "computeEnvironments": [
        {
            "computeEnvironmentName": "local",
            "type": "MANAGED",
            "computeResources": {"type": "FARGATE", "maxvCpus": 2},
        }
    ],
    "jobQueues": [
        {
            "jobQueueName": QUEUE,
            "priority": 1,
            "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "local"}],
        }
    ],
    "jobDefinitions": [
        {
            "jobDefinitionName": "load",
            "type": "container",
            "containerProperties": {
                "command": [
                    "s3batch",
                    "load",
                    "--bucket",
                    "Ref::bucket",
                    "--key",
                    "Ref::key",
                    "--table",
                    "persons",
                    "--target",
                    "Lite-credentials",
                ],
            },
        }
    ],  # fmt: skip
    "tables": [
        {
            "tableName": "persons",
            "mode": "append",
            "columns": [
                {"name": "id", "type": "varchar(10)", "primaryKey": True},
                {"name": "email", "type": "varchar(50)"},
            ],
        }
    ],
}
RULE = {
    "Name": "load-landing",
    "EventPattern": json.dumps(
        {
            "source": ["aws.s3"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventName": ["PutObject"], "requestParameters": {"bucketName": [BUCKET]}},
        }
    ),
}
TARGET = {
    "Id": "load-persons",
    "Arn": QUEUE,
    "BatchParameters": {"JobDefinition": "load", "JobName": "load-persons"},
    "InputTransformer": {
        "InputPathsMap": {
            "bucket": "$.detail.requestParameters.bucketName",
            "key": "$.detail.requestParameters.key",
        },
        "InputTemplate": '{"Parameters": {"bucket": <bucket>, "key": <key>}}',
    },
}


@contextmanager
def lite_server(root: Path) -> Iterator[ChildServer]:
    """The server, with its data in ``root/data`` and the SQLite target at ``root/lite.db``."""
    secret = json.dumps({"engine": "sqlite", "path": str(root / "lite.db")})
    stack = {**STACK, "secrets": [{"Name": "Lite-credentials", "SecretString": secret}]}
    stack_file = root / "stack.yaml"
    stack_file.write_text(yaml.safe_dump(stack))
    srv = ChildServer(root / "data", extra_args=("--stack", str(stack_file)))
    srv.start(timeout=60)
    try:
        yield srv
    finally:
        assert srv.stop() == 0, srv.log()
