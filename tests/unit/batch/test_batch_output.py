"""Job output: the log writer thread (writes in order, ``flushed`` waits only for outstanding
ones) and how a process's lines become log events (long lines cut between characters)."""

from __future__ import annotations

import os
import sys
import threading

import pytest
from batch_helpers import CollectedLogs

from s3batch.batch.output import MAX_LINE, LogWriter
from s3batch.batch.runner import Launch, ProcessRunner, wait
from s3batch.clock import SystemClock


def test_after_with_nothing_outstanding_runs_at_once_on_the_calling_thread() -> None:
    writer = LogWriter()
    ran: list[str] = []
    writer.after(lambda: ran.append(threading.current_thread().name))
    assert ran == [threading.current_thread().name]


def test_after_waits_for_every_write_submitted_before_it() -> None:
    writer = LogWriter()
    gate, order = threading.Event(), []
    writer.submit(lambda: (gate.wait(5), order.append("first")))
    done = threading.Event()
    writer.after(lambda: (order.append("after"), done.set()))
    assert not done.is_set()
    gate.set()
    assert done.wait(5)
    assert order == ["first", "after"]


def test_a_failing_write_does_not_stop_the_writer() -> None:
    writer = LogWriter()

    def fail() -> None:
        raise RuntimeError("store down")

    writer.submit(fail)
    ran, done = threading.Event(), threading.Event()
    writer.submit(ran.set)
    writer.after(done.set)
    assert done.wait(5) and ran.is_set()


def _output_of(code: str) -> list[str]:
    """The log events of a process running ``python -c code``."""
    sink = CollectedLogs()
    launch = Launch("job", 1, (sys.executable, "-c", code), dict(os.environ), "g", "s")
    runner = ProcessRunner(SystemClock())
    try:
        assert wait(runner.start(launch, sink).result(timeout=30), timeout=30) is not None
    finally:
        runner.close()
    return sink.messages


@pytest.mark.parametrize("newline", [True, False])
def test_long_lines_are_cut_into_events_between_characters(newline: bool) -> None:
    # 100,000 three-byte characters (300,000 bytes), written whole or in pieces, then a
    # short line: each event at most MAX_LINE bytes, and the pieces join to the line.
    code = (
        "import sys, time; w = sys.stdout.buffer\n"
        "line = ('€' * 100000).encode()\n"
        + ("w.write(line + b'\\n')\n" if newline else
           "[w.write(line[i:i + 70000]) or w.flush() or time.sleep(0.05) for i in range(0, len(line), 70000)]\nw.write(b'\\n')\n")
        + "w.write(b'x' * 262140 + b'\\nend\\n')"
    )  # fmt: skip
    messages = _output_of(code)
    assert all(len(m.encode()) <= MAX_LINE for m in messages)
    assert "\ufffd" not in "".join(messages)
    assert messages[-1] == "end"
    euros = [m for m in messages if m.startswith("€")]
    assert "".join(euros) == "€" * 100000 and len(euros) == 2
    xs = [m for m in messages if m.startswith("x")]
    assert "".join(xs) == "x" * 262140 and len(xs) == 2
