"""Finding and killing job processes a crashed server left behind.

A job process carries ``AWS_BATCH_JOB_ID`` in its environment, so on Linux the sweep
kills the process group of every process whose environment names one of the given jobs:
this also finds an attempt started just before a crash, whose group was never recorded,
and never hits an unrelated process that reused a recorded group id. Without ``/proc``
(macOS) the recorded group ids are killed when alive.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

PROC = Path("/proc")
_MARKER = b"AWS_BATCH_JOB_ID="


def job_process_groups(job_ids: Iterable[str], proc: Path = PROC) -> dict[str, set[int]]:
    """Process groups (other than ours) of live processes whose environment names one of ``job_ids``."""
    wanted = set(job_ids)
    found: dict[str, set[int]] = {}
    own = os.getpgrp()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone, or not ours
        for variable in environ.split(b"\0"):
            if variable.startswith(_MARKER):
                job_id = variable[len(_MARKER) :].decode(errors="replace")
                pgrp = int(stat.rsplit(")", 1)[1].split()[2])
                if job_id in wanted and pgrp != own:
                    found.setdefault(job_id, set()).add(pgrp)
                break
    return found


def _kill_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def sweep(recorded: dict[str, int | None], proc: Path = PROC) -> int:
    """SIGKILL what is left of the jobs in ``recorded`` (job id → recorded pgid); return groups killed."""
    if proc.is_dir():
        groups = {g for gs in job_process_groups(recorded, proc).values() for g in gs}
    else:
        groups = {pgid for pgid in recorded.values() if pgid and pgid > 1 and pgid != os.getpgrp()}
    killed = sum(_kill_group(pgid) for pgid in groups)
    if killed:
        logger.warning(
            "killed %d orphaned job process groups", killed, extra={"action": "orphan_sweep"}
        )
    return killed
