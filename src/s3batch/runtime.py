"""The composition root: build the state store and services from settings, and recover."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from s3batch.clock import Clock, SystemClock
from s3batch.config import Settings
from s3batch.credentials import Credentials, resolve
from s3batch.objectstore.blobs import FileBlobStore
from s3batch.objectstore.multipart import Multipart
from s3batch.objectstore.service import ObjectStore
from s3batch.stack.model import Stack, load
from s3batch.state.db import Database

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Every service of one s3batch server, wired together."""

    settings: Settings
    db: Database
    objects: ObjectStore
    multipart: Multipart
    credentials: list[Credentials]
    generated_credentials: bool
    clock: Clock
    ready: bool = False

    @classmethod
    def build(cls, settings: Settings, clock: Clock | None = None) -> Runtime:
        """Open (or create) the data dir, recover from any crash, and apply the stack."""
        clock = clock or SystemClock()
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        stack = load(settings.stack_file) if settings.stack_file else Stack()
        db = Database(data_dir / "state.db")
        objects = ObjectStore(db, FileBlobStore(data_dir / "blobs"), clock)
        objects.recover()
        configured = list(stack.credentials)
        if settings.access_key_id and settings.secret_access_key:
            configured.append(Credentials(settings.access_key_id, settings.secret_access_key))
        creds, generated = resolve(data_dir, configured)
        runtime = cls(settings, db, objects, Multipart(objects), creds, generated, clock)
        runtime.apply(stack)
        return runtime

    def apply(self, stack: Stack) -> None:
        """Create what the stack declares and is missing."""
        for bucket in stack.buckets:
            self.objects.ensure_bucket(
                bucket.name, self.settings.region, bucket.eventbridge_enabled
            )

    def close(self) -> None:
        """Release the state store."""
        self.ready = False
        self.db.close()
