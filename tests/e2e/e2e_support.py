"""What the end-to-end tests share: the pipeline stack they run, and uploading like a user."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from s3batch.cli.child import ChildServer
from s3batch.stack.model import default_text

#: A second bucket whose uploads run a job that uses the aws CLI inside the container.
TOOLS_BUCKET = "s3batch-tools"


def pipeline_stack() -> dict[str, Any]:
    """The default stack plus a job that calls `aws secretsmanager` and `aws s3 cp` itself."""
    stack = yaml.safe_load(default_text())
    stack["buckets"].append({"Bucket": TOOLS_BUCKET})
    stack["trails"][0]["EventSelectors"][0]["DataResources"][0]["Values"].append(
        f"arn:aws:s3:::{TOOLS_BUCKET}/"
    )
    stack["jobDefinitions"].append(
        {
            "jobDefinitionName": "aws-cli-inside",
            "type": "container",
            "parameters": {"bucket": "none", "key": "none"},
            "containerProperties": {
                "command": [
                    "bash",
                    "-euc",
                    "aws secretsmanager get-secret-value --secret-id RDS-credentials --query Name --output text;"
                    ' aws s3 cp "s3://$1/$2" - | head -c 200; echo; echo "done as $AWS_BATCH_JOB_ID"',
                    "job",
                    "Ref::bucket",
                    "Ref::key",
                ],
                "resourceRequirements": [
                    {"type": "VCPU", "value": "1"},
                    {"type": "MEMORY", "value": "512"},
                ],
            },
        }
    )
    stack["rules"].append(
        {
            "Name": "tools",
            "EventPattern": json.dumps(
                {
                    "source": ["aws.s3"],
                    "detail-type": ["AWS API Call via CloudTrail"],
                    "detail": {
                        "eventName": ["PutObject"],
                        "requestParameters": {"bucketName": [TOOLS_BUCKET]},
                    },
                }
            ),
            "Targets": [
                {
                    "Id": "aws-cli",
                    "Arn": "update-RDS-data-from-S3",
                    "BatchParameters": {
                        "JobDefinition": "aws-cli-inside",
                        "JobName": "aws-cli-inside",
                    },
                    "InputTransformer": {
                        "InputPathsMap": {
                            "b": "$.detail.requestParameters.bucketName",
                            "k": "$.detail.requestParameters.key",
                        },
                        "InputTemplate": '{"Parameters": {"bucket": <b>, "key": <k>}}',
                    },
                }
            ],
        }
    )
    return stack


def aws_cp(server: ChildServer, src: Path, url: str) -> None:
    """Upload with the real aws CLI, as the tutorial does."""
    exe = shutil.which("aws")
    assert exe, "the aws CLI is not installed"
    subprocess.run(
        [exe, "s3", "cp", str(src), url],
        env=server.env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
