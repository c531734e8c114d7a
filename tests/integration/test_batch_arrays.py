"""Array jobs through boto3 against a running ``s3batch up``: fan-out, the parent's status,
N_TO_N and SEQUENTIAL dependencies, retries per child, ListJobs by array, cancel, and an
array submitted by an EventBridge rule. Also ListJobs by JOB_DEFINITION and a queue's
jobStateTimeLimitActions (the cancel after maxTimeSeconds, at least 600 s, is covered with
a fake clock in tests/unit/batch/test_batch_time_limits.py).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from batch_support import PY, wait
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer


def _name() -> str:
    return f"a{uuid.uuid4().hex[:10]}"


def submit(batch: Any, code: str, size: int | None = None, **extra: Any) -> str:
    """Submit ``python -c code`` (an array of ``size`` when given); return the job id."""
    if size is not None:
        extra["arrayProperties"] = {"size": size}
    response = batch.submit_job(
        jobName=extra.pop("jobName", _name()),
        jobQueue=extra.pop("jobQueue", "q"),
        jobDefinition="py",
        containerOverrides=extra.pop("containerOverrides", {"command": [PY, "-c", code]}),
        **extra,
    )
    return str(response["jobId"])


def describe(batch: Any, *job_ids: str) -> list[dict[str, Any]]:
    return list(batch.describe_jobs(jobs=list(job_ids))["jobs"])


def children(batch: Any, parent: str, status: str | None = None) -> list[dict[str, Any]]:
    """An array's children as ListJobs gives them."""
    extra = {"jobStatus": status} if status else {}
    return list(batch.list_jobs(arrayJobId=parent, **extra)["jobSummaryList"])


