"""The batch engine: scheduler and supervisor ticking in one background thread.

The runtime builds one :class:`BatchEngine`, calls :meth:`BatchEngine.start` (which first
recovers jobs a crash left in flight) and :meth:`BatchEngine.stop` on the way out (which
stops running jobs). A tick that moved nothing costs two index probes, so the loop may
poll often; :meth:`BatchEngine.wake` cuts the wait short after a submit.
"""

from __future__ import annotations

import logging
import threading

from s3batch.batch.runner import JobEnvironment, LogSink, Runner
from s3batch.batch.scheduler import Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.supervisor import Supervisor
from s3batch.clock import Clock

logger = logging.getLogger(__name__)

#: Seconds between ticks when nothing moved.
INTERVAL = 0.05
#: Seconds between ticks while job processes run: exits are noticed by polling (an idle
#: tick is a few index probes, ~2 % of a core at this rate).
BUSY_INTERVAL = 0.005


class BatchEngine:
    """Runs the scheduler and the supervisor."""

    def __init__(
        self,
        service: BatchService,
        runner: Runner,
        log_sink: LogSink,
        job_env: JobEnvironment,
        clock: Clock,
        kill_grace: float = 30.0,
        stop_grace: float = 5.0,
    ) -> None:
        self.scheduler = Scheduler(service.db, clock)
        self.supervisor = Supervisor(
            service, runner, log_sink, job_env, clock, kill_grace, stop_grace
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Reap, schedule, start: one pass; return how many jobs moved."""
        return self.supervisor.reap() + self.scheduler.tick() + self.supervisor.launch()

    def wake(self) -> None:
        """Run the next tick now (a job was submitted)."""
        self._wake.set()

    def run_loop(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and the loop goes on."""
        while not stop.is_set():
            try:
                moved = self.tick()
            except Exception:
                logger.exception("batch tick failed", extra={"action": "batch_tick"})
                moved = 0
            if not moved:
                self._wake.wait(BUSY_INTERVAL if self.supervisor.running else interval)
                self._wake.clear()

    def start(self, interval: float = INTERVAL) -> None:
        """Recover jobs left in flight, then tick in a background thread."""
        self.supervisor.recover()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self.run_loop, args=(self._stop, interval), name="batch-engine", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking, then stop every running job and record it FAILED."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.supervisor.shutdown()
