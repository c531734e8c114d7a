"""The Batch API through boto3 and the aws CLI against a running ``s3batch up``.

The stack is small: a LOCAL (UNMANAGED) compute environment and a queue over it, plus a
DISABLED compute environment whose queue never places anything (jobs stay RUNNABLE).
The server accepts timeouts from 2 s (``S3BATCH_MIN_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_support import PY, BatchServer, wait
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer

#: The least timeout this test server accepts.
MIN_TIMEOUT = 2


@pytest.fixture(scope="module")
def batch_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    srv = BatchServer(tmp_path_factory.mktemp("batch"), min_timeout=MIN_TIMEOUT)
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


def _name() -> str:
    return f"j{uuid.uuid4().hex[:10]}"


def submit(batch: Any, code: str = "pass", queue: str = "q", **extra: Any) -> str:
    """Submit a job running ``python -c code``; return its id."""
    response = batch.submit_job(
        jobName=extra.pop("jobName", _name()),
        jobQueue=queue,
        jobDefinition="py",
        containerOverrides={"command": [PY, "-c", code]},
        **extra,
    )
    return str(response["jobId"])


def test_resources_are_described_as_created(batch: Any) -> None:
    ces = batch.describe_compute_environments(computeEnvironments=["local"])["computeEnvironments"]
    assert ces[0]["type"] == "UNMANAGED" and ces[0]["unmanagedvCpus"] == 8
    assert ces[0]["state"] == "ENABLED" and ces[0]["status"] == "VALID"
    queues = batch.describe_job_queues(jobQueues=["q"])["jobQueues"]
    assert queues[0]["computeEnvironmentOrder"] == [
        {"order": 1, "computeEnvironment": ces[0]["computeEnvironmentArn"]}
    ]
    assert batch.describe_job_queues(jobQueues=["nope"])["jobQueues"] == []


def test_duplicate_name_is_a_client_exception_with_status_400(batch: Any) -> None:
    with pytest.raises(ClientError) as caught:
        batch.create_job_queue(
            jobQueueName="q",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ClientException"
    assert "already exists" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RequestId"]


def test_definition_revisions_deregister_and_latest_active(batch: Any) -> None:
    name = _name()
    props = {"command": [PY, "-c", "pass"]}
    first = batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=props
    )
    second = batch.register_job_definition(
        jobDefinitionName=name, type="container", containerProperties=props
    )
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["jobDefinitionArn"].endswith(f":job-definition/{name}:2")
    batch.deregister_job_definition(jobDefinition=f"{name}:2")
    active = batch.describe_job_definitions(jobDefinitionName=name, status="ACTIVE")[
        "jobDefinitions"
    ]
    assert [d["revision"] for d in active] == [1]
    by_arn = batch.describe_job_definitions(jobDefinitions=[second["jobDefinitionArn"]])
    assert by_arn["jobDefinitions"][0]["status"] == "INACTIVE"
    job = batch.submit_job(jobName="x", jobQueue="q", jobDefinition=name)
    detail = wait(batch, job["jobId"], "SUCCEEDED", "FAILED")
    assert detail["jobDefinition"] == first["jobDefinitionArn"]


def test_job_runs_to_success_with_its_attempt_recorded(batch: Any) -> None:
    code = "import os; assert os.environ['AWS_BATCH_JQ_NAME'] == 'q'"
    job = wait(batch, submit(batch, code), "SUCCEEDED", "FAILED")
    assert job["status"] == "SUCCEEDED", job
    assert job["attempts"][0]["statusReason"] == "Essential container in task exited"
    assert job["container"]["exitCode"] == 0
    assert job["jobQueue"].endswith(":job-queue/q")
    assert isinstance(job["createdAt"], int) and job["stoppedAt"] >= job["startedAt"]


def test_list_jobs_defaults_to_running_and_filters_and_pages(batch: Any) -> None:
    prefix = _name()
    sleeper = submit(batch, "import time; time.sleep(30)", jobName=f"{prefix}-sleep")
    wait(batch, sleeper, "RUNNING")
    done = [submit(batch, jobName=f"{prefix}-{i}") for i in range(3)]
    for job_id in done:
        wait(batch, job_id, "SUCCEEDED")
    running = batch.list_jobs(jobQueue="q")["jobSummaryList"]
    assert sleeper in [j["jobId"] for j in running]
    assert all(j["status"] == "RUNNING" for j in running)
    named = batch.list_jobs(
        jobQueue="q", filters=[{"name": "JOB_NAME", "values": [f"{prefix.upper()}*"]}]
    )
    assert sorted(j["jobId"] for j in named["jobSummaryList"]) == sorted([sleeper, *done])
    created = batch.describe_jobs(jobs=[done[0]])["jobs"][0]["createdAt"]
    after = batch.list_jobs(
        jobQueue="q", filters=[{"name": "AFTER_CREATED_AT", "values": [str(created - 1)]}]
    )["jobSummaryList"]
    assert {done[0], done[1], done[2]} <= {j["jobId"] for j in after}
    pages = batch.get_paginator("list_jobs").paginate(
        jobQueue="q", jobStatus="SUCCEEDED", PaginationConfig={"PageSize": 1}
    )
    page_sizes = [len(p["jobSummaryList"]) for p in pages]
    assert len(page_sizes) >= 3 and set(page_sizes) == {1}
    batch.terminate_job(jobId=sleeper, reason="done with it")


def test_cancel_fails_a_queued_job_and_leaves_a_running_one(batch: Any) -> None:
    queued = submit(batch, queue="idle-q")
    wait(batch, queued, "RUNNABLE")
    batch.cancel_job(jobId=queued, reason="not needed")
    job = wait(batch, queued, "FAILED")
    assert job["statusReason"] == "not needed" and job["isCancelled"] is True
    assert job["attempts"] == []
    running = submit(batch, "import time; time.sleep(1.5)")
    wait(batch, running, "RUNNING")
    batch.cancel_job(jobId=running, reason="too late")
    assert wait(batch, running, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"


def test_terminate_stops_a_running_job(batch: Any, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    code = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    job_id = submit(batch, code, retryStrategy={"attempts": 3})
    wait(batch, job_id, "RUNNING")
    started = time.monotonic()
    while not marker.exists() or not marker.read_text():
        assert time.monotonic() - started < 10
        time.sleep(0.05)
    batch.terminate_job(jobId=job_id, reason="operator said stop")
    job = wait(batch, job_id, "FAILED", timeout=10)
    assert job["statusReason"] == "operator said stop" and job["isTerminated"] is True
    assert len(job["attempts"]) == 1, "a terminated job is not retried"
    pid = int(marker.read_text())
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_timeout_below_the_floor_is_refused_and_a_timeout_kills(batch: Any) -> None:
    with pytest.raises(ClientError, match="at least 2 seconds"):
        submit(batch, timeout={"attemptDurationSeconds": 1})
    job_id = submit(
        batch,
        "import time; time.sleep(60)",
        timeout={"attemptDurationSeconds": 2},
        retryStrategy={"attempts": 2},
    )
    job = wait(batch, job_id, "FAILED", timeout=20)
    assert job["statusReason"] == "Job attempt duration exceeded timeout"
    assert len(job["attempts"]) == 1, "a timed-out job is not retried"


def test_evaluate_on_exit_exit_rule_and_retry_when_nothing_matches(batch: Any) -> None:
    rules = {"attempts": 3, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "3"}]}
    stops = wait(batch, submit(batch, "raise SystemExit(3)", retryStrategy=rules), "FAILED")
    assert len(stops["attempts"]) == 1
    retried = wait(batch, submit(batch, "raise SystemExit(4)", retryStrategy=rules), "FAILED")
    assert len(retried["attempts"]) == 3
    assert retried["container"]["exitCode"] == 4


def test_depends_on_waits_and_fails_with_its_dependency(batch: Any) -> None:
    first = submit(batch, "import time; time.sleep(1)")
    after = submit(batch, dependsOn=[{"jobId": first}])
    assert wait(batch, after, "PENDING", "SUCCEEDED")["status"] == "PENDING"
    assert wait(batch, first, "SUCCEEDED")
    assert wait(batch, after, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    failing = submit(batch, "raise SystemExit(1)")
    doomed = submit(batch, dependsOn=[{"jobId": failing}])
    job = wait(batch, doomed, "FAILED")
    assert job["statusReason"] == "Dependent Job failed" and job["dependsOn"] == [
        {"jobId": failing}
    ]
    with pytest.raises(ClientError, match="unknown job"):
        submit(batch, dependsOn=[{"jobId": "no-such-job"}])


def test_disabled_queue_refuses_new_jobs_and_finishes_its_own(batch: Any) -> None:
    batch.create_job_queue(
        jobQueueName="closing",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
    )
    job_id = submit(batch, "import time; time.sleep(1)", queue="closing")
    wait(batch, job_id, "RUNNING")
    batch.update_job_queue(jobQueue="closing", state="DISABLED")
    with pytest.raises(ClientError, match="not in ENABLED state"):
        submit(batch, queue="closing")
    assert wait(batch, job_id, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    batch.delete_job_queue(jobQueue="closing")
    assert batch.describe_job_queues(jobQueues=["closing"])["jobQueues"] == []


def test_tags_on_queue_and_job(batch: Any) -> None:
    arn = batch.describe_job_queues(jobQueues=["q"])["jobQueues"][0]["jobQueueArn"]
    batch.tag_resource(resourceArn=arn, tags={"team": "data", "env": "dev"})
    batch.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert batch.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "data"}
    job_id = submit(batch, tags={"run": "1"})
    assert batch.describe_jobs(jobs=[job_id])["jobs"][0]["tags"] == {"run": "1"}
    with pytest.raises(ClientError, match="not found"):
        batch.list_tags_for_resource(resourceArn=arn.replace("job-queue/q", "job-queue/none"))


def test_aws_cli_submit_describe_list(batch: Any, batch_server: ChildServer) -> None:
    import shutil
    import subprocess

    exe = shutil.which("aws") or str(Path(PY).parent / "aws")

    def aws(*args: str) -> Any:
        result = subprocess.run(
            [exe, "--endpoint-url", batch_server.endpoint, "batch", *args, "--output", "json"],
            env=batch_server.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    name = _name()
    submitted = aws(
        "submit-job",
        "--job-name",
        name,
        "--job-queue",
        "q",
        "--job-definition",
        "py",
        "--container-overrides",
        json.dumps({"command": [PY, "-c", "print('hi')"]}),
    )
    wait(batch, submitted["jobId"], "SUCCEEDED")
    described = aws("describe-jobs", "--jobs", submitted["jobId"])
    assert described["jobs"][0]["status"] == "SUCCEEDED"
    listed = aws(
        "list-jobs",
        "--job-queue",
        "q",
        "--filters",
        json.dumps([{"name": "JOB_NAME", "values": [name]}]),
    )
    assert [j["jobId"] for j in listed["jobSummaryList"]] == [submitted["jobId"]]