def test_children_run_with_their_index_and_the_parent_succeeds(batch: Any, tmp_path: Path) -> None:
    code = (
        "import os; e = os.environ; "
        f"open(os.path.join({str(tmp_path)!r}, e['AWS_BATCH_JOB_ARRAY_INDEX']), 'w')"
        ".write(e['AWS_BATCH_JOB_ARRAY_SIZE'] + ' ' + e['AWS_BATCH_JOB_ID'])"
    )
    parent = submit(batch, code, size=3)
    done = wait(batch, parent, "SUCCEEDED", "FAILED")
    assert done["status"] == "SUCCEEDED"
    assert done["arrayProperties"]["size"] == 3
    assert done["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 3
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert written == {str(i): f"3 {parent}:{i}" for i in range(3)}
    kids = describe(batch, *(f"{parent}:{i}" for i in range(3)))
    assert [k["arrayProperties"] for k in kids] == [{"index": i} for i in range(3)]
    assert {k["status"] for k in kids} == {"SUCCEEDED"}
    assert kids[0]["jobArn"] == f"{done['jobArn']}:0"


def test_parent_is_pending_while_children_run_then_fails_when_one_failed(batch: Any) -> None:
    code = (
        "import os, sys, time; time.sleep(1); "
        "sys.exit(1 if os.environ['AWS_BATCH_JOB_ARRAY_INDEX'] == '1' else 0)"
    )
    parent = submit(batch, code, size=3)
    running = wait(batch, parent, "PENDING")
    assert running["arrayProperties"]["size"] == 3
    assert sum(running["arrayProperties"]["statusSummary"].values()) == 3
    done = wait(batch, parent, "SUCCEEDED", "FAILED")
    assert done["status"] == "FAILED" and done["statusReason"] == "Array Child Job failed"
    kids = describe(batch, *(f"{parent}:{i}" for i in range(3)))
    assert [k["status"] for k in kids] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert done["arrayProperties"]["statusSummary"]["FAILED"] == 1
    assert done["arrayProperties"]["statusSummary"]["SUCCEEDED"] == 2


def test_status_summary_last_updated_at_is_the_last_child_move(batch: Any) -> None:
    parent = submit(batch, "pass", size=2)
    queued = describe(batch, parent)[0]["arrayProperties"]
    assert queued["statusSummaryLastUpdatedAt"] >= describe(batch, parent)[0]["createdAt"]
    done = wait(batch, parent, "SUCCEEDED", "FAILED")
    kids = describe(batch, f"{parent}:0", f"{parent}:1")
    last = max(k["stoppedAt"] for k in kids)
    assert done["arrayProperties"]["statusSummaryLastUpdatedAt"] == last
    assert last >= queued["statusSummaryLastUpdatedAt"]
    assert "statusSummaryLastUpdatedAt" not in kids[0]["arrayProperties"]


def test_array_children_cannot_be_tagged(batch: Any) -> None:
    parent = submit(batch, "pass", size=2, tags={"team": "data"})
    child_arn = describe(batch, f"{parent}:1")[0]["jobArn"]
    calls = (
        lambda: batch.tag_resource(resourceArn=child_arn, tags={"k": "v"}),
        lambda: batch.untag_resource(resourceArn=child_arn, tagKeys=["k"]),
        lambda: batch.list_tags_for_resource(resourceArn=child_arn),
    )
    for call in calls:
        with pytest.raises(ClientError) as caught:
            call()
        error = caught.value.response["Error"]
        assert error["Code"] == "ClientException"
        assert "child jobs of array" in error["Message"]
    parent_arn = describe(batch, parent)[0]["jobArn"]
    batch.tag_resource(resourceArn=parent_arn, tags={"k": "v"})
    assert batch.list_tags_for_resource(resourceArn=parent_arn)["tags"] == {
        "team": "data",
        "k": "v",
    }


def test_list_jobs_by_array_and_status(batch: Any) -> None:
    code = "import os, sys; sys.exit(int(os.environ['AWS_BATCH_JOB_ARRAY_INDEX']) % 2)"
    name = _name()
    parent = submit(batch, code, size=4, jobName=name)
    wait(batch, parent, "FAILED")
    assert [c["jobId"] for c in children(batch, parent, "SUCCEEDED")] == [
        f"{parent}:0",
        f"{parent}:2",
    ]
    failed = children(batch, parent, "FAILED")
    assert [c["arrayProperties"]["index"] for c in failed] == [1, 3]
    assert children(batch, parent, "RUNNING") == []
    listed = batch.list_jobs(jobQueue="q", filters=[{"name": "JOB_NAME", "values": [name]}])
    assert [j["jobId"] for j in listed["jobSummaryList"]] == [parent]  # no children by queue
    assert listed["jobSummaryList"][0]["arrayProperties"] == {"size": 4}


def test_retries_are_per_child(batch: Any) -> None:
    code = (
        "import os, sys; e = os.environ; "
        "sys.exit(1 if e['AWS_BATCH_JOB_ARRAY_INDEX'] == '1' and e['AWS_BATCH_JOB_ATTEMPT'] == '1' else 0)"
    )
    parent = submit(batch, code, size=3, retryStrategy={"attempts": 2})
    assert wait(batch, parent, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    kids = describe(batch, *(f"{parent}:{i}" for i in range(3)))
    assert [len(k["attempts"]) for k in kids] == [1, 2, 1]
    assert kids[1]["attempts"][0]["container"]["exitCode"] == 1


def test_sequential_children_run_one_after_another(batch: Any) -> None:
    parent = submit(
        batch, "import time; time.sleep(0.2)", size=3, dependsOn=[{"type": "SEQUENTIAL"}]
    )
    assert wait(batch, parent, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    kids = describe(batch, *(f"{parent}:{i}" for i in range(3)))
    for before, after in zip(kids, kids[1:], strict=False):
        assert after["startedAt"] >= before["stoppedAt"]
    assert kids[1]["dependsOn"] == [{"jobId": f"{parent}:0"}]


def test_n_to_n_child_waits_for_the_same_index(batch: Any) -> None:
    slow_last = (
        "import os, time; i = int(os.environ['AWS_BATCH_JOB_ARRAY_INDEX']); "
        "time.sleep(2.0 if i == 2 else 0.1)"
    )
    first = submit(batch, slow_last, size=3)
    second = submit(batch, "pass", size=3, dependsOn=[{"jobId": first, "type": "N_TO_N"}])
    assert wait(batch, second, "SUCCEEDED", "FAILED")["status"] == "SUCCEEDED"
    a = describe(batch, *(f"{first}:{i}" for i in range(3)))
    b = describe(batch, *(f"{second}:{i}" for i in range(3)))
    for ai, bi in zip(a, b, strict=True):
        assert bi["startedAt"] >= ai["stoppedAt"]
    assert b[0]["stoppedAt"] <= a[2]["stoppedAt"]  # B:0 did not wait for the whole of A


def test_n_to_n_needs_an_array_of_the_same_size(batch: Any) -> None:
    first = submit(batch, "pass", size=2)
    with pytest.raises(ClientError, match="must be an array job of size 3"):
        submit(batch, "pass", size=3, dependsOn=[{"jobId": first, "type": "N_TO_N"}])
    with pytest.raises(ClientError, match="between 2 and 10000"):
        submit(batch, "pass", size=1)


def test_a_job_depending_on_an_array_waits_for_all_of_it(batch: Any) -> None:
    parent = submit(batch, "import time; time.sleep(0.3)", size=2)
    after = submit(batch, "pass", dependsOn=[{"jobId": parent}])
    done = wait(batch, after, "SUCCEEDED", "FAILED")
    kids = describe(batch, f"{parent}:0", f"{parent}:1")
    assert done["startedAt"] >= max(k["stoppedAt"] for k in kids)
    failing = submit(batch, "import sys; sys.exit(3)", size=2)
    dependent = submit(batch, "pass", dependsOn=[{"jobId": failing}])
    assert wait(batch, dependent, "FAILED")["statusReason"] == "Dependent Job failed"


def test_cancel_the_parent_cancels_its_children(batch: Any) -> None:
    parent = submit(batch, "pass", size=3, jobQueue="idle-q")
    deadline = time.monotonic() + 10
    while len(children(batch, parent, "RUNNABLE")) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    batch.cancel_job(jobId=parent, reason="no longer needed")
    done = wait(batch, parent, "FAILED")
    assert done["arrayProperties"]["statusSummary"]["FAILED"] == 3
    kids = describe(batch, *(f"{parent}:{i}" for i in range(3)))
    assert {k["statusReason"] for k in kids} == {"no longer needed"}


def test_cancel_one_child_fails_the_parent(batch: Any) -> None:
    parent = submit(batch, "pass", size=2, jobQueue="idle-q")
    batch.cancel_job(jobId=f"{parent}:1", reason="drop one")
    [one] = describe(batch, f"{parent}:1")
    assert one["status"] == "FAILED"
    batch.cancel_job(jobId=f"{parent}:0", reason="drop the other")
    assert wait(batch, parent, "FAILED")["statusReason"] == "Array Child Job failed"


def test_an_event_rule_submits_an_array(batch_server: ChildServer, batch: Any) -> None:
    events = boto3.client("events", **batch_server.client_kwargs())
    rule = _name()
    events.put_rule(Name=rule, EventPattern=json.dumps({"detail-type": [rule]}))
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "job",
                "Arn": "arn:aws:batch:us-east-1:123456789012:job-queue/q",
                "RoleArn": "arn:aws:iam::123456789012:role/events",
                "BatchParameters": {
                    "JobDefinition": "py",
                    "JobName": rule,
                    "ArrayProperties": {"Size": 2},
                },
            }
        ],
    )
    events.put_events(Entries=[{"Source": "my.app", "DetailType": rule, "Detail": "{}"}])
    deadline = time.monotonic() + 20
    while True:
        listed = batch.list_jobs(jobQueue="q", filters=[{"name": "JOB_NAME", "values": [rule]}])
        if listed["jobSummaryList"]:
            break
        assert time.monotonic() < deadline, "the rule submitted no job"
        time.sleep(0.1)
    parent = listed["jobSummaryList"][0]["jobId"]
    done = wait(batch, parent, "SUCCEEDED", "FAILED")
    assert done["status"] == "SUCCEEDED" and done["arrayProperties"]["size"] == 2
    assert len(children(batch, parent, "SUCCEEDED")) == 2


