"""The composition root: build every service from settings, apply the stack, run the loops.

Nothing else imports more than one domain. ``Runtime.build`` opens the data dir and
recovers from any crash; ``start`` starts the embedded databases (when the stack asks for
them), publishes their secrets and starts the pipeline loop (trail relay + event bus) and
the batch engine; ``stop`` stops running jobs and records them, then the databases.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml

from s3batch.batch.docker import DockerRunner
from s3batch.batch.engine import WINDOW, BatchEngine
from s3batch.batch.runner import JobEnvironment, ProcessRunner
from s3batch.batch.service import BatchService
from s3batch.batch.target import BatchJobTarget
from s3batch.clock import Clock, SystemClock
from s3batch.config import Settings
from s3batch.credentials import Credentials, resolve
from s3batch.embedded.duckdb import warehouse_secret
from s3batch.embedded.postgres import EmbeddedPostgres
from s3batch.events.dispatcher import Dispatcher
from s3batch.events.http_target import HttpTarget
from s3batch.events.logs_target import LogGroupTarget
from s3batch.events.scheduler import Scheduler
from s3batch.events.service import EventBus
from s3batch.events.targets import Target
from s3batch.logs.service import Logs
from s3batch.objectstore.blobs import FileBlobStore
from s3batch.objectstore.multipart import Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.secrets.service import Secrets
from s3batch.stack.model import Stack, default, load
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.trail.service import Trails

logger = logging.getLogger(__name__)

#: Seconds the pipeline loop sleeps when nothing moved (a write wakes it at once).
PIPELINE_INTERVAL = 0.2
#: How often the pipeline drops acknowledged outbox rows, and how long it keeps them.
OUTBOX_PRUNE_EVERY, OUTBOX_KEEP = 60.0, timedelta(hours=1)
#: Environment variables jobs inherit from the server (everything else is AWS Batch's).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL")
#: File in the data dir holding the stack's table definitions, handed to loader jobs.
TABLES_FILE = "tables.yaml"


@dataclass
class Services:
    """The domain services of one server."""

    objects: ObjectStore
    multipart: Multipart
    trails: Trails
    bus: EventBus
    batch: BatchService
    logs: Logs
    secrets: Secrets


def open_services(settings: Settings, db: Database, clock: Clock) -> Services:
    """Build the domain services over an open state store (no loops, no side effects)."""
    region, account = settings.region, settings.account_id
    objects = ObjectStore(db, FileBlobStore(settings.data_dir / "blobs"), clock, account)
    return Services(
        objects=objects,
        multipart=Multipart(objects),
        trails=Trails(db, clock, region, account),
        bus=EventBus(db, clock, region, account),
        batch=BatchService(db, clock, region, account),
        logs=Logs(db, clock, region, account),
        secrets=Secrets(db, clock, region, account),
    )


def open_state(settings: Settings, clock: Clock | None = None) -> tuple[Database, Services]:
    """Open the data dir's state for reading (the CLI's ``jobs`` and ``logs`` commands)."""
    db = Database(settings.data_dir / "state.db")
    return db, open_services(settings, db, clock or SystemClock())


@dataclass
class Runtime:
    """Every service of one s3batch server, wired together."""

    settings: Settings
    db: Database
    services: Services
    stack: Stack
    credentials: list[Credentials]
    generated_credentials: bool
    clock: Clock
    ready: bool = False
    engine: BatchEngine | None = None
    postgres: EmbeddedPostgres | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _wake: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        """Open (or create) the data dir, recover from any crash, apply the stack."""
        clock = clock or SystemClock()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(settings.data_dir, 0o700)
        stack = (
            load(settings.stack_file, settings.environ)
            if settings.stack_file
            else default(settings.environ)
        )
        db = Database(settings.data_dir / "state.db")
        services = open_services(settings, db, clock)
        services.objects.recover()
        configured = list(stack.credentials)
        if settings.access_key_id and settings.secret_access_key:
            configured.append(Credentials(settings.access_key_id, settings.secret_access_key))
        creds, generated = resolve(settings.data_dir, configured)
        runtime = cls(settings, db, services, stack, creds, generated, clock)
        runtime.apply(stack)
        return runtime

    @property
    def objects(self) -> ObjectStore:
        """The object store (the S3 API's service)."""
        return self.services.objects

    @property
    def multipart(self) -> Multipart:
        """Multipart uploads (the S3 API's service)."""
        return self.services.multipart

    @property
    def endpoint(self) -> str:
        """The URL jobs and clients on this machine reach the server at."""
        return self.settings.endpoint

    def apply(self, stack: Stack) -> None:
        """Create or update what the stack declares (secrets of embedded databases come at start)."""
        s, region = self.services, self.settings.region
        for bucket in stack.buckets:
            s.objects.ensure_bucket(bucket.name, region, bucket.eventbridge_enabled)
        for trail in stack.trails:
            s.trails.ensure(trail)
        for secret in stack.secrets:
            if secret.secret_string is not None:
                s.secrets.ensure(secret.name, secret.secret_string, secret.description)
        for ce in stack.compute_environments:
            s.batch.ensure_compute_environment(ce)
        for queue in stack.job_queues:
            s.batch.ensure_job_queue(queue)
        for definition in stack.job_definitions:
            s.batch.ensure_job_definition(definition)
        for rule in stack.rules:
            s.bus.put_rule(
                {k: v for k, v in rule.items() if k != "Targets"}, rule.get("Targets", [])
            )
        tables = self.settings.data_dir / TABLES_FILE
        tables.write_text(yaml.safe_dump({"tables": stack.tables_doc}, sort_keys=False))

    def _start_databases(self) -> None:
        for secret in self.stack.secrets:
            if secret.embedded == "postgres":
                if self.postgres is None:
                    self.postgres = EmbeddedPostgres(self.settings.data_dir)
                    logger.info(
                        "starting embedded PostgreSQL", extra={"action": "embedded_postgres"}
                    )
                value = self.postgres.start()
            elif secret.embedded == "duckdb":
                value = warehouse_secret(self.settings.data_dir)
            else:
                continue
            self.services.secrets.ensure(secret.name, json.dumps(value), secret.description)

    def job_environment(self) -> JobEnvironment:
        """What every job gets: this endpoint, a key, the region, a minimal base environment, and
        its definition's secrets from this server's Secrets Manager."""
        creds = self.credentials[0]
        base = {k: v for k, v in self.settings.environ.items() if k in INHERITED}
        base["S3BATCH_STACK_FILE"] = str((self.settings.data_dir / TABLES_FILE).resolve())
        return JobEnvironment(
            self.endpoint,
            creds.access_key_id,
            creds.secret_access_key,
            self.settings.region,
            path=(str(Path(sys.executable).parent),),
            base=base,
            secrets=self.services.secrets,
        )

    def start(self) -> None:
        """Start the databases the stack embeds and every background loop."""
        self._start_databases()
        s = self.services
        runner = (
            DockerRunner(self.clock)
            if self.settings.executor == "docker"
            else ProcessRunner(self.clock)
        )
        self.engine = BatchEngine(
            s.batch,
            runner,
            s.logs,
            self.job_environment(),
            self.clock,
            window=WINDOW,
        )
        target = BatchJobTarget(s.batch, on_submit=self.engine.submitted)
        targets: dict[str, Target] = {
            "batch": target,
            "logs": LogGroupTarget(s.logs),
            "http": HttpTarget(),
        }
        dispatcher = Dispatcher(self.db, self.clock, targets)
        s.objects.after_write = self._wake.set
        s.bus.after_write = self._wake.set
        self.engine.start()
        scheduler = Scheduler(self.db, self.clock, s.bus.region, s.bus.account_id)
        loop = threading.Thread(
            target=self._pipeline, args=(dispatcher, scheduler), name="pipeline", daemon=True
        )
        self._threads.append(loop)
        loop.start()
        self.ready = True

    def _pipeline(self, dispatcher: Dispatcher, scheduler: Scheduler) -> None:
        """Trail relay, schedules, then bus dispatch, until stopped; a failing pass is logged and retried."""
        pruned_at = 0.0
        while not self._stop.is_set():
            try:
                moved = self.services.trails.relay() + scheduler.tick() + dispatcher.tick()
                if time.monotonic() - pruned_at > OUTBOX_PRUNE_EVERY:
                    pruned_at = time.monotonic()
                    with self.db.transaction() as conn:
                        outbox.prune(conn, self.clock.now() - OUTBOX_KEEP)
            except Exception:
                logger.exception("pipeline pass failed", extra={"action": "pipeline"})
                moved = 0
            if not moved:
                self._wake.wait(PIPELINE_INTERVAL)
                self._wake.clear()

    def stop(self) -> None:
        """Stop the loops, stop and record running jobs, stop the databases, close the state."""
        self.ready = False
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=30)
        if self.engine is not None:
            self.engine.stop()
        if self.postgres is not None:
            self.postgres.stop()
        self.db.close()
