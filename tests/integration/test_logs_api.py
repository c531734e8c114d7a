"""CloudWatch Logs through boto3 and the aws CLI against a running server, and `logs --follow`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

from s3batch.cli.child import ChildServer

#: Events written by the ``stream`` fixture: (offset ms from BASE, message).
LINES = [
    (0, "INFO starting job"),
    (1000, "ERROR 401 unauthorized request"),
    (2000, "WARN disk almost full"),
    (3000, "INFO loaded 3 rows"),
    (4000, "DEBUG ERROR-ish detail"),
    (5000, "[ERROR] Exception in thread main"),
]
BASE = int(time.time() * 1000) - 60_000


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def logs(server: ChildServer):  # type: ignore[no-untyped-def]
    """A boto3 Logs client; botocore's own parameter checks off, to reach the server's."""
    config = Config(retries={"max_attempts": 1}, parameter_validation=False)
    return boto3.client("logs", **server.client_kwargs(), config=config)


@pytest.fixture
def group(logs) -> str:  # type: ignore[no-untyped-def]
    name = f"/test/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name)
    return name


@pytest.fixture
def stream(logs, group: str) -> str:  # type: ignore[no-untyped-def]
    """A stream holding LINES."""
    logs.create_log_stream(logGroupName=group, logStreamName="app/one")
    events = [{"timestamp": BASE + dt, "message": m} for dt, m in LINES]
    logs.put_log_events(logGroupName=group, logStreamName="app/one", logEvents=events)
    return "app/one"


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events]


# -- create / put ---------------------------------------------------------------------------


def test_create_and_put_errors(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=group)
    assert code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    assert code(exc) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName="/no/such/group", logStreamName="s")
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(
            logGroupName=group,
            logStreamName="missing",
            logEvents=[{"timestamp": BASE, "message": "x"}],
        )
    assert code(exc) == "ResourceNotFoundException"
    assert "log stream does not exist" in exc.value.response["Error"]["Message"]
    unsorted = [{"timestamp": BASE + 1, "message": "b"}, {"timestamp": BASE, "message": "a"}]
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=unsorted)
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName="bad:name")
    assert code(exc) == "InvalidParameterException"


# -- GetLogEvents ---------------------------------------------------------------------------


def _refused(call: Any, **kwargs: Any) -> str:
    """The code of the 4xx ``call`` gets (never a 5xx)."""
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    assert 400 <= exc.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return code(exc)


def test_put_log_events_limits_and_rejected_events(logs, group: str) -> None:  # type: ignore[no-untyped-def]
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    put = logs.put_log_events
    for events in (
        [{"timestamp": now, "message": ""}],
        [{"timestamp": now, "message": "x" * 1_100_000}],
        [
            {"timestamp": now, "message": "x" * 600_000},
            {"timestamp": now, "message": "y" * 600_000},
        ],
        [{"timestamp": now - 25 * 3600 * 1000, "message": "a"}, {"timestamp": now, "message": "b"}],
    ):
        assert _refused(put, logGroupName=group, logStreamName="s", logEvents=events) == (
            "InvalidParameterException"
        )
    day = 24 * 3600 * 1000
    answer = put(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": now - 15 * day, "message": "too old"},
        {"timestamp": now - 15 * day + 1, "message": "too old too"},
    ])  # fmt: skip
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    answer = put(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": now, "message": "kept"},
        {"timestamp": now + 3 * 3600 * 1000, "message": "too new"},
    ])  # fmt: skip
    assert answer["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    got = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    assert messages(got["events"]) == ["kept"]
    stream = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert stream["storedBytes"] == 0  # as AWS reports for streams since 2019


def test_out_of_range_tokens_and_times_are_4xx(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    big = "9" * 20
    for token in (f"f/{big}", f"b/{big}"):
        assert (
            _refused(logs.get_log_events, logGroupName=group, logStreamName=stream, nextToken=token)
            == "InvalidParameterException"
        )
    import base64

    forged = base64.urlsafe_b64encode(json.dumps([10**21, 2, 3]).encode()).decode()
    assert _refused(logs.filter_log_events, logGroupName=group, nextToken=forged) == (
        "InvalidParameterException"
    )
    assert (
        _refused(logs.get_log_events, logGroupName=group, logStreamName=stream, startTime=2**63)
        == "ValidationException"
    )
    assert _refused(logs.filter_log_events, logGroupName=group, startTime=2**64) == (
        "ValidationException"
    )


def test_filter_end_time_is_inclusive_and_its_limits(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    at = BASE + 2000  # "WARN disk almost full"
    found = logs.filter_log_events(logGroupName=group, startTime=at, endTime=at)["events"]
    assert messages(found) == ["WARN disk almost full"]
    assert (
        _refused(logs.filter_log_events, logGroupName=group, logStreamNames=["x"] * 101)
        == "InvalidParameterException"
    )
    assert _refused(logs.filter_log_events, logGroupName=group, startFromHead=False) == (
        "InvalidParameterException"
    )
    foreign = f"arn:aws:logs:us-east-1:999999999999:log-group:{group}"
    assert (
        _refused(logs.get_log_events, logGroupIdentifier=foreign, logStreamName=stream)
        == "ResourceNotFoundException"
    )


def test_get_log_events_from_the_tail_by_default(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=2)
    assert messages(page["events"]) == [LINES[4][1], LINES[5][1]]
    back = logs.get_log_events(
        logGroupName=group, logStreamName=stream, limit=2, nextToken=page["nextBackwardToken"]
    )
    assert messages(back["events"]) == [LINES[2][1], LINES[3][1]]
    first = logs.get_log_events(
        logGroupName=group, logStreamName=stream, limit=5, nextToken=back["nextBackwardToken"]
    )
    assert messages(first["events"]) == [LINES[0][1], LINES[1][1]]
    end = logs.get_log_events(
        logGroupName=group, logStreamName=stream, nextToken=first["nextBackwardToken"]
    )
    assert end["events"] == [] and end["nextBackwardToken"] == first["nextBackwardToken"]


def test_get_log_events_from_the_head_until_the_token_comes_back(
    logs, group: str, stream: str
) -> None:  # type: ignore[no-untyped-def]
    seen, token, calls = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=4, **kwargs)
        calls += 1
        seen += page["events"]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert messages(seen) == [m for _, m in LINES]
    assert calls == 3  # 4 events, 2 events, then the same token back
    assert all(set(e) == {"timestamp", "message", "ingestionTime"} for e in seen)
    assert [e["timestamp"] for e in seen] == [BASE + dt for dt, _ in LINES]


def test_get_log_events_forward_token_sees_new_events(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": BASE + 9000, "message": "late"}],
    )
    more = logs.get_log_events(
        logGroupName=group, logStreamName=stream, nextToken=page["nextForwardToken"]
    )
    assert messages(more["events"]) == ["late"]


def test_get_log_events_time_window_and_identifier(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    page = logs.get_log_events(
        logGroupIdentifier=arn,
        logStreamName=stream,
        startTime=BASE + 1000,
        endTime=BASE + 3000,
        startFromHead=True,
    )
    assert messages(page["events"]) == [LINES[1][1], LINES[2][1]]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"limit": 0}, "InvalidParameterException"),
        ({"limit": 10001}, "InvalidParameterException"),
        ({"nextToken": "not-a-token"}, "InvalidParameterException"),
        ({"logStreamName": "missing"}, "ResourceNotFoundException"),
        ({"logGroupName": "/missing"}, "ResourceNotFoundException"),
        ({"logGroupIdentifier": "x"}, "InvalidParameterException"),  # with logGroupName too
    ],
)
def test_get_log_events_errors(
    logs, group: str, stream: str, kwargs: dict[str, Any], error: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(**{"logGroupName": group, "logStreamName": stream, **kwargs})
    assert code(exc) == error
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_log_events_limit_10000_is_accepted(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10000)
    assert len(page["events"]) == len(LINES)


# -- FilterLogEvents ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", [0, 1, 2, 3, 4, 5]),
        ("ERROR", [1, 4, 5]),
        ("error", []),
        ("ERROR Exception", [5]),
        ('"ERROR 401"', [1]),
        ('"[ERROR]"', [5]),
        ("?WARN ?DEBUG", [2, 4]),
        ("-INFO", [1, 2, 4, 5]),
        ("ERROR -DEBUG -Exception", [1]),
    ],
)
def test_filter_patterns(logs, group: str, stream: str, pattern: str, expected: list[int]) -> None:  # type: ignore[no-untyped-def]
    page = logs.filter_log_events(logGroupName=group, filterPattern=pattern)
    assert messages(page["events"]) == [LINES[i][1] for i in expected]
    assert "nextToken" not in page


def test_structured_and_regex_filter_patterns(logs, group: str) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"level": "ERROR", "latency": 1500, "user": {"id": 7}}),
        json.dumps({"level": "INFO", "latency": 20, "user": None}),
        '10.0.0.1 - alice [10/Oct/2000:13:25:15 -0700] "GET /a.html HTTP/1.0" 404 2326',
        '10.0.0.2 - bob [10/Oct/2000:13:25:16 -0700] "GET /b.gif HTTP/1.0" 200 51',
    ]
    logs.create_log_stream(logGroupName=group, logStreamName="mixed")
    events = [{"timestamp": BASE + i, "message": m} for i, m in enumerate(lines)]
    logs.put_log_events(logGroupName=group, logStreamName="mixed", logEvents=events)
    cases = {
        '{ $.level = "ERROR" && $.latency > 1000 }': [0],
        "{ $.user IS NULL || $.user.id = 8 }": [1],
        "{ $.user.id NOT EXISTS }": [1],  # only JSON events can match a JSON pattern
        "[ip, user, username, timestamp, request, status = 4*, bytes > 1000]": [2],
        "[..., request = %\\.gif%, status, bytes]": [3],
        "%^10\\.0\\.0\\.[12] % -bob": [2],
    }
    for pattern, expected in cases.items():
        page = logs.filter_log_events(logGroupName=group, filterPattern=pattern)
        assert messages(page["events"]) == [lines[i] for i in expected], pattern


@pytest.mark.parametrize(
    "pattern", ['"unterminated', "{ $.level = }", "[a, b", "%(ERR)%", "{ $.a > high }"]
)
def test_filter_patterns_refused(logs, group: str, stream: str, pattern: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=group, filterPattern=pattern)
    assert code(exc) == "InvalidParameterException"


def test_filter_across_streams_by_time_with_paging(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    logs.create_log_stream(logGroupName=group, logStreamName="app/two")
    logs.create_log_stream(logGroupName=group, logStreamName="other")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="app/two",
        logEvents=[
            {"timestamp": BASE + 1500, "message": "ERROR two"},
            {"timestamp": BASE + 6000, "message": "INFO two"},
        ],
    )
    logs.put_log_events(
        logGroupName=group,
        logStreamName="other",
        logEvents=[{"timestamp": BASE + 2500, "message": "ERROR other"}],
    )
    found, token, pages = [], None, 0
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.filter_log_events(logGroupName=group, filterPattern="ERROR", limit=2, **kwargs)
        pages += 1
        found += page["events"]
        token = page.get("nextToken")
        if not token:
            break
    assert [(e["logStreamName"], e["message"]) for e in found] == [
        ("app/one", "ERROR 401 unauthorized request"),
        ("app/two", "ERROR two"),
        ("other", "ERROR other"),
        ("app/one", "DEBUG ERROR-ish detail"),
        ("app/one", "[ERROR] Exception in thread main"),
    ]
    assert pages == 3
    assert len({e["eventId"] for e in found}) == 5
    assert set(found[0]) == {"logStreamName", "timestamp", "message", "ingestionTime", "eventId"}

    prefixed = logs.filter_log_events(
        logGroupName=group, logStreamNamePrefix="app/", filterPattern="ERROR"
    )
    assert "ERROR other" not in messages(prefixed["events"]) and len(prefixed["events"]) == 4
    named = logs.filter_log_events(logGroupName=group, logStreamNames=["other", "app/two"])
    assert messages(named["events"]) == ["ERROR two", "ERROR other", "INFO two"]
    window = logs.filter_log_events(logGroupName=group, startTime=BASE + 1500, endTime=BASE + 2999)
    assert messages(window["events"]) == ["ERROR two", LINES[2][1], "ERROR other"]

    paginator = boto3_paginate(
        logs, "filter_log_events", "events", logGroupName=group, PaginationConfig={"PageSize": 3}
    )
    assert len(paginator) == 9


def boto3_paginate(client, operation: str, key: str, **kwargs: Any) -> list[Any]:  # type: ignore[no-untyped-def]
    return [
        item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]
    ]


def test_filter_errors(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(
            logGroupName=group, logStreamNames=[stream], logStreamNamePrefix="app"
        )
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName="/no/such/group")
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=group, nextToken="bogus")
    assert code(exc) == "InvalidParameterException"


# -- Describe* ------------------------------------------------------------------------------


def test_describe_log_groups_by_prefix_in_pages(logs) -> None:  # type: ignore[no-untyped-def]
    prefix = f"/paging/{uuid.uuid4().hex[:8]}/"
    for name in ("c", "a", "b"):
        logs.create_log_group(logGroupName=prefix + name)
    first = logs.describe_log_groups(logGroupNamePrefix=prefix, limit=2)
    assert [g["logGroupName"] for g in first["logGroups"]] == [prefix + "a", prefix + "b"]
    rest = logs.describe_log_groups(
        logGroupNamePrefix=prefix, limit=2, nextToken=first["nextToken"]
    )
    assert [g["logGroupName"] for g in rest["logGroups"]] == [prefix + "c"]
    assert "nextToken" not in rest
    group = rest["logGroups"][0]
    assert group["arn"].endswith(f":log-group:{prefix}c:*") and group["storedBytes"] == 0
    names = boto3_paginate(
        logs,
        "describe_log_groups",
        "logGroups",
        logGroupNamePrefix=prefix,
        PaginationConfig={"PageSize": 1},
    )
    assert [g["logGroupName"] for g in names] == [prefix + n for n in "abc"]
    with pytest.raises(ClientError) as exc:
        logs.describe_log_groups(limit=51)
    assert code(exc) == "InvalidParameterException"


def test_describe_log_streams_orders_and_pages(logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    logs.create_log_stream(logGroupName=group, logStreamName="zz-newest")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="zz-newest",
        logEvents=[{"timestamp": BASE + 7000, "message": "x"}],
    )
    logs.create_log_stream(logGroupName=group, logStreamName="app/empty")
    by_name = boto3_paginate(
        logs,
        "describe_log_streams",
        "logStreams",
        logGroupName=group,
        PaginationConfig={"PageSize": 1},
    )
    assert [s["logStreamName"] for s in by_name] == ["app/empty", "app/one", "zz-newest"]
    one = by_name[1]
    assert one["firstEventTimestamp"] == BASE and one["lastEventTimestamp"] == BASE + 5000
    assert one["storedBytes"] == 0 and one["lastIngestionTime"] > 0  # AWS: 0 for streams
    assert "firstEventTimestamp" not in by_name[0]
    latest = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True, limit=1
    )
    assert [s["logStreamName"] for s in latest["logStreams"]] == ["zz-newest"]
    following = logs.describe_log_streams(
        logGroupName=group,
        orderBy="LastEventTime",
        descending=True,
        limit=5,
        nextToken=latest["nextToken"],
    )
    assert [s["logStreamName"] for s in following["logStreams"]] == ["app/one", "app/empty"]
    prefixed = logs.describe_log_streams(
        logGroupName=group, logStreamNamePrefix="app/", descending=True
    )
    assert [s["logStreamName"] for s in prefixed["logStreams"]] == ["app/one", "app/empty"]
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(
            logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="app"
        )
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(logGroupName="/no/such/group")
    assert code(exc) == "ResourceNotFoundException"


# -- the aws CLI ----------------------------------------------------------------------------


def test_aws_cli_get_and_filter_log_events(aws, logs, group: str, stream: str) -> None:  # type: ignore[no-untyped-def]
    out = aws(
        "logs",
        "get-log-events",
        "--log-group-name",
        group,
        "--log-stream-name",
        stream,
        "--start-from-head",
        "--limit",
        "3",
    )
    page = json.loads(out.stdout)
    assert messages(page["events"]) == [m for _, m in LINES[:3]]
    assert page["nextForwardToken"].startswith("f/")
    # filter-log-events is paginated: the CLI follows nextToken itself.
    out = aws(
        "logs",
        "filter-log-events",
        "--log-group-name",
        group,
        "--filter-pattern",
        "?ERROR ?WARN",
        "--page-size",
        "1",
    )
    assert messages(json.loads(out.stdout)["events"]) == [LINES[i][1] for i in (1, 2, 4, 5)]
    missing = aws(
        "logs",
        "get-log-events",
        "--log-group-name",
        group,
        "--log-stream-name",
        "nope",
        check=False,
    )
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr


# -- a job's output while it runs -----------------------------------------------------------

JOB_BUCKET = "logs-jobs"


def job_stack(release: Path) -> dict[str, Any]:
    """A bucket whose uploads run a job that prints, waits until the test creates
    ``release/<key>`` (at most a minute), then prints again (and fails for fail*)."""
    return {
        "buckets": [{"Bucket": JOB_BUCKET}],
        "trails": [
            {
                "Name": "logs-trail",
                "EventSelectors": [
                    {
                        "ReadWriteType": "WriteOnly",
                        "IncludeManagementEvents": False,
                        "DataResources": [
                            {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{JOB_BUCKET}/"]}
                        ],
                    }
                ],
            }
        ],
        "computeEnvironments": [
            {"computeEnvironmentName": "here", "type": "UNMANAGED", "state": "ENABLED"}
        ],
        "jobQueues": [
            {
                "jobQueueName": "q",
                "state": "ENABLED",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "here"}],
            }
        ],
        "jobDefinitions": [
            {
                "jobDefinitionName": "printer",
                "type": "container",
                "parameters": {"key": "none"},
                "containerProperties": {
                    "command": [
                        "bash",
                        "-c",
                        'echo "first line $1"; echo "ERROR on stderr" >&2;'
                        ' for _ in $(seq 1200); do [ -e "$RELEASE/$1" ] && break; sleep 0.05; done;'
                        ' echo "second line"; case "$1" in fail*) exit 3;; esac',
                        "job",
                        "Ref::key",
                    ],
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "128"},
                    ],
                    "environment": [{"name": "RELEASE", "value": str(release)}],
                },
            }
        ],
        "rules": [
            {
                "Name": "run-printer",
                "EventPattern": json.dumps(
                    {
                        "source": ["aws.s3"],
                        "detail-type": ["AWS API Call via CloudTrail"],
                        "detail": {
                            "eventName": ["PutObject"],
                            "requestParameters": {"bucketName": [JOB_BUCKET]},
                        },
                    }
                ),
                "Targets": [
                    {
                        "Id": "printer",
                        "Arn": "q",
                        "BatchParameters": {"JobDefinition": "printer", "JobName": "printer"},
                        "InputTransformer": {
                            "InputPathsMap": {"key": "$.detail.requestParameters.key"},
                            "InputTemplate": '{"Parameters": {"key": <key>}}',
                        },
                    }
                ],
            }
        ],
    }


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    root = tmp_path_factory.mktemp("logs-jobs")
    stack_file = root / "stack.yaml"
    (root / "release").mkdir()
    stack_file.write_text(yaml.safe_dump(job_stack(root / "release"), sort_keys=False))
    srv = ChildServer(root / "data", extra_args=("--stack", str(stack_file)))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


def s3batch(server: ChildServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3batch", *args, "--data-dir", str(server.data_dir)],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def release(server: ChildServer, key: str) -> None:
    """Let the job of ``key`` go on past its first lines."""
    (server.data_dir.parent / "release" / key).touch()


def job_ids(server: ChildServer) -> list[str]:
    return [line.split()[0] for line in s3batch(server, "jobs", "list").stdout.splitlines()[1:]]


def upload_and_wait_for_job(server: ChildServer, key: str) -> str:
    before = set(job_ids(server))
    boto3.client("s3", **server.client_kwargs()).put_object(Bucket=JOB_BUCKET, Key=key, Body=b"x")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = set(job_ids(server)) - before
        if new:
            return new.pop()
        time.sleep(0.1)
    raise AssertionError(f"no job was submitted: {server.log()}")


def job_status(server: ChildServer, job_id: str) -> str:
    return str(json.loads(s3batch(server, "jobs", "describe", job_id).stdout)["status"])


def follow_lines(server: ChildServer, job_id: str) -> Iterator[str]:
    """``s3batch logs JOB_ID --follow``'s lines (without their timestamps) as it prints them."""
    args = ["logs", job_id, "--follow", "--data-dir", str(server.data_dir)]
    with subprocess.Popen(
        [sys.executable, "-m", "s3batch", *args],
        env=server.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as follow:
        try:
            assert follow.stdout is not None and follow.stderr is not None
            for line in follow.stdout:
                yield line.rstrip("\n").split("  ", 1)[1]
            assert follow.wait(timeout=30) == 0, follow.stderr.read()
        finally:
            follow.kill()


@pytest.mark.slow
def test_follow_prints_a_running_jobs_lines_before_it_ends(job_server: ChildServer) -> None:
    job_id = upload_and_wait_for_job(job_server, "follow.txt")
    lines = follow_lines(job_server, job_id)
    assert next(lines) == "first line follow.txt"
    assert job_status(job_server, job_id) in ("RUNNING", "STARTING")  # still waiting
    release(job_server, "follow.txt")
    assert list(lines) == ["ERROR on stderr", "second line"]  # and then it stopped by itself
    assert job_status(job_server, job_id) == "SUCCEEDED"
    # Without --follow, the finished job's lines once more.
    again = s3batch(job_server, "logs", job_id).stdout.splitlines()
    assert [line.split("  ", 1)[1] for line in again] == [
        "first line follow.txt",
        "ERROR on stderr",
        "second line",
    ]


@pytest.mark.slow
def test_follow_stops_when_the_job_fails(job_server: ChildServer) -> None:
    job_id = upload_and_wait_for_job(job_server, "fail.txt")
    lines = follow_lines(job_server, job_id)
    assert [next(lines), next(lines)] == ["first line fail.txt", "ERROR on stderr"]
    release(job_server, "fail.txt")
    assert list(lines) == ["second line"]
    assert job_status(job_server, job_id) == "FAILED"


@pytest.mark.slow
def test_a_jobs_stream_through_the_api_and_the_cli(job_server: ChildServer, tmp_path: Path) -> None:
    job_id = upload_and_wait_for_job(job_server, "api.txt")
    time.sleep(3)
    release(job_server, "api.txt")  # the last line comes 3 s after the first ones
    deadline = time.monotonic() + 30
    while job_status(job_server, job_id) != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.2)
    client = boto3.client("logs", **job_server.client_kwargs())
    latest = client.describe_log_streams(
        logGroupName="/aws/batch/job", orderBy="LastEventTime", descending=True, limit=1
    )["logStreams"][0]
    assert latest["logStreamName"].startswith("printer/default/")
    events = client.get_log_events(
        logGroupName="/aws/batch/job", logStreamName=latest["logStreamName"], startFromHead=True
    )["events"]
    assert messages(events) == ["first line api.txt", "ERROR on stderr", "second line"]
    assert events[2]["timestamp"] - events[0]["timestamp"] >= 2500  # written as produced
    errors = client.filter_log_events(
        logGroupName="/aws/batch/job",
        logStreamNames=[latest["logStreamName"]],
        filterPattern="ERROR",
    )["events"]
    assert messages(errors) == ["ERROR on stderr"]
    out = subprocess.run(
        [
            shutil.which("aws") or "aws",
            "--endpoint-url",
            job_server.endpoint,
            "logs",
            "get-log-events",
            "--log-group-name",
            "/aws/batch/job",
            "--log-stream-name",
            latest["logStreamName"],
            "--start-from-head",
        ],
        env=job_server.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    assert messages(json.loads(out.stdout)["events"]) == [
        "first line api.txt",
        "ERROR on stderr",
        "second line",
    ]