def test_list_jobs_by_job_definition(batch: Any) -> None:
    batch.register_job_definition(
        jobDefinitionName="other-def", type="container", containerProperties={"command": ["true"]}
    )
    name = _name()
    first = batch.submit_job(jobName=name, jobQueue="q", jobDefinition="other-def")["jobId"]
    submit(batch, "pass", jobName=name)

    def listed(value: str) -> list[str]:
        found = batch.list_jobs(
            jobQueue="q", filters=[{"name": "JOB_DEFINITION", "values": [value]}]
        )
        return [j["jobId"] for j in found["jobSummaryList"]]

    assert first in listed("other-def") and first in listed("other-*")
    assert first not in listed("py")
    [detail] = describe(batch, first)
    assert first in listed(detail["jobDefinition"])
    assert first not in listed("other")


def test_job_state_time_limit_actions_hold_a_job_too_big(batch: Any) -> None:
    action = {
        "reason": "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "state": "RUNNABLE",
        "maxTimeSeconds": 600,
        "action": "CANCEL",
    }
    with pytest.raises(ClientError, match="between 600 and 86400"):
        batch.create_job_queue(
            jobQueueName="limited",
            priority=1,
            computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
            jobStateTimeLimitActions=[{**action, "maxTimeSeconds": 60}],
        )
    batch.create_job_queue(
        jobQueueName="limited",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "local"}],
    )
    batch.update_job_queue(jobQueue="limited", jobStateTimeLimitActions=[action])
    [queue] = batch.describe_job_queues(jobQueues=["limited"])["jobQueues"]
    assert queue["jobStateTimeLimitActions"] == [action]
    big = submit(
        batch,
        "pass",
        jobQueue="limited",
        containerOverrides={
            "command": [PY, "-c", "pass"],
            "resourceRequirements": [{"type": "VCPU", "value": "16"}],
        },
    )
    deadline = time.monotonic() + 10
    while not (held := describe(batch, big)[0]).get("statusReason"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert held["status"] == "RUNNABLE"
    assert held["statusReason"].startswith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE")
    batch.cancel_job(jobId=big, reason="unblock")
    assert wait(batch, big, "FAILED")["statusReason"] == "unblock"


def test_terminate_the_parent_stops_running_children(batch: Any) -> None:
    parent = submit(batch, "import time; time.sleep(30)", size=2)
    deadline = time.monotonic() + 15
    while len(children(batch, parent, "RUNNING")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    batch.terminate_job(jobId=parent, reason="stop them")
    done = wait(batch, parent, "FAILED", timeout=20)
    assert done["statusReason"] == "Array Child Job failed"
    kids = describe(batch, f"{parent}:0", f"{parent}:1")
    assert {(k["status"], k["statusReason"]) for k in kids} == {("FAILED", "stop them")}
