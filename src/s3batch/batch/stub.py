"""A runner that starts no process, for tests (as dramatiq's stub broker).

By default every attempt ends at once with exit code 0. ``script`` decides an attempt's
exit code and output lines; with ``hold=True`` attempts run until :meth:`StubRunner.finish`
(or a kill) ends them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future

from s3batch.batch.errors import CannotStart
from s3batch.batch.runner import Launch, LogSink, Outcome

#: Decides an attempt's ``(exit code, output lines)``; raise CannotStart to fail the start.
Script = Callable[[Launch], tuple[int, Sequence[str]]]


class StubHandle:
    """A pretend process."""

    def __init__(
        self,
        launch: Launch,
        sink: LogSink,
        clock_ms: Callable[[], int],
        on_end: Callable[[], None],
    ) -> None:
        self.launch = launch
        self.pgid = 0  # no process group: nothing for the orphan sweep to kill
        self.signals: list[int] = []
        self._sink = sink
        self._clock_ms = clock_ms
        self._on_end = on_end
        self._outcome: Outcome | None = None

    def end(self, exit_code: int, lines: Sequence[str] = ()) -> None:
        """Write ``lines`` to the log and end with ``exit_code``."""
        if lines:
            now = self._clock_ms()
            self._sink.append(
                self.launch.log_group, self.launch.log_stream, [(now, s) for s in lines]
            )
        self._outcome = Outcome.from_returncode(exit_code)
        self._on_end()

    def poll(self) -> Outcome | None:
        """The outcome once ended."""
        return self._outcome

    def kill(self, sig: int) -> None:
        """Record the signal and end as killed by it."""
        self.signals.append(sig)
        if self._outcome is None:
            self._outcome = Outcome.from_returncode(-sig)
            self._on_end()


class StubRunner:
    """Starts pretend processes and remembers every launch."""

    def __init__(
        self,
        script: Script | None = None,
        hold: bool = False,
        clock_ms: Callable[[], int] = lambda: 0,
    ) -> None:
        self.script = script
        self.hold = hold
        self.clock_ms = clock_ms
        self.launches: list[Launch] = []
        self.handles: dict[str, StubHandle] = {}
        #: Called when an attempt ends (the engine's wake).
        self.on_exit: Callable[[], None] = lambda: None

    def start(self, launch: Launch, sink: LogSink) -> Future[StubHandle]:
        """Record the launch; end it now unless holding. The start is done at once.

        Raises:
            CannotStart: the script said so.
        """
        self.launches.append(launch)
        handle = StubHandle(launch, sink, self.clock_ms, lambda: self.on_exit())
        if self.script is not None and not self.hold:
            handle.end(*self.script(launch))
        elif not self.hold:
            handle.end(0)
        elif self.script is not None:
            self.script(launch)  # may raise CannotStart
        self.handles[launch.job_id] = handle
        started: Future[StubHandle] = Future()
        started.set_result(handle)
        return started

    def close(self) -> None:
        """Nothing to release."""

    def finish(self, job_id: str, exit_code: int = 0, lines: Sequence[str] = ()) -> None:
        """End a held attempt."""
        self.handles[job_id].end(exit_code, lines)


__all__ = ["CannotStart", "StubHandle", "StubRunner"]
