"""The batch engine: scheduler and supervisor ticking in one background thread.

The runtime builds one :class:`BatchEngine`, calls :meth:`BatchEngine.start` (which first
recovers jobs a crash left in flight) and :meth:`BatchEngine.stop` on the way out (which
stops running jobs). A tick that moved nothing costs two index probes, so the loop may
poll often; :meth:`BatchEngine.submitted` cuts the wait short after a submit (unless a held
pass will see the job), and :meth:`BatchEngine.wake` when a job's process exits (the
runner's ``on_exit`` hook), so exits are not waited for.

Every commit is an fsync, and the server's SubmitJob commits queue behind the engine's, so
in the server a commit may wait up to ``window`` seconds to take more with it: passes that
would only schedule (submits arrived, nothing ended) come at most that often, so a burst
of submits is released and placed in one commit, and outcomes are written at most that
late, so a busy queue's outcomes share one durable commit instead of taking one each.
"""

from __future__ import annotations

import logging
import threading
import time

from s3batch.batch.models import Job
from s3batch.batch.runner import JobEnvironment, LogSink, Runner
from s3batch.batch.scheduler import Scheduler
from s3batch.batch.service import BatchService
from s3batch.batch.supervisor import Ended, Running, Supervisor
from s3batch.clock import Clock

logger = logging.getLogger(__name__)

#: Seconds between ticks when nothing moved.
INTERVAL = 0.05
#: Seconds between ticks while job processes run: a fallback, as exits wake the engine
#: (an idle tick is a few index probes, ~2 % of a core at this rate).
BUSY_INTERVAL = 0.005
#: Seconds a commit of the server's engine may wait to take more moves with it.
WINDOW = 0.01


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
        window: float = 0.0,
    ) -> None:
        self.db = service.db
        self.window = window
        self._wake = threading.Event()
        runner.on_exit = self.wake
        self.scheduler = Scheduler(service.db, clock)
        self.supervisor = Supervisor(
            service, runner, log_sink, job_env, clock, kill_grace, stop_grace
        )
        #: Attempts started (RUNNING) and ended (their outcomes) not written yet; since
        #: when the oldest of them waits (monotonic seconds).
        self._started: list[Running] = []
        self._ended, self._held_since = Ended(), 0.0
        #: When a pass may next schedule without an exit to record (monotonic seconds).
        self._schedule_at = 0.0
        #: The soonest a held commit is due (monotonic seconds), None when none is held.
        self._due: float | None = None
        #: Whether a scheduling pass is held for its window: it reads the store when due,
        #: so a job submitted meanwhile needs no wake (:meth:`submitted`).
        self._pass_held = False
        #: Whether STARTING jobs are to be looked for in the store (at start-up, and after
        #: a pass failed to start them); otherwise the scheduler hands over those it placed.
        self._look_for_placed = True
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Place, start, then record what started and ended: one pass; return how many jobs moved.

        Two commits at most. The first places jobs (STARTING), counting the vCPUs of
        attempts that have ended as free: it is not fsynced, as a machine crash that lost
        it would take those processes with it (the server's own crash loses nothing;
        recovery settles STARTING and RUNNING jobs either way). The processes of placed
        jobs start right after it (a job never runs without a committed STARTING): the
        runner (the spawner process) starts them while the engine goes on. The second
        records the attempts started (RUNNING) and ended (exit → SUCCEEDED, FAILED or a
        retry) since the last one, once the oldest of them is ``window`` old: durable when
        it has outcomes, and an outcome is not visible before it. So a busy queue shares
        one commit among many jobs, and nothing written but a placement delays a job
        waiting for a slot. A failing scheduler never loses an outcome already reaped.
        """
        now = time.monotonic()
        failed, started = self.supervisor.take_started()
        ended = self.supervisor.collect()
        if (started or ended.moves) and not self._holding:
            self._held_since = now
        self._started += started
        self._ended.add(ended)
        self._pass_held = False  # before the store is read: a submit from now on wakes
        waiting = self.scheduler.has_work()
        schedule = waiting and bool(started or ended.moves or now >= self._schedule_at)
        placed: list[Job] = []  # placed by this pass, handed to the supervisor once committed
        moved = 0
        if schedule:
            # Durable only when the last pass left an outcome (a job to fail) to this one.
            self.scheduler.durable = self.scheduler.settling
            self._schedule_at = now + self.window
            moved += self._schedule(self._ended.freed)
            placed = self.scheduler.placed
        if self._look_for_placed or placed:  # committed: their processes may start
            look, self._look_for_placed = self._look_for_placed, True  # if this fails: look
            moved += self.supervisor.spawn_placed(None if look else placed)
            self._look_for_placed = False
        write_at = self._held_since + self.window
        if self._holding and now >= write_at:
            moved += self.flush()
        self._pass_held = waiting and not schedule
        due = [self._schedule_at] if self._pass_held else []
        self._due = min([*due, write_at] if self._holding else due, default=None)
        return moved + failed

    @property
    def _holding(self) -> bool:
        """Whether some start or outcome waits to be written."""
        return bool(self._started or self._ended.moves)

    def flush(self) -> int:
        """Write the starts and outcomes not written yet, in one commit (durable when it
        has outcomes); return how many took."""
        started, self._started = self._started, []
        ended, self._ended = self._ended, Ended()
        if not (started or ended.moves):
            return 0
        with self.db.transaction(durable=bool(ended.moves)):
            return self.supervisor.record(started, ended)

    def _schedule(self, freed: dict[str, float]) -> int:
        try:
            return self.scheduler.run(freed)  # the pass knows some job waits
        except Exception:
            logger.exception("scheduling failed", extra={"action": "batch_tick"})
            return 0

    def wake(self) -> None:
        """Run the next tick now (a job's process ended)."""
        self._wake.set()

    def submitted(self) -> None:
        """A job was submitted (and committed): wake, unless a held pass will read it anyway.

        During a burst of submits each would otherwise wake the engine for a tick that
        only finds the pass held (a thread wake-up and an index probe per submit).
        """
        if not self._pass_held:
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
            # Processes still starting are recorded RUNNING by a later pass; waiting for a
            # wake (an exit, a submit) or BUSY_INTERVAL, not for the start itself, lets a
            # short job's RUNNING, its exit and the next placement share one pass.
            if self.supervisor.starting or not moved:
                wait = BUSY_INTERVAL if self.supervisor.running else interval
                if self._due is not None:  # a held commit waits for its window, not longer
                    wait = min(wait, self._due - time.monotonic())
                self._wake.wait(max(wait, 0.0))

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
        _, started = self.supervisor.take_started(wait=True)
        self._started += started
        self.flush()
        self.supervisor.shutdown()
