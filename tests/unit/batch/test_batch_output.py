"""The log writer thread: writes run in order, and ``flushed`` waits only for outstanding ones."""

from __future__ import annotations

import threading

from s3batch.batch.output import LogWriter


def test_flushed_with_nothing_outstanding_is_set_at_once_without_a_wake_up() -> None:
    writer = LogWriter()
    woken: list[str] = []
    done = writer.flushed(then=lambda: woken.append("woken"))
    assert done.is_set() and woken == []


def test_flushed_waits_for_every_write_submitted_before_it() -> None:
    writer = LogWriter()
    gate, order = threading.Event(), []
    writer.submit(lambda: (gate.wait(5), order.append("first")))
    woken = threading.Event()
    done = writer.flushed(then=woken.set)
    assert not done.is_set()
    gate.set()
    assert done.wait(5) and woken.wait(5)
    assert order == ["first"]


def test_a_failing_write_does_not_stop_the_writer() -> None:
    writer = LogWriter()

    def fail() -> None:
        raise RuntimeError("store down")

    writer.submit(fail)
    ran = threading.Event()
    writer.submit(ran.set)
    assert writer.flushed().wait(5) and ran.is_set()
