"""The Docker executor: run each attempt in the job definition's image, where an engine exists.

It is the process executor with a different argv: ``docker run`` in the foreground, so the
spawner still supervises one process group, reads the output line by line and signals it
(the Docker client proxies SIGTERM to the container). Environment values are passed by
name only (``-e NAME``): the client reads them from its own environment, so credentials
never appear on a command line. Variables that describe this host (the base environment:
PATH, HOME, TZ, ...) are not passed, unless the job sets them itself (its definition,
overrides or secrets): then the job's value is. ``--network host`` lets ``AWS_ENDPOINT_URL`` (127.0.0.1)
reach this server from inside the container, as on Linux it does for the process executor.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace

from s3batch.batch.errors import CannotStart
from s3batch.batch.runner import Handle, Launch, LogSink, ProcessRunner
from s3batch.clock import Clock
from s3batch.errors import ConfigError

#: The Docker client (found on PATH).
DOCKER = "docker"


def container_name(launch: Launch) -> str:
    """A name unique to the attempt (so a crashed server's container can be found and removed)."""
    return f"s3batch-{launch.job_id.replace(':', '-')}-{launch.attempt}"


def docker_argv(launch: Launch) -> list[str]:
    """The ``docker run`` command for one attempt. Raises CannotStart without an image."""
    if not launch.image:
        raise CannotStart("CannotStartContainerError: the job definition names no image")
    argv = [DOCKER, "run", "--rm", "--init", "--name", container_name(launch), "--network", "host"]
    argv += ["--cpus", f"{launch.vcpus:g}"]
    if launch.memory_mib:
        argv += ["--memory", f"{launch.memory_mib}m"]
    for name in sorted(set(launch.env) - launch.host):  # the host's PATH is not the image's
        argv += ["-e", name]
    if launch.cwd is not None:
        argv += ["--workdir", str(launch.cwd)]
    return [*argv, launch.image, *launch.argv]


def engine_available(
    run: Callable[..., subprocess.CompletedProcess[bytes]] = subprocess.run,
) -> bool:
    """Whether a Docker engine answers (``docker info``)."""
    if shutil.which(DOCKER) is None:
        return False
    try:
        return run([DOCKER, "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class DockerRunner(ProcessRunner):
    """Runs each attempt as ``docker run <image> <command>``."""

    def __init__(self, clock: Clock) -> None:
        if not engine_available():
            raise ConfigError(
                "S3BATCH_EXECUTOR=docker, but no Docker engine answers `docker info` here"
            )
        super().__init__(clock)

    def start(self, launch: Launch, sink: LogSink) -> Future[Handle]:
        """Start the attempt's container in the foreground."""
        return super().start(replace(launch, argv=tuple(docker_argv(launch)), cwd=None), sink)
