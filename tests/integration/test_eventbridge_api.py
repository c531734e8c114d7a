"""EventBridge and CloudTrail LookupEvents through boto3 and the aws CLI against a running server."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from raw_json import refused_body

from http_endpoint import Endpoint, serve
from s3batch.cli.child import ChildServer

BUCKET = "events-api"
STACK = {
    "buckets": [{"Bucket": BUCKET}],
    "trails": [
        {
            "Name": "all-objects",
            "EventSelectors": [
                {
                    "ReadWriteType": "WriteOnly",
                    "IncludeManagementEvents": False,
                    "DataResources": [
                        {"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}
                    ],
                }
            ],
        }
    ],
}
STACK.update(
    {
        "computeEnvironments": [
            {
                "computeEnvironmentName": "local",
                "type": "MANAGED",
                "state": "ENABLED",
                "computeResources": {"type": "FARGATE", "maxvCpus": 2},
            }
        ],
        "jobQueues": [
            {
                "jobQueueName": "events-q",
                "state": "ENABLED",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "local"}],
            }
        ],
        "jobDefinitions": [
            {
                "jobDefinitionName": "greet",
                "type": "container",
                "parameters": {"greeting": "none"},
                "containerProperties": {
                    "image": "s3batch:latest",
                    "command": ["echo", "Ref::greeting"],
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "512"},
                    ],
                },
            }
        ],
    }
)
ENVELOPE = {
    "id": "e1",
    "account": "123456789012",
    "source": "my.app",
    "time": "2026-01-01T00:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail-type": "Order Placed",
    "detail": {"amount": 42, "state": "new"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    root = tmp_path_factory.mktemp("events")
    stack = root / "stack.yaml"
    stack.write_text(yaml.safe_dump(STACK))
    srv = ChildServer(root / "data", extra_args=("--stack", str(stack)))
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log()


@pytest.fixture(scope="module")
def client(server: ChildServer) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(
            service, **server.client_kwargs(), config=Config(retries={"max_attempts": 1})
        )

    return make


@pytest.fixture(scope="module")
def events(client: Callable[[str], Any]) -> Any:
    return client("events")


def name(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- rules and targets -----------------------------------------------------------------------------


def test_rule_lifecycle(events: Any) -> None:
    rule = name()
    pattern = json.dumps({"source": ["my.app"]})
    arn = events.put_rule(Name=rule, EventPattern=pattern, Description="d")["RuleArn"]
    assert arn.endswith(f":rule/{rule}")
    described = events.describe_rule(Name=rule)
    assert (described["Name"], described["State"], described["EventPattern"]) == (
        rule,
        "ENABLED",
        pattern,
    )
    assert described["Description"] == "d" and described["EventBusName"] == "default"
    events.disable_rule(Name=rule)
    assert events.describe_rule(Name=rule)["State"] == "DISABLED"
    events.enable_rule(Name=rule)
    assert events.describe_rule(Name=rule)["State"] == "ENABLED"
    assert [r["Name"] for r in events.list_rules(NamePrefix=rule)["Rules"]] == [rule]

    result = events.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "logs", "Arn": "arn:aws:logs:us-east-1:123456789012:log-group:/s3batch/x"},
            {"Id": "sns", "Arn": "arn:aws:sns:us-east-1:123456789012:topic"},
        ],
    )
    assert result["FailedEntryCount"] == 1
    assert result["FailedEntries"][0]["TargetId"] == "sns"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]] == ["logs"]
    with pytest.raises(ClientError) as refused:
        events.delete_rule(Name=rule)
    assert error_code(refused) == "ValidationException"
    events.remove_targets(Rule=rule, Ids=["logs"])
    assert events.list_targets_by_rule(Rule=rule)["Targets"] == []
    events.delete_rule(Name=rule)
    with pytest.raises(ClientError) as gone:
        events.describe_rule(Name=rule)
    assert error_code(gone) == "ResourceNotFoundException"


def test_list_rules_pages(events: Any) -> None:
    prefix = name("page")
    for i in range(3):
        events.put_rule(Name=f"{prefix}-{i}", EventPattern='{"source":["x"]}')
    first = events.list_rules(NamePrefix=prefix, Limit=2)
    second = events.list_rules(NamePrefix=prefix, Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in first["Rules"] + second["Rules"]] == [
        f"{prefix}-{i}" for i in range(3)
    ]
    assert "NextToken" not in second


def test_invalid_patterns_and_targets_are_refused(events: Any) -> None:
    with pytest.raises(ClientError) as bad:
        events.put_rule(Name=name(), EventPattern="{}")
    assert error_code(bad) == "InvalidEventPatternException"
    rule = name()
    events.put_rule(Name=rule, EventPattern='{"source":["x"]}')
    with pytest.raises(ClientError) as template:
        events.put_targets(
            Rule=rule,
            Targets=[
                {
                    "Id": "t",
                    "Arn": "q",
                    "InputTransformer": {"InputPathsMap": {}, "InputTemplate": '{"a": <nope>}'},
                }
            ],
        )
    assert error_code(template) == "ValidationException"
    with pytest.raises(ClientError) as missing:
        events.put_targets(Rule=name(), Targets=[{"Id": "t", "Arn": "q"}])
    assert error_code(missing) == "ResourceNotFoundException"


# -- TestEventPattern ------------------------------------------------------------------------------


def test_test_event_pattern(events: Any) -> None:
    event = json.dumps(ENVELOPE)
    assert events.test_event_pattern(
        EventPattern='{"detail":{"amount":[{"numeric":[">",40]}]}}', Event=event
    )["Result"]
    assert not events.test_event_pattern(EventPattern='{"source":["other"]}', Event=event)["Result"]
    with pytest.raises(ClientError) as invalid:
        events.test_event_pattern(EventPattern='{"source":"x"}', Event=event)
    assert error_code(invalid) == "InvalidEventPatternException"
    with pytest.raises(ClientError) as bad_event:
        events.test_event_pattern(EventPattern='{"source":["x"]}', Event='{"source":"x"}')
    assert error_code(bad_event) == "ValidationException"
    assert bad_event.value.response["Error"]["Message"] == "Parameter Event is not valid."


def test_aws_cli_test_event_pattern_and_put_events(server: ChildServer) -> None:
    aws = shutil.which("aws")
    assert aws
    run = lambda *args: subprocess.run(  # noqa: E731
        [aws, *args], env=server.env(), capture_output=True, text=True, timeout=60, check=True
    )
    out = run(
        "events",
        "test-event-pattern",
        "--event-pattern",
        '{"source":["my.app"]}',
        "--event",
        json.dumps(ENVELOPE),
    )
    assert json.loads(out.stdout)["Result"] is True
    entries = json.dumps([{"Source": "my.app", "DetailType": "cli", "Detail": '{"a":1}'}])
    out = run("events", "put-events", "--entries", entries)
    result = json.loads(out.stdout)
    assert result["FailedEntryCount"] == 0 and len(result["Entries"][0]["EventId"]) == 36


# -- PutEvents -------------------------------------------------------------------------------------


def test_put_events_reports_each_bad_entry(events: Any) -> None:
    result = events.put_events(
        Entries=[
            {"Source": "my.app", "DetailType": "ok", "Detail": "{}"},
            {"DetailType": "no source", "Detail": "{}"},
            {"Source": "my.app", "DetailType": "list", "Detail": "[1]"},
            {
                "Source": "my.app",
                "DetailType": "nowhere",
                "Detail": "{}",
                "EventBusName": "no-such-bus",
            },
        ]
    )
    assert result["FailedEntryCount"] == 3
    ok, source, detail, bus = result["Entries"]
    assert "EventId" in ok
    assert source["ErrorCode"] == "InvalidArgument" and "Source" in source["ErrorMessage"]
    assert detail["ErrorCode"] == "MalformedDetail"
    assert bus["ErrorCode"] == "ResourceNotFoundException"


def test_put_events_may_not_pose_as_an_aws_service(events: Any) -> None:
    """EventBridge keeps ``aws.*`` sources to AWS: a faked S3 event that works here would fail there."""
    result = events.put_events(Entries=[
        {"Source": "aws.s3", "DetailType": "Object Created", "Detail": '{"bucket": {"name": "b"}}'},
        {"Source": "awsome.app", "DetailType": "ok", "Detail": "{}"},
    ])  # fmt: skip
    assert result["FailedEntryCount"] == 1
    faked, ok = result["Entries"]
    assert (faked["ErrorCode"], faked["ErrorMessage"]) == (
        "NotAuthorizedForSourceException",
        "Not authorized for the source.",
    )
    assert "EventId" in ok


def test_put_events_refuses_a_request_too_long_or_too_large_as_a_whole(events: Any) -> None:
    entry = {"Source": "my.app", "DetailType": "x", "Detail": "{}"}
    with pytest.raises(ClientError) as many:
        events.put_events(Entries=[entry] * 11)
    assert error_code(many) == "ValidationException"
    big = {**entry, "Detail": json.dumps({"pad": "x" * 100_000})}
    with pytest.raises(ClientError) as large:
        events.put_events(Entries=[big, big, big])
    assert error_code(large) == "ValidationException"
    assert "Total size of the entries" in large.value.response["Error"]["Message"]
    assert events.put_events(Entries=[big, big])["FailedEntryCount"] == 0


def test_put_events_reach_a_log_group_target(events: Any, client: Callable[[str], Any]) -> None:
    rule, group = name(), f"/s3batch/{name('g')}"
    events.put_rule(
        Name=rule, EventPattern=json.dumps({"source": ["my.app"], "detail-type": [rule]})
    )
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "log",
                "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}",
                "InputTransformer": {
                    "InputPathsMap": {"amount": "$.detail.amount"},
                    "InputTemplate": '{"amount": <amount>}',
                },
            }
        ],
    )
    [entry] = events.put_events(
        Entries=[{"Source": "my.app", "DetailType": rule, "Detail": '{"amount": 7}'}]
    )["Entries"]
    logs = client("logs")

    def read() -> list[str]:
        try:
            found = logs.get_log_events(
                logGroupName=group, logStreamName=entry["EventId"], startFromHead=True
            )
        except ClientError:
            return []
        return [e["message"] for e in found["events"]]

    assert eventually(read) == ['{"amount":7}']


def test_custom_buses(events: Any) -> None:
    bus = name("bus")
    arn = events.create_event_bus(Name=bus)["EventBusArn"]
    assert arn.endswith(f":event-bus/{bus}")
    with pytest.raises(ClientError) as twice:
        events.create_event_bus(Name=bus)
    assert error_code(twice) == "ResourceAlreadyExistsException"
    assert events.describe_event_bus(Name=bus)["Arn"] == arn
    assert events.describe_event_bus()["Name"] == "default"
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names and bus in names
    rule_arn = events.put_rule(Name="r", EventBusName=bus, EventPattern='{"source":["x"]}')[
        "RuleArn"
    ]
    assert rule_arn.endswith(f":rule/{bus}/r")
    assert [r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"]] == ["r"]
    assert (
        "EventId"
        in events.put_events(
            Entries=[{"Source": "x", "DetailType": "d", "Detail": "{}", "EventBusName": bus}]
        )["Entries"][0]
    )
    with pytest.raises(ClientError) as default:
        events.delete_event_bus(Name="default")
    assert error_code(default) == "ValidationException"
    events.delete_event_bus(Name=bus)
    with pytest.raises(ClientError) as gone:
        events.describe_event_bus(Name=bus)
    assert error_code(gone) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as no_bus:
        events.put_rule(Name="r", EventBusName=bus, EventPattern='{"source":["x"]}')
    assert error_code(no_bus) == "ResourceNotFoundException"


# -- CloudTrail LookupEvents -----------------------------------------------------------------------


def test_lookup_events_shows_an_upload(
    server: ChildServer, client: Callable[[str], Any], tmp_path: Path
) -> None:
    key = f"{name('k')}.csv"
    (tmp_path / "f.csv").write_text("a,b\n1,2\n")
    aws = shutil.which("aws")
    assert aws
    subprocess.run(
        [aws, "s3", "cp", str(tmp_path / "f.csv"), f"s3://{BUCKET}/{key}"],
        env=server.env(),
        check=True,
        capture_output=True,
        timeout=60,
    )
    trail = client("cloudtrail")
    arn = f"arn:aws:s3:::{BUCKET}/{key}"
    lookup = {"LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": arn}]}
    found = eventually(lambda: trail.lookup_events(**lookup)["Events"])
    [event] = found
    assert event["EventName"] == "PutObject" and event["EventSource"] == "s3.amazonaws.com"
    assert {"ResourceType": "AWS::S3::Object", "ResourceName": arn} in event["Resources"]
    record = json.loads(event["CloudTrailEvent"])
    assert record["requestParameters"]["key"] == key and record["eventID"] == event["EventId"]
    by_id = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": event["EventId"]}]
    )
    assert [e["EventId"] for e in by_id["Events"]] == [event["EventId"]]
    by_name = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "PutObject"}],
        MaxResults=1,
    )
    assert len(by_name["Events"]) == 1
    future = trail.lookup_events(StartTime=time.time() + 3600)
    assert future["Events"] == []
    with pytest.raises(ClientError) as too_many:
        trail.lookup_events(MaxResults=51)
    assert error_code(too_many) == "InvalidMaxResultsException"
    cli = subprocess.run(
        [
            aws,
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            f"AttributeKey=ResourceName,AttributeValue={arn}",
        ],
        env=server.env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(cli.stdout)["Events"][0]["EventId"] == event["EventId"]
    listed = s3batch(server, "lookup", "--attribute", "ResourceName", "--value", arn, group="trail")
    assert event["EventId"] in listed and "PutObject" in listed


# -- dead letters ----------------------------------------------------------------------------------


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    yield from serve(400)


def s3batch(server: ChildServer, *args: str, group: str = "events") -> str:
    out = subprocess.run(
        [sys.executable, "-m", "s3batch", group, *args, "--data-dir", str(server.data_dir)],
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_an_undeliverable_event_is_dead_lettered_and_replayed(
    server: ChildServer, events: Any, endpoint: Endpoint
) -> None:
    rule = name()
    events.put_rule(Name=rule, EventPattern=json.dumps({"detail-type": [rule]}))
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    events.put_targets(
        Rule=rule, Targets=[{"Id": "hook", "Arn": endpoint.url, "DeadLetterConfig": {"Arn": dlq}}]
    )
    [entry] = events.put_events(
        Entries=[{"Source": "my.app", "DetailType": rule, "Detail": '{"n": 1}'}]
    )["Entries"]

    def letters() -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in s3batch(server, "dead-letters", "--json").splitlines()]
        return [r for r in rows if r["rule"] == rule]

    [letter] = eventually(letters)
    assert letter["error_code"] == "HTTP_CLIENT_ERROR" and letter["exhausted"] is None
    assert letter["event"]["id"] == entry["EventId"] and letter["dlq_arn"] == dlq
    assert len(endpoint.bodies) == 1
    endpoint.status = 200
    assert "replaying" in s3batch(server, "replay", letter["id"])
    assert eventually(lambda: len(endpoint.bodies) == 2)
    assert endpoint.bodies[1]["detail"] == {"n": 1}
    assert letters() == []


def test_retries_are_exhausted_into_the_dead_letter_queue(
    server: ChildServer, events: Any, endpoint: Endpoint
) -> None:
    endpoint.status = 503
    rule = name()
    events.put_rule(Name=rule, EventPattern=json.dumps({"detail-type": [rule]}))
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "hook",
                "Arn": endpoint.url,
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"},
                "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60},
            }
        ],
    )
    events.put_events(Entries=[{"Source": "my.app", "DetailType": rule, "Detail": "{}"}])

    def letters() -> list[dict[str, Any]]:
        rows = [json.loads(line) for line in s3batch(server, "dead-letters", "--json").splitlines()]
        return [r for r in rows if r["rule"] == rule]

    [letter] = eventually(letters, timeout=20)
    assert (letter["exhausted"], letter["attempts"], letter["error_code"]) == (
        "MaximumRetryAttempts",
        1,
        "HTTP_SERVER_ERROR",
    )
    assert len(endpoint.bodies) == 2
    endpoint.status = 200
    assert letter["id"] in s3batch(server, "dead-letters", "--replay")
    assert eventually(lambda: len(endpoint.bodies) == 3)
    assert letters() == []


def test_s3batch_events_put_is_delivered_by_the_server(
    server: ChildServer, events: Any, client: Callable[[str], Any]
) -> None:
    rule, group = name(), f"/s3batch/{name('g')}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"detail-type": [rule]}))
    events.put_targets(
        Rule=rule,
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"}],
    )
    event_id = s3batch(
        server, "put", "--source", "cli.app", "--detail-type", rule, "--detail", '{"x": 1}'
    ).strip()
    logs = client("logs")

    def read() -> list[str]:
        try:
            found = logs.get_log_events(
                logGroupName=group, logStreamName=event_id, startFromHead=True
            )
        except ClientError:
            return []
        return [e["message"] for e in found["events"]]

    [message] = eventually(read)
    assert json.loads(message)["detail"] == {"x": 1} and json.loads(message)["id"] == event_id


def test_put_events_submit_a_batch_job_with_parameters_from_the_event(
    events: Any, client: Callable[[str], Any]
) -> None:
    rule = name()
    events.put_rule(
        Name=rule, EventPattern=json.dumps({"source": ["my.app"], "detail-type": [rule]})
    )
    events.put_targets(
        Rule=rule,
        Targets=[
            {
                "Id": "job",
                "Arn": "arn:aws:batch:us-east-1:123456789012:job-queue/events-q",
                "RoleArn": "arn:aws:iam::123456789012:role/events",
                "BatchParameters": {"JobDefinition": "greet", "JobName": rule},
                "InputTransformer": {
                    "InputPathsMap": {"who": "$.detail.who"},
                    "InputTemplate": '{"Parameters": {"greeting": <who>}}',
                },
            }
        ],
    )
    events.put_events(
        Entries=[{"Source": "my.app", "DetailType": rule, "Detail": '{"who": "hello-batch"}'}]
    )
    batch = client("batch")

    def job() -> dict[str, Any] | None:
        listed = batch.list_jobs(
            jobQueue="events-q", filters=[{"name": "JOB_NAME", "values": [rule]}]
        )["jobSummaryList"]
        if not listed:
            return None
        [found] = batch.describe_jobs(jobs=[listed[0]["jobId"]])["jobs"]
        return found if found["status"] == "SUCCEEDED" else None

    found = eventually(job, timeout=30)
    assert found, "no job succeeded"
    assert found["parameters"]["greeting"] == "hello-batch"
    assert found["container"]["command"] == ["echo", "hello-batch"]


# -- scheduled rules, rule names by target, tags ---------------------------------------------------


def test_scheduled_rules_are_validated_and_described(events: Any) -> None:
    rule = name("sched")
    arn = events.put_rule(Name=rule, ScheduleExpression="cron(0 12 ? * MON-FRI *)")["RuleArn"]
    described = events.describe_rule(Name=rule)
    assert described["ScheduleExpression"] == "cron(0 12 ? * MON-FRI *)" and described["Arn"] == arn
    assert "EventPattern" not in described
    listed = events.list_rules(NamePrefix=rule)["Rules"]
    assert [r.get("ScheduleExpression") for r in listed] == ["cron(0 12 ? * MON-FRI *)"]
    for bad in ("rate(1 minutes)", "cron(0 12 * * *)", "cron(0 12 * * * *)", "every day"):
        with pytest.raises(ClientError) as refused:
            events.put_rule(Name=rule, ScheduleExpression=bad)
        assert error_code(refused) == "ValidationException", bad
    bus = name("bus")
    events.create_event_bus(Name=bus)
    with pytest.raises(ClientError) as custom:
        events.put_rule(Name=rule, EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert "default event bus" in custom.value.response["Error"]["Message"]


@pytest.mark.slow
def test_a_scheduled_rule_sends_scheduled_events_to_its_target(
    events: Any, client: Callable[[str], Any], server: ChildServer
) -> None:
    rule, group = name("minutely"), f"/s3batch/{name('g')}"
    arn = events.put_rule(Name=rule, ScheduleExpression="cron(* * * * ? *)")["RuleArn"]
    events.put_targets(
        Rule=rule,
        Targets=[{"Id": "log", "Arn": f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"}],
    )
    # the dashboard's rules list shows the schedule where a pattern would be
    with urllib.request.urlopen(f"{server.endpoint}/_s3batch/ui/events") as page:
        html = page.read().decode()
    assert re.search(
        rf"{rule}.*?<h4>Schedule</h4><pre[^>]*>cron\(\* \* \* \* \? \*\)</pre>", html, re.S
    )
    logs = client("logs")

    def delivered() -> list[dict[str, Any]]:
        try:
            streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
        except ClientError:
            return []
        return [
            json.loads(e["message"])
            for s in streams
            for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])[
                "events"
            ]
        ]

    # the schedule fires at the start of the next minute
    [event, *_] = eventually(delivered, timeout=90)
    assert (event["source"], event["detail-type"], event["resources"], event["detail"]) == (
        "aws.events",
        "Scheduled Event",
        [arn],
        {},
    )
    assert event["time"].endswith(":00Z")
    events.disable_rule(Name=rule)


def test_list_rule_names_by_target(events: Any) -> None:
    queue = f"arn:aws:logs:us-east-1:123456789012:log-group:/s3batch/{name('q')}"
    first, second, other = name("a"), name("b"), name("c")
    for rule, arn in ((first, queue), (second, queue), (other, queue + "-other")):
        events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["my.app"]}))
        events.put_targets(Rule=rule, Targets=[{"Id": "t", "Arn": arn}])
    assert events.list_rule_names_by_target(TargetArn=queue)["RuleNames"] == sorted([first, second])
    page = events.list_rule_names_by_target(TargetArn=queue, Limit=1)
    rest = events.list_rule_names_by_target(TargetArn=queue, NextToken=page["NextToken"])
    assert page["RuleNames"] + rest["RuleNames"] == sorted([first, second])
    assert "NextToken" not in rest


def test_tags_of_rules_and_buses(events: Any) -> None:
    rule, bus = name("tagged"), name("bus")
    rule_arn = events.put_rule(
        Name=rule,
        EventPattern=json.dumps({"source": ["my.app"]}),
        Tags=[{"Key": "team", "Value": "data"}],
    )["RuleArn"]
    bus_arn = events.create_event_bus(Name=bus, Tags=[{"Key": "env", "Value": "dev"}])[
        "EventBusArn"
    ]
    events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "cost", "Value": "42"}])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "cost", "Value": "42"},
        {"Key": "team", "Value": "data"},
    ]
    events.untag_resource(ResourceARN=rule_arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [
        {"Key": "cost", "Value": "42"}
    ]
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]
    missing = rule_arn.replace(rule, name("missing"))
    with pytest.raises(ClientError) as unknown:
        events.tag_resource(ResourceARN=missing, Tags=[{"Key": "k", "Value": "v"}])
    assert error_code(unknown) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as reserved:
        events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "aws:k", "Value": "v"}])
    assert error_code(reserved) == "ValidationException"


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("put_rule", {"Name": "ty1", "ScheduleExpression": 5}),
        ("put_rule", {"Name": "ty2", "EventPattern": '{"source":["x"]}', "Description": ["a"]}),
        ("put_rule", {"Name": "ty3", "EventPattern": '{"source":["x"]}', "Description": "d" * 513}),
        ("put_rule", {"Name": "ty4\ud800", "EventPattern": '{"source":["x"]}'}),
        ("put_events", {"Entries": [{"Source": "a\ud800", "DetailType": "b", "Detail": "{}"}]}),
    ],
)
def test_mistyped_or_malformed_members_are_4xx_not_500(
    events: Any, operation: str, body: dict[str, Any]
) -> None:
    entry = {"Source": "a", "DetailType": "b", "Detail": "{}"}
    placeholder = {"Name": "x"} if operation == "put_rule" else {"Entries": [entry]}
    error = refused_body(events, operation, body, **placeholder)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400, error


def test_bad_targets_are_refused(events: Any) -> None:
    rule = name()
    events.put_rule(Name=rule, EventPattern='{"source":["x"]}')
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:/f"
    for target in ({"Id": "bad id!", "Arn": arn}, {"Id": "i" * 65, "Arn": arn}):
        with pytest.raises(ClientError) as exc:
            events.put_targets(Rule=rule, Targets=[target])
        assert exc.value.response["Error"]["Code"] == "ValidationException"
    error = refused_body(
        events, "put_targets", {"Rule": rule, "Targets": [{"Id": "a", "Arn": arn, "RetryPolicy": "x"}]},
        Rule=rule, Targets=[{"Id": "a", "Arn": arn}],
    )  # fmt: skip
    assert error["Error"]["Code"] == "ValidationException"


def test_put_events_fails_only_the_entry_with_a_bad_bus_or_time(events: Any) -> None:
    good = {"Source": "my.app", "DetailType": "t", "Detail": "{}"}
    body = {"Entries": [good, {**good, "EventBusName": 5}, {**good, "Time": 1e20}]}

    def swap(request: Any, **_: Any) -> None:
        request.data = json.dumps(body).encode()

    events.meta.events.register("before-sign.eventbridge.PutEvents", swap)
    try:
        result = events.put_events(Entries=[good])
    finally:
        events.meta.events.unregister("before-sign.eventbridge.PutEvents", swap)
    assert result["FailedEntryCount"] == 2
    assert "EventId" in result["Entries"][0]
    assert [e.get("ErrorCode") for e in result["Entries"][1:]] == ["InvalidArgument"] * 2


def test_lookup_events_refuses_what_it_cannot_read(client: Callable[[str], Any]) -> None:
    trail = client("cloudtrail")
    huge = base64.urlsafe_b64encode(b"9" * 30).decode()
    for body, code in (
        ({"NextToken": huge}, "InvalidNextTokenException"),
        ({"LookupAttributes": [1]}, "InvalidLookupAttributesException"),
        ({"StartTime": 1e20}, "InvalidTimeRangeException"),
    ):
        error = refused_body(trail, "lookup_events", body)
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (400, code)


def test_put_events_refuses_details_json_has_no_number_for(events: Any) -> None:
    good = {"Source": "my.app", "DetailType": "t"}
    entries = [{**good, "Detail": detail} for detail in ('{"a": NaN}', '{"a": 1e400}', '{"a": 1}')]
    result = events.put_events(Entries=entries)
    assert [e.get("ErrorCode") for e in result["Entries"]] == ["MalformedDetail"] * 2 + [None]


@pytest.mark.parametrize("bus", ["has space", "b" * 257, "aws.mine"])
def test_event_bus_names_are_checked(events: Any, bus: str) -> None:
    with pytest.raises(ClientError) as exc:
        events.create_event_bus(Name=bus)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
