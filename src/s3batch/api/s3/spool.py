"""Hash and write a large upload body in a worker thread while the event loop receives it.

The loop batches incoming pieces into 1 MiB writes and queues them; a worker thread
feeds each batch to the digests and the blob (hashlib and zlib release the GIL on large
buffers, so this uses the second core). At most :data:`MAX_PENDING` bytes wait in the
queue: beyond that the loop stops reading, and TCP pushes back on the client.
"""

from __future__ import annotations

import asyncio
import queue

from starlette.concurrency import run_in_threadpool

from s3batch.objectstore.blobs import BlobWriter
from s3batch.objectstore.checksums import BodyDigest

#: Size of one hand-over to the worker.
BATCH = 1024 * 1024
#: Most bytes queued for the worker before the loop waits.
MAX_PENDING = 16 * 1024 * 1024


class Spool:
    """A body on its way to a blob, hashed on the way."""

    def __init__(self, digest: BodyDigest, writer: BlobWriter) -> None:
        self._digest = digest
        self._writer = writer
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending = 0
        self._room = asyncio.Event()
        self._worker = asyncio.ensure_future(run_in_threadpool(self._drain))

    async def write(self, data: bytes) -> None:
        """Queue the next piece of the body."""
        self._batch.append(data)
        self._batched += len(data)
        if self._batched >= BATCH:
            await self._hand_over()

    async def _hand_over(self) -> None:
        if not self._batch:
            return
        piece = b"".join(self._batch)
        self._batch.clear()
        self._batched = 0
        while self._pending > MAX_PENDING and not self._worker.done():
            self._room.clear()
            await self._room.wait()
        self._pending += len(piece)
        self._queue.put(piece)

    async def close(self) -> None:
        """Wait until every byte is hashed and written. Raises what the worker raised."""
        try:
            await self._hand_over()
        finally:
            self._queue.put(None)
            await self._worker

    def _drain(self) -> None:
        while (piece := self._queue.get()) is not None:
            self._digest.update(piece)
            self._writer.write(piece)
            self._loop.call_soon_threadsafe(self._done, len(piece))

    def _done(self, size: int) -> None:
        self._pending -= size
        if self._pending <= MAX_PENDING:
            self._room.set()
