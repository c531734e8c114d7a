"""The batch engine: scheduler and supervisor ticking in one background thread.

The runtime builds one :class:`BatchEngine`, calls :meth:`BatchEngine.start` (which first
recovers jobs a crash left in flight) and :meth:`BatchEngine.stop` on the way out (which
stops running jobs). A tick that moved nothing costs two index probes, so the loop may
poll often; :meth:`BatchEngine.wake` cuts the wait short after a submit, and when a job's
output ends or is stored (the runner's ``on_exit`` hook), so exits are not waited for.
"""

from __future__ import annotations

import logging
import threading

from s3batch.batch.runner import JobEnvironment, LogSink, Runner
from s3batch.batch.scheduler import Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.supervisor import Running, Supervisor
from s3batch.clock import Clock

logger = logging.getLogger(__name__)

#: Seconds between ticks when nothing moved.
INTERVAL = 0.05
#: Seconds between ticks while job processes run: a fallback, as exits wake the engine
#: (an idle tick is a few index probes, ~2 % of a core at this rate).
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
        self.db = service.db
        self.scheduler = Scheduler(service.db, clock)
        self.supervisor = Supervisor(
            service, runner, log_sink, job_env, clock, kill_grace, stop_grace
        )
        #: Processes started by the last tick, recorded RUNNING by the next one.
        self._started: list[Running] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Record, reap, schedule, start: one pass; return how many jobs moved.

        One commit per pass (one fsync), not one per step: it records the processes the
        last pass started (RUNNING), the attempts that ended (an attempt that started and
        ended between two passes is recorded RUNNING then SUCCEEDED in it) and the new
        placements (STARTING). The processes of placed jobs start after that commit, so a
        job never runs without a committed STARTING. The scheduler's writes are a
        savepoint in it: a failing scheduler never loses an outcome already reaped.
        """
        started, self._started = self._started, []
        ended = self.supervisor.collect()
        moved = 0
        if started or ended or self.scheduler.has_work():
            with self.db.transaction():
                moved += self.supervisor.record_started(started) + self.supervisor.record(ended)
                try:
                    moved += self.scheduler.tick()
                except Exception:
                    logger.exception("scheduling failed", extra={"action": "batch_tick"})
        failed, self._started = self.supervisor.spawn_placed()
        return moved + failed + len(self._started)

    def wake(self) -> None:
        """Run the next tick now (a job was submitted)."""
        self._wake.set()

    def run_loop(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Tick until ``stop`` is set; a failing tick is logged and the loop goes on."""
        while not stop.is_set():
            self._wake.clear()  # before the pass: a wake during it runs the next one at once
            try:
                moved = self.tick()
            except Exception:
                logger.exception("batch tick failed", extra={"action": "batch_tick"})
                moved = 0
            # Processes just started are recorded RUNNING by the next pass; waiting for a
            # wake (an exit, a submit) lets a short job's RUNNING, its outcome and the next
            # placement share one commit instead of taking one each.
            if self._started or not moved:
                self._wake.wait(BUSY_INTERVAL if self.supervisor.running else interval)

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
        started, self._started = self._started, []
        self.supervisor.record_started(started)
        self.supervisor.shutdown()
