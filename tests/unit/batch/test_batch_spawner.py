"""The spawner: job processes started, read and reaped by a helper process, through ProcessRunner."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch_helpers import CollectedLogs, eventually

from s3batch.batch.errors import CannotStart
from s3batch.batch.runner import SPAWNER_STOPPED, Launch, Outcome, ProcessRunner, wait
from s3batch.batch.spawner import DRAIN_SECONDS, Frames, frame
from s3batch.clock import SystemClock


@pytest.fixture
def runner() -> Iterator[ProcessRunner]:
    runner = ProcessRunner(SystemClock())
    yield runner
    runner.close()


def _launch(argv: list[str], cwd: Path | None = None, **env: str) -> Launch:
    base = {"PATH": os.environ.get("PATH", os.defpath), "AWS_BATCH_JOB_ID": "job"}
    return Launch("job", 1, tuple(argv), {**base, **env}, "g", "s", cwd)


def _run(runner: ProcessRunner, launch: Launch, sink: CollectedLogs | None = None) -> Outcome:
    handle = runner.start(launch, sink or CollectedLogs()).result(timeout=30)
    outcome = wait(handle, timeout=30)
    assert outcome is not None
    return outcome


def _refused(runner: ProcessRunner, launch: Launch) -> str:
    with pytest.raises(CannotStart) as caught:
        runner.start(launch, CollectedLogs()).result(timeout=30)
    return caught.value.message


def test_messages_survive_any_split_of_the_stream() -> None:
    messages = [("start", 1, ["true"], {"A": "é" * 3000}, None), ("kill", 1, 15), ("x", 2)]
    data = b"".join(frame(m) for m in messages)
    frames = Frames()
    got = [m for i in range(0, len(data), 7) for m in frames.feed(data[i : i + 7])]
    assert got == messages


def test_output_and_exit_code_reach_the_server(runner: ProcessRunner) -> None:
    sink = CollectedLogs()
    code = "import sys; print('out'); print('why', file=sys.stderr); sys.exit(3)"
    outcome = _run(runner, _launch([sys.executable, "-c", code]), sink)
    assert sorted(sink.messages) == ["out", "why"]
    assert (outcome.exit_code, outcome.reason) == (3, "why")


def test_a_program_is_looked_for_on_the_jobs_path_not_the_servers(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    program = tmp_path / "only-here"
    program.write_text("#!/bin/sh\necho found\n")
    program.chmod(0o755)
    sink = CollectedLogs()
    launch = _launch(["only-here"], PATH=f"{tmp_path / 'missing'}:{tmp_path}:/usr/bin:/bin")
    assert _run(runner, launch, sink).exit_code == 0
    assert sink.messages == ["found"]


def test_start_failures_give_dockers_reasons(runner: ProcessRunner, tmp_path: Path) -> None:
    not_executable = tmp_path / "plain"
    not_executable.write_text("echo no\n")
    assert _refused(runner, _launch(["s3batch-no-such-command"])) == (
        'CannotStartContainerError: exec: "s3batch-no-such-command": executable file not found in $PATH'
    )
    assert _refused(runner, _launch([str(not_executable)])) == (
        f'CannotStartContainerError: exec: "{not_executable}": permission denied'
    )
    launch = _launch(["plain"], PATH=str(tmp_path))
    assert _refused(runner, launch) == 'CannotStartContainerError: exec: "plain": permission denied'
    gone = tmp_path / "gone"
    assert _refused(runner, _launch(["true"], cwd=gone)) == (
        f"CannotStartContainerError: No such file or directory: {gone}"
    )
    # A NUL cannot be passed to a process: that attempt fails, the spawner goes on.
    assert "null" in _refused(runner, _launch(["true"], VALUE="a\0b"))
    assert _run(runner, _launch(["true"])).exit_code == 0


def test_a_relative_program_and_the_working_directory_are_the_jobs(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\npwd\n")
    (tmp_path / "run.sh").chmod(0o755)
    sink = CollectedLogs()
    assert _run(runner, _launch(["./run.sh"], cwd=tmp_path), sink).exit_code == 0
    assert sink.messages == [str(tmp_path)]
    assert os.getcwd() != str(tmp_path)


def test_a_job_ignores_no_signal_and_leads_its_own_session(runner: ProcessRunner) -> None:
    # Python ignores SIGPIPE and SIGXFSZ, the spawner SIGINT: a job must inherit none of it.
    sink = CollectedLogs()
    assert _run(runner, _launch(["grep", "^SigIgn", "/proc/self/status"]), sink).exit_code == 0
    ignored = int(sink.messages[0].split()[1], 16)
    signals = (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM, signal.SIGHUP)
    assert [s.name for s in signals if ignored & 1 << (s - 1)] == []
    code = "import os; print(os.getsid(0) == os.getpid() == os.getpgid(0))"
    sink = CollectedLogs()
    assert _run(runner, _launch([sys.executable, "-c", code]), sink).exit_code == 0
    assert sink.messages == ["True"]


def test_kill_signals_the_whole_group(runner: ProcessRunner) -> None:
    code = "import subprocess, sys, time; subprocess.Popen(['sleep', '60']); print('up', flush=True); time.sleep(60)"
    sink = CollectedLogs()
    handle = runner.start(_launch([sys.executable, "-c", code]), sink).result(timeout=30)
    eventually(lambda: sink.messages == ["up"])
    handle.kill(signal.SIGTERM)
    outcome = wait(handle, timeout=30)
    assert outcome is not None and outcome.signal == signal.SIGTERM
    eventually(lambda: not _group_alive(handle.pgid))


def test_output_held_open_by_a_descendant_elsewhere_is_abandoned(runner: ProcessRunner) -> None:
    # A grandchild in a session of its own keeps the pipes open after the job exits: the
    # attempt still ends, DRAIN_SECONDS later, with what was written before.
    code = (
        "import subprocess, sys\n"
        "subprocess.Popen(['sleep', '30'], start_new_session=True)\n"
        "print('bye')"
    )
    sink = CollectedLogs()
    started = time.monotonic()
    outcome = _run(runner, _launch([sys.executable, "-c", code]), sink)
    assert outcome.exit_code == 0 and sink.messages == ["bye"]
    assert DRAIN_SECONDS <= time.monotonic() - started < DRAIN_SECONDS + 20


def test_closing_kills_what_still_runs(runner: ProcessRunner) -> None:
    handle = runner.start(_launch(["sleep", "60"]), CollectedLogs()).result(timeout=30)
    runner.close()
    eventually(lambda: not _group_alive(handle.pgid))


def test_a_spawner_that_dies_fails_its_attempts_kills_them_and_the_next_start_gets_a_new_one(
    runner: ProcessRunner,
) -> None:
    handle = runner.start(_launch(["sleep", "60"]), CollectedLogs()).result(timeout=30)
    spawner = runner._spawner
    assert spawner is not None
    os.kill(spawner.pid, signal.SIGKILL)
    outcome = wait(handle, timeout=30)
    assert outcome == Outcome(None, reason=SPAWNER_STOPPED)
    eventually(lambda: not _group_alive(handle.pgid))  # the dead spawner could not kill it
    assert _run(runner, _launch(["true"])).exit_code == 0
    assert runner._spawner is not None and runner._spawner.pid != spawner.pid


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is in group ``pgid``."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
