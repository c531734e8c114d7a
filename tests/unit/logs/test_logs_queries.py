"""PutLogEvents, Describe* paging and FilterLogEvents over the Logs service."""

from __future__ import annotations

import pytest

from s3batch.logs import service as service_module
from s3batch.logs.errors import InvalidParameterException, LogGroupNotFound, LogStreamNotFound
from s3batch.logs.service import Logs

G = "/aws/batch/job"
T0 = 1_767_225_600_000


def test_put_log_events_needs_an_existing_stream_and_order(logs: Logs) -> None:
    with pytest.raises(LogStreamNotFound):
        logs.put_log_events(G, "s", [(T0, "x")])
    logs.ensure_log_stream(G, "s")
    with pytest.raises(InvalidParameterException, match="chronological"):
        logs.put_log_events(G, "s", [(T0 + 1, "b"), (T0, "a")])
    with pytest.raises(InvalidParameterException):
        logs.put_log_events(G, "s", [])
    logs.put_log_events(G, "s", [(T0, "a"), (T0, "b"), (T0 + 5, "c")])
    stream = logs.log_stream(G, "s")
    assert (stream.first_event_timestamp, stream.last_event_timestamp) == (T0, T0 + 5)
    assert stream.stored_bytes == 3 and logs.log_group(G).stored_bytes == 3


def test_describe_log_groups_pages_by_name(logs: Logs) -> None:
    for name in ("/b", "/a/2", "/a/1", "/c"):
        logs.create_log_group(name)
    page, token = logs.describe_log_groups(limit=3)
    assert [g.name for g in page] == ["/a/1", "/a/2", "/b"]
    assert token is not None
    page, token = logs.describe_log_groups(limit=3, next_token=token)
    assert ([g.name for g in page], token) == (["/c"], None)
    page, token = logs.describe_log_groups("/a/", limit=2)
    assert ([g.name for g in page], token) == (["/a/1", "/a/2"], None)
    # A group added after a page was served still shows up on the next page.
    first, token = logs.describe_log_groups(limit=1)
    logs.create_log_group("/a/15")
    rest, _ = logs.describe_log_groups(limit=50, next_token=token)
    assert [g.name for g in first + rest] == ["/a/1", "/a/15", "/a/2", "/b", "/c"]


@pytest.mark.parametrize("token", ["nope", "W10=", "WyJhIiwgMV0=", "WzFd"])
def test_describe_tokens_of_another_listing_are_refused(logs: Logs, token: str) -> None:
    # "W10=" is [], "WyJhIiwgMV0=" is ["a", 1], "WzFd" is [1]: not a group listing's key
    with pytest.raises(InvalidParameterException):
        logs.describe_log_groups(next_token=token)


def test_describe_log_streams_by_last_event_time(logs: Logs) -> None:
    logs.append(G, "old", [(T0, "x")])
    logs.append(G, "new", [(T0 + 10, "x")])
    logs.append(G, "mid", [(T0 + 5, "x")])
    logs.ensure_log_stream(G, "empty")
    page, token = logs.describe_log_streams(G, order_by="LastEventTime", descending=True, limit=2)
    assert [s.name for s in page] == ["new", "mid"]
    page, token = logs.describe_log_streams(
        G, order_by="LastEventTime", descending=True, next_token=token
    )
    assert ([s.name for s in page], token) == (["old", "empty"], None)
    page, _ = logs.describe_log_streams(G, order_by="LastEventTime")
    assert [s.name for s in page] == ["empty", "old", "mid", "new"]
    page, _ = logs.describe_log_streams(G, descending=True)
    assert [s.name for s in page] == ["old", "new", "mid", "empty"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": 51},
        {"order_by": "Name"},
        {"order_by": "LastEventTime", "prefix": "a"},
        {"order_by": "LastEventTime", "next_token": "WyJhIl0="},  # a by-name token
    ],
)
def test_describe_log_streams_refuses(logs: Logs, kwargs: dict[str, object]) -> None:
    logs.ensure_log_group(G)
    with pytest.raises(InvalidParameterException):
        logs.describe_log_streams(G, **kwargs)  # type: ignore[arg-type]


def test_describe_log_streams_of_a_missing_group(logs: Logs) -> None:
    with pytest.raises(LogGroupNotFound):
        logs.describe_log_streams("/missing")


def _filled(logs: Logs) -> None:
    logs.append(G, "a", [(T0, "ERROR a0"), (T0 + 2, "INFO a2"), (T0 + 4, "ERROR a4")])
    logs.append(G, "b", [(T0 + 1, "ERROR b1"), (T0 + 2, "ERROR b2"), (T0 + 3, "INFO b3")])
    logs.append(G, "c", [(T0 + 2, "ERROR c2")])


def _found(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.event.message for f in page.events]


def test_filter_orders_by_time_then_stream_then_position(logs: Logs) -> None:
    _filled(logs)
    page = logs.filter_log_events(G)
    assert _found(page) == [
        "ERROR a0",
        "ERROR b1",
        "INFO a2",
        "ERROR b2",
        "ERROR c2",
        "INFO b3",
        "ERROR a4",
    ]
    assert page.next_token is None
    assert [f.stream for f in page.events][:2] == ["a", "b"]
    assert len({f.event_id for f in page.events}) == 7


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_filter_pages_whatever_the_scan_chunk(
    logs: Logs, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(service_module, "SCAN_CHUNK", chunk)
    _filled(logs)
    seen, token, pages = [], None, 0
    while True:
        page = logs.filter_log_events(G, pattern="ERROR", limit=2, next_token=token)
        seen += _found(page)
        pages += 1
        token = page.next_token
        if token is None:
            break
    assert seen == ["ERROR a0", "ERROR b1", "ERROR b2", "ERROR c2", "ERROR a4"]
    assert pages == 3


def test_filter_by_streams_prefix_and_window(logs: Logs) -> None:
    _filled(logs)
    logs.append(G, "other", [(T0 + 1, "ERROR other")])
    assert _found(logs.filter_log_events(G, stream_names=["c", "b"], pattern="ERROR")) == [
        "ERROR b1",
        "ERROR b2",
        "ERROR c2",
    ]
    assert _found(logs.filter_log_events(G, stream_prefix="o")) == ["ERROR other"]
    # Both ends are inclusive: AWS drops only events "later than" endTime.
    assert _found(logs.filter_log_events(G, start_time=T0 + 2, end_time=T0 + 2)) == [
        "INFO a2",
        "ERROR b2",
        "ERROR c2",
    ]
    assert _found(logs.filter_log_events(G, stream_names=["missing"])) == []


def test_filter_a_full_last_page_has_no_token(logs: Logs) -> None:
    _filled(logs)
    page = logs.filter_log_events(G, pattern="INFO", limit=2)
    assert (_found(page), page.next_token) == (["INFO a2", "INFO b3"], None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": 10_001},
        {"stream_names": ["a"], "stream_prefix": "a"},
        {"pattern": '"open'},
        {"next_token": "bogus"},
    ],
)
def test_filter_refuses(logs: Logs, kwargs: dict[str, object]) -> None:
    _filled(logs)
    with pytest.raises(InvalidParameterException):
        logs.filter_log_events(G, **kwargs)  # type: ignore[arg-type]


def test_filter_a_missing_group(logs: Logs) -> None:
    with pytest.raises(LogGroupNotFound):
        logs.filter_log_events("/missing")
