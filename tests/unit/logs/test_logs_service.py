"""Log groups, streams, appending events and GetLogEvents paging."""

from __future__ import annotations

import pytest

from s3batch.clock import FakeClock
from s3batch.logs.errors import (
    InvalidParameterException,
    LogGroupNotFound,
    LogStreamNotFound,
    ResourceAlreadyExistsException,
)
from s3batch.logs.service import MAX_PAGE_BYTES, Logs

G, S = "/aws/batch/job", "work/default/abc"
T0 = 1_767_225_600_000  # the fixture clock, in epoch ms


def _fill(logs: Logs, n: int) -> None:
    logs.append(G, S, [(T0 + i, f"line {i}") for i in range(n)])


def _messages(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.message for e in page.events]


def test_groups_and_streams_are_created_once(logs: Logs) -> None:
    group = logs.create_log_group(G)
    assert group.arn == f"arn:aws:logs:us-east-1:123456789012:log-group:{G}:*"
    with pytest.raises(ResourceAlreadyExistsException):
        logs.create_log_group(G)
    stream = logs.create_log_stream(G, S)
    assert stream.arn == f"arn:aws:logs:us-east-1:123456789012:log-group:{G}:log-stream:{S}"
    with pytest.raises(ResourceAlreadyExistsException):
        logs.create_log_stream(G, S)
    assert logs.ensure_log_group(G) == group
    assert logs.ensure_log_stream(G, S) == stream
    assert [s.name for s in logs.streams(G)] == [S]


def test_missing_groups_and_streams(logs: Logs) -> None:
    with pytest.raises(LogGroupNotFound, match="The specified log group does not exist."):
        logs.create_log_stream("nope", S)
    with pytest.raises(LogGroupNotFound):
        logs.streams("nope")
    with pytest.raises(LogStreamNotFound, match="The specified log stream does not exist."):
        logs.get_log_events(G, S)


@pytest.mark.parametrize(
    ("group", "stream"), [("bad group", "s"), ("g", "a:b"), ("g", "a*b"), ("", "s")]
)
def test_invalid_names(logs: Logs, group: str, stream: str) -> None:
    with pytest.raises(InvalidParameterException):
        logs.ensure_log_group(group)
        logs.ensure_log_stream(group, stream)


def test_append_creates_group_and_stream_and_keeps_order(logs: Logs, clock: FakeClock) -> None:
    logs.append(G, S, [])
    assert logs.log_stream(G, S).first_event_timestamp is None
    logs.append(G, S, [(T0 + 5, "b"), (T0 + 1, "a")])
    clock.advance(1)
    logs.append(G, S, [(T0 + 9, "c")])
    page = logs.get_log_events(G, S)
    assert _messages(page) == ["b", "a", "c"]
    assert [e.ingestion_time for e in page.events] == [T0, T0, T0 + 1000]
    stream = logs.log_stream(G, S)
    assert (stream.first_event_timestamp, stream.last_event_timestamp) == (T0 + 1, T0 + 9)
    assert (stream.last_ingestion_time, stream.stored_bytes) == (T0 + 1000, 3)


def test_paging_forward_from_the_head_until_the_token_comes_back(logs: Logs) -> None:
    _fill(logs, 7)
    seen, token = [], None
    while True:
        page = logs.get_log_events(G, S, start_from_head=True, limit=3, next_token=token)
        seen += _messages(page)
        if page.next_forward_token == token:
            break
        token = page.next_forward_token
    assert seen == [f"line {i}" for i in range(7)]


def test_default_page_from_the_tail_and_paging_backward(logs: Logs) -> None:
    _fill(logs, 7)
    page = logs.get_log_events(G, S, start_from_head=False, limit=3)
    assert _messages(page) == ["line 4", "line 5", "line 6"]
    back = logs.get_log_events(G, S, limit=3, next_token=page.next_backward_token)
    assert _messages(back) == ["line 1", "line 2", "line 3"]
    first = logs.get_log_events(G, S, limit=3, next_token=back.next_backward_token)
    assert _messages(first) == ["line 0"]
    end = logs.get_log_events(G, S, limit=3, next_token=first.next_backward_token)
    assert end.events == [] and end.next_backward_token == first.next_backward_token


def test_forward_token_picks_up_new_events(logs: Logs) -> None:
    _fill(logs, 2)
    page = logs.get_log_events(G, S, start_from_head=False)
    empty = logs.get_log_events(G, S, next_token=page.next_forward_token)
    assert empty.events == [] and empty.next_forward_token == page.next_forward_token
    logs.append(G, S, [(T0 + 50, "new")])
    assert _messages(logs.get_log_events(G, S, next_token=page.next_forward_token)) == ["new"]


def test_empty_stream_tokens(logs: Logs) -> None:
    logs.append(G, S, [])
    page = logs.get_log_events(G, S)
    assert page.events == []
    assert page.next_forward_token.startswith("f/") and page.next_backward_token.startswith("b/")


def test_time_window_is_start_inclusive_end_exclusive(logs: Logs) -> None:
    _fill(logs, 6)
    page = logs.get_log_events(G, S, start_time=T0 + 2, end_time=T0 + 4)
    assert _messages(page) == ["line 2", "line 3"]


def test_a_page_holds_at_most_one_megabyte(logs: Logs) -> None:
    big = "x" * (300 * 1024)
    logs.append(G, S, [(T0, big)] * 5)
    page = logs.get_log_events(G, S)
    assert len(page.events) == MAX_PAGE_BYTES // (len(big) + 26)
    rest = logs.get_log_events(G, S, next_token=page.next_forward_token)
    assert len(page.events) + len(rest.events) == 5


@pytest.mark.parametrize(
    ("kwargs"), [{"limit": 0}, {"limit": 10_001}, {"next_token": "x/1"}, {"next_token": "f/abc"}]
)
def test_invalid_limit_and_token(logs: Logs, kwargs: dict[str, object]) -> None:
    _fill(logs, 1)
    with pytest.raises(InvalidParameterException):
        logs.get_log_events(G, S, **kwargs)  # type: ignore[arg-type]


def test_groups_listing(logs: Logs) -> None:
    for name in ("/aws/batch/job", "/aws/lambda/x", "other"):
        logs.ensure_log_group(name)
    assert [g.name for g in logs.groups("/aws/")] == ["/aws/batch/job", "/aws/lambda/x"]
