"""The log group and HTTP endpoint targets, and target kinds by ARN."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from http_endpoint import Endpoint, serve
from s3batch.events.http_target import HttpTarget, HttpTargetRejected
from s3batch.events.logs_target import BadLogGroupArn, LogGroupTarget, group_of
from s3batch.events.targets import RetriableTargetError, kind_of

EVENT = {"id": "ev-1", "time": "2026-01-01T00:00:01Z", "source": "s"}


class Sink:
    def __init__(self) -> None:
        self.appended: list[tuple[str, str, list[tuple[int, str]]]] = []

    def append(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        self.appended.append((group, stream, list(events)))


def test_kinds_by_arn() -> None:
    assert kind_of("queue-name") == "batch"
    assert kind_of("arn:aws:logs:us-east-1:1:log-group:/a/b") == "logs"
    assert kind_of("http://127.0.0.1:1/x") == kind_of("https://h/x") == "http"


def test_log_group_names() -> None:
    assert group_of("arn:aws:logs:us-east-1:1:log-group:/aws/events/x") == "/aws/events/x"
    assert group_of("arn:aws:logs:us-east-1:1:log-group:/aws/events/x:*") == "/aws/events/x"
    with pytest.raises(BadLogGroupArn):
        group_of("arn:aws:logs:us-east-1:1:destination:x")


def test_a_log_group_target_writes_one_event_per_delivery() -> None:
    sink = Sink()
    target = {"Id": "t", "Arn": "arn:aws:logs:us-east-1:1:log-group:g"}
    assert LogGroupTarget(sink).deliver(EVENT, target, {"a": 1}, "d") == "log event in g/ev-1"
    assert sink.appended == [("g", "ev-1", [(1767225601000, '{"a":1}')])]
    LogGroupTarget(sink).deliver(EVENT, target, "text", "d")
    assert sink.appended[-1][2][0][1] == "text"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    yield from serve(200)


def test_an_http_target_posts_the_payload(endpoint: Endpoint) -> None:
    target = {
        "Id": "t",
        "Arn": endpoint.url,
        "HttpParameters": {
            "HeaderParameters": {"X-Team": "data"},
            "QueryStringParameters": {"a": "1 2"},
        },
    }
    assert HttpTarget().deliver(EVENT, target, {"k": "v"}, "ev-1/r/t") == "HTTP 200"
    [(path, headers, body)] = endpoint.requests
    assert path == "/hook?a=1+2" and body == {"k": "v"}
    assert headers["x-team"] == "data" and headers["x-s3batch-delivery-id"] == "ev-1/r/t"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        (503, RetriableTargetError, "HTTP_SERVER_ERROR"),
        (429, RetriableTargetError, "THROTTLING"),
        (404, HttpTargetRejected, "HTTP_CLIENT_ERROR"),
    ],
)
def test_http_failures_are_retriable_or_final(
    endpoint: Endpoint, status: int, error: type[Exception], code: str
) -> None:
    endpoint.status = status
    with pytest.raises(error) as failed:
        HttpTarget().deliver(EVENT, {"Id": "t", "Arn": endpoint.url}, {}, "d")
    assert failed.value.code == code  # type: ignore[attr-defined]


def test_an_unreachable_endpoint_is_retriable(endpoint: Endpoint) -> None:
    url = endpoint.url
    endpoint.httpd.shutdown()
    endpoint.httpd.server_close()
    with pytest.raises(RetriableTargetError) as failed:
        HttpTarget(timeout=1).deliver(EVENT, {"Id": "t", "Arn": url}, {}, "d")
    assert failed.value.code == "TIMEOUT"
