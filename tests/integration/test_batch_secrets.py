"""A job definition's ``secrets`` through boto3 against a running ``s3batch up``.

Secrets are created with Secrets Manager's CreateSecret; jobs print a digest of what they
got, never the value, and the value must appear nowhere the server shows or keeps a job:
DescribeJobDefinitions, DescribeJobs, the job's log, the dashboard's job page, the jobs table.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import urllib.request
import uuid
from typing import Any

import boto3
import pytest
from batch_support import PY, wait

from s3batch.cli.child import ChildServer

#: The secret's value: only a digest of it may be printed.
VALUE = f"pw-{uuid.uuid4().hex}"
DIGEST = hashlib.sha256(VALUE.encode()).hexdigest()
#: A job printing the digest of ``$DBPW`` (and the length of ``$PLAIN``, set by the environment).
PRINT_DIGEST = (
    "import hashlib, os; v = os.environ['DBPW'];"
    " print('digest', hashlib.sha256(v.encode()).hexdigest(), len(os.environ.get('PLAIN', '')))"
)


@pytest.fixture(scope="module")
def server(batch_server: ChildServer) -> ChildServer:
    """The module's Batch server (``batch`` is its client)."""
    return batch_server


@pytest.fixture(scope="module")
def secret_arn(server: ChildServer) -> str:
    sm = boto3.client("secretsmanager", **server.client_kwargs())
    sm.create_secret(Name="RDS-credentials", SecretString=json.dumps({"password": VALUE}))
    return str(sm.create_secret(Name="plain-pw", SecretString=VALUE)["ARN"])


def _run(batch: Any, secrets: list[dict[str, str]]) -> dict[str, Any]:
    """Register a definition with ``secrets`` (and PLAIN=abc in its environment), run it, wait."""
    name = f"d{uuid.uuid4().hex[:8]}"
    props = {
        "command": [PY, "-c", PRINT_DIGEST],
        "environment": [{"name": "PLAIN", "value": "abc"}, {"name": "DBPW", "value": "not-it"}],
        "secrets": secrets,
    }
    batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=props
    )
    described = batch.describe_job_definitions(jobDefinitionName=name)["jobDefinitions"][0]
    assert described["containerProperties"]["secrets"] == secrets
    job = batch.submit_job(jobName=name, jobQueue="q", jobDefinition=name)
    return wait(batch, job["jobId"], "SUCCEEDED", "FAILED")


def _log(server: ChildServer, job: dict[str, Any]) -> str:
    logs = boto3.client("logs", **server.client_kwargs())
    stream = job["attempts"][-1]["container"]["logStreamName"]
    events = logs.get_log_events(logGroupName="/aws/batch/job", logStreamName=stream)["events"]
    return "\n".join(e["message"] for e in events)


def _job_page(server: ChildServer, job_id: str) -> str:
    with urllib.request.urlopen(f"{server.endpoint}/_s3batch/ui/jobs/{job_id}") as response:
        return str(response.read().decode())


def _jobs_table(server: ChildServer) -> str:
    with sqlite3.connect(server.data_dir / "state.db") as conn:
        rows = (
            conn.execute("SELECT * FROM jobs").fetchall()
            + conn.execute("SELECT * FROM job_events").fetchall()
        )
    return repr(rows)


def _nowhere(server: ChildServer, job: dict[str, Any]) -> None:
    assert VALUE not in json.dumps(job)
    assert VALUE not in _log(server, job)
    assert VALUE not in _jobs_table(server)
    assert VALUE not in server.log()


def test_a_job_gets_the_secret_by_name_over_its_environment(
    batch: Any, server: ChildServer, secret_arn: str
) -> None:
    secrets = [{"name": "DBPW", "valueFrom": "plain-pw"}]
    job = _run(batch, secrets)
    assert job["status"] == "SUCCEEDED", job
    assert f"digest {DIGEST} 3" in _log(server, job)
    assert job["container"]["secrets"] == secrets
    page = _job_page(server, job["jobId"])
    assert "from plain-pw" in page and VALUE not in page and "not-it" not in page
    _nowhere(server, job)


@pytest.mark.parametrize("form", ["arn", "json-key"])
def test_full_arn_and_the_json_key_form(
    batch: Any, server: ChildServer, secret_arn: str, form: str
) -> None:
    keyed = f"{_arn_of(server, 'RDS-credentials')}:password::"  # ECS's JSON-key form
    value_from = secret_arn if form == "arn" else keyed
    job = _run(batch, [{"name": "DBPW", "valueFrom": value_from}])
    assert job["status"] == "SUCCEEDED", job
    assert f"digest {DIGEST} 3" in _log(server, job)
    _nowhere(server, job)


def _arn_of(server: ChildServer, name: str) -> str:
    sm = boto3.client("secretsmanager", **server.client_kwargs())
    return str(sm.describe_secret(SecretId=name)["ARN"])


@pytest.mark.parametrize(
    ("value_from", "complaint"),
    [
        (
            "no-such-secret",
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        ),
        ("KEYED:user::", "did not contain json key user"),
    ],
)
def test_a_secret_that_does_not_resolve_fails_the_job_at_start(
    batch: Any, server: ChildServer, secret_arn: str, value_from: str, complaint: str
) -> None:
    value_from = value_from.replace("KEYED", _arn_of(server, "RDS-credentials"))
    job = _run(batch, [{"name": "DBPW", "valueFrom": value_from}])
    assert job["status"] == "FAILED", job
    reason = job["statusReason"]
    assert reason.startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth: "
    )
    assert value_from in reason and complaint in reason
    assert job["attempts"][0]["statusReason"] == reason
    assert "exitCode" not in job["container"]
    assert "digest" not in _log(server, job)  # the command never ran
    _nowhere(server, job)


def test_malformed_secrets_are_refused_at_registration(batch: Any) -> None:
    for value_from, complaint in (
        ("arn:aws:ssm:us-east-1:000000000000:parameter/db", "no Parameter Store"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db:key", "optionally followed by"),
    ):
        secrets = [{"name": "DBPW", "valueFrom": value_from}]
        with pytest.raises(batch.exceptions.ClientException, match=complaint):
            batch.register_job_definition(
                jobDefinitionName="bad",
                type="container",
                containerProperties={"command": ["true"], "secrets": secrets},
            )
