"""Run the server: build the runtime, serve the API with uvicorn, stop cleanly on a signal."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from starlette.concurrency import run_in_threadpool

from s3batch.api.app import DASHBOARD, ApiApp, Protocol
from s3batch.api.auth import Authenticator
from s3batch.api.batch import BatchProtocol
from s3batch.api.cloudtrail import CloudTrailProtocol
from s3batch.api.eventbridge import EventBridgeProtocol
from s3batch.api.logs import LogsProtocol
from s3batch.api.s3.call import S3Services
from s3batch.api.s3.routes import S3Protocol
from s3batch.api.secretsmanager import SecretsManagerProtocol
from s3batch.config import Settings
from s3batch.credentials import CREDENTIALS_FILE
from s3batch.runtime import Runtime
from s3batch.web.app import dashboard_app
from s3batch.web.security import LOOPBACK

logger = logging.getLogger(__name__)

#: Locked by a running ``s3batch up`` for as long as it runs (the kernel drops the lock when
#: the process ends, however it ends). It names the holder's pid.
LOCK_FILE = "up.lock"


def banner(runtime: Runtime, endpoint: str) -> str:
    """What ``up`` prints once it is ready: the endpoint, the key, how to use it."""
    creds = runtime.credentials[0]
    settings = runtime.settings
    if runtime.generated_credentials:
        secret = f"{creds.secret_access_key}   (generated; kept in {settings.data_dir / CREDENTIALS_FILE})"
    else:
        secret = "(as configured; not shown)"
    return "\n".join(
        [
            f"s3batch is up at {endpoint}",
            f"  dashboard          {endpoint}{DASHBOARD}/"
            + ("   (sign in with the access key)" if runtime.settings.host not in LOOPBACK else ""),
            f"  access key id      {creds.access_key_id}",
            f"  secret access key  {secret}",
            f"  region             {settings.region}",
            f"  data dir           {settings.data_dir}",
            "",
            "Point the aws CLI and boto3 at it:",
            f"  export AWS_ENDPOINT_URL={endpoint} AWS_ACCESS_KEY_ID={creds.access_key_id}"
            f" AWS_SECRET_ACCESS_KEY=<secret> AWS_DEFAULT_REGION={settings.region}",
            '  (or: eval "$(s3batch env --data-dir DIR)")',
            "  aws s3 mb s3://my-bucket && aws s3 cp file.csv s3://my-bucket/",
        ]
    )


def make_server(runtime: Runtime) -> uvicorn.Server:
    """A uvicorn server for the runtime's API (not yet started)."""
    auth = Authenticator(runtime.credentials, runtime.clock)
    services = runtime.services
    protocols: dict[str, Protocol] = {
        "s3": S3Protocol(S3Services(services.objects, services.multipart), auth),
        "secretsmanager": SecretsManagerProtocol(services.secrets, auth),
        "logs": LogsProtocol(services.logs, auth),
        "events": EventBridgeProtocol(services.bus, auth),
        "cloudtrail": CloudTrailProtocol(services.trails, auth),
        "batch": BatchProtocol(
            services.batch,
            auth,
            runtime.settings.min_timeout_seconds,
            on_submit=lambda: runtime.engine.submitted() if runtime.engine is not None else None,
        ),
    }
    server: uvicorn.Server | None = None

    def ready() -> bool:
        return runtime.ready and server is not None and server.started

    settings = runtime.settings
    web = dashboard_app(services, runtime.credentials, settings.host, settings.region)
    app = ApiApp(protocols, auth, ready, web)
    config = uvicorn.Config(
        app,
        host=runtime.settings.host,
        port=runtime.settings.port,
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=30,
        log_config=None,
    )
    server = uvicorn.Server(config)
    return server


def check_port_free(host: str, port: int) -> None:
    """Fail early with a clear message when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn binds: TIME_WAIT is fine
        try:
            s.bind((host, port))
        except OSError as exc:
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


@contextmanager
def _signals_end_quietly() -> Iterator[None]:
    """Let uvicorn handle SIGINT/SIGTERM, then exit 0 instead of dying by the re-raised signal."""
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def data_dir_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data dir for one server. Raises OSError when another ``up`` holds it.

    A second server on the same data dir would take the first one's running jobs for
    orphans of a crash and kill them, sweep the blobs it is writing, and stop its
    embedded PostgreSQL when it stops.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "pid unknown"
            raise OSError(
                f"{data_dir} is in use by another s3batch up ({holder}): "
                "stop it first, or give this one another --data-dir"
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        yield


def serve(settings: Settings, announce: Callable[[str], None]) -> None:
    """Run until SIGINT/SIGTERM; the state store is closed on the way out."""
    check_port_free(settings.host, settings.port)
    with data_dir_lock(settings.data_dir):
        _serve(settings, announce)


def _serve(settings: Settings, announce: Callable[[str], None]) -> None:
    runtime = Runtime.build(settings)
    try:
        server = make_server(runtime)
        endpoint = runtime.endpoint
        original = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            # Listen first, then start databases and loops: jobs recovered at start-up
            # must find the endpoint up. Health answers 200 only once this is done.
            await original(sockets)
            if server.started:
                await run_in_threadpool(runtime.start)
                announce(banner(runtime, endpoint))

        server.startup = startup  # type: ignore[method-assign]
        with _signals_end_quietly():
            server.run()
    finally:
        runtime.stop()
        logger.info("stopped", extra={"action": "stop"})
