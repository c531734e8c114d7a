"""The Docker executor's command construction (no engine runs here, so only that is tested)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime

import pytest

from s3batch.batch.docker import DockerRunner, container_name, docker_argv, engine_available
from s3batch.batch.errors import CannotStart
from s3batch.batch.models import ContainerDetail, Job
from s3batch.batch.runner import JobEnvironment, Launch
from s3batch.batch.status import JobStatus
from s3batch.clock import FakeClock
from s3batch.errors import ConfigError


def _launch(**overrides: object) -> Launch:
    values: dict[str, object] = {
        "job_id": "0f1e:3",
        "attempt": 2,
        "argv": ("s3batch", "load", "--key", "a b; rm -rf /"),
        "env": {
            "AWS_SECRET_ACCESS_KEY": "s3cr3t",
            "AWS_BATCH_JOB_ID": "0f1e:3",
            "PATH": "/usr/bin",
            "HOME": "/root",
        },
        "log_group": "/aws/batch/job",
        "log_stream": "d/default/0f1e:3",
        "image": "s3batch:latest",
        "vcpus": 2.0,
        "memory_mib": 4096,
        "host": frozenset({"PATH", "HOME"}),
    }
    values.update(overrides)
    return Launch(**values)  # type: ignore[arg-type]


def test_argv_runs_the_image_in_the_foreground_with_resources_and_the_command_unchanged() -> None:
    argv = docker_argv(_launch())
    assert argv[:3] == ["docker", "run", "--rm"]
    assert argv[argv.index("--name") + 1] == "s3batch-0f1e-3-2" == container_name(_launch())
    assert argv[argv.index("--network") + 1] == "host"
    assert argv[argv.index("--cpus") + 1] == "2"
    assert argv[argv.index("--memory") + 1] == "4096m"
    image_at = argv.index("s3batch:latest")
    assert argv[image_at + 1 :] == ["s3batch", "load", "--key", "a b; rm -rf /"], (
        "the command stays an argv"
    )


def test_environment_is_passed_by_name_so_secrets_are_not_on_the_command_line() -> None:
    argv = docker_argv(_launch())
    names = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert names == ["AWS_BATCH_JOB_ID", "AWS_SECRET_ACCESS_KEY"]
    assert "s3cr3t" not in " ".join(argv)
    assert "PATH" not in names and "HOME" not in names, (
        "host variables must not override the image's"
    )


def test_optional_settings() -> None:
    argv = docker_argv(_launch(memory_mib=None, vcpus=0.5))
    assert "--memory" not in argv and argv[argv.index("--cpus") + 1] == "0.5"


def test_a_definition_without_an_image_cannot_start() -> None:
    with pytest.raises(CannotStart, match="names no image"):
        docker_argv(_launch(image=None))


def test_engine_detection_reads_docker_info(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/docker")

    def answer(code: int):  # type: ignore[no-untyped-def]
        return lambda argv, **kw: subprocess.CompletedProcess(argv, code, b"", b"")

    assert engine_available(answer(0)) is True
    assert engine_available(answer(1)) is False


def test_choosing_docker_without_an_engine_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("s3batch.batch.docker.engine_available", lambda: False)
    with pytest.raises(ConfigError, match="no Docker engine"):
        DockerRunner(FakeClock(datetime(2026, 11, 28, tzinfo=UTC)))


def test_a_variable_the_job_sets_reaches_the_container_even_if_the_host_has_one() -> None:
    """TZ or HOME set by the job definition (or a secret) is the job's, not the host's."""
    env = JobEnvironment(
        "http://127.0.0.1:1", "k", "s", "us-east-1",
        base={"PATH": "/usr/bin", "HOME": "/root", "TZ": "UTC"},
    )  # fmt: skip
    container = ContainerDetail(
        command=("date",), environment=(("TZ", "Europe/Paris"),), vcpus=1, memory=512,
        image="alpine", secrets=(("HOME", "arn:aws:secretsmanager:us-east-1:1:secret:h"),),
    )  # fmt: skip
    job = Job(
        id="j", name="j", arn="arn", queue="q", queue_arn="qa", definition_arn="d",
        status=JobStatus.STARTING, status_reason=None, parameters={}, container=container,
        created_at=0,
    )  # fmt: skip
    launch = env.launch(job, 1, "/aws/batch/job", "s")
    argv = docker_argv(launch)
    passed = {argv[i + 1] for i, a in enumerate(argv) if a == "-e"}
    assert {"TZ", "HOME", "AWS_BATCH_JOB_ID"} <= passed and "PATH" not in passed
    assert launch.env["TZ"] == "Europe/Paris"
