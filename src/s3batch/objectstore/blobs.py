"""Where object bytes live: immutable blobs, written once and made durable before use.

A blob is written through a :class:`BlobWriter`; :meth:`BlobWriter.commit` returns only
once the bytes are on disk (temp file, fsync, rename, fsync of the directory), so a
crash never leaves a half-written blob under a real id. Blobs are never modified; an
object overwrite writes a new blob and releases the old one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

#: Size of the pieces a blob is read back in.
READ_CHUNK = 1024 * 1024


class BlobWriter(Protocol):
    """A blob being written."""

    def write(self, data: bytes | memoryview) -> None:
        """Append bytes."""
        ...

    def commit(self) -> str:
        """Make the bytes durable and return the new blob's id."""
        ...

    def abort(self) -> None:
        """Throw the bytes away."""
        ...


class BlobStore(Protocol):
    """Storage for immutable blobs."""

    def writer(self) -> BlobWriter:
        """Start a new blob."""
        ...

    def read(self, blob_id: str, start: int, end: int) -> Iterator[bytes]:
        """Yield bytes ``start`` up to (not including) ``end`` of a blob."""
        ...

    def delete(self, blob_id: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def ids(self) -> set[str]:
        """Every committed blob id (for sweeping orphans)."""
        ...

    def discard_incomplete(self) -> int:
        """Remove blobs that were never committed; return how many."""
        ...


def _new_id() -> str:
    return secrets.token_hex(16)


class _FileBlobWriter:
    def __init__(self, store: FileBlobStore) -> None:
        self._store = store
        self._id = _new_id()
        self._tmp = store.root / "tmp" / self._id
        self._file = open(self._tmp, "xb", buffering=1024 * 1024)  # noqa: SIM115 - closed in commit/abort

    def write(self, data: bytes | memoryview) -> None:
        self._file.write(data)

    def commit(self) -> str:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        final = self._store.path(self._id)
        os.replace(self._tmp, final)
        self._store.sync_dir(final.parent)
        return self._id

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


class FileBlobStore:
    """Blobs as files under ``root``, fanned out over 256 directories."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        for n in range(256):
            (root / f"{n:02x}").mkdir(exist_ok=True)

    def path(self, blob_id: str) -> Path:
        """The file that holds a committed blob."""
        return self.root / blob_id[:2] / blob_id

    def sync_dir(self, directory: Path) -> None:
        """fsync a directory so a rename into it survives a power loss."""
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def writer(self) -> BlobWriter:
        """Start a new blob in the temp directory."""
        return _FileBlobWriter(self)

    def read(self, blob_id: str, start: int, end: int) -> Iterator[bytes]:
        """Yield the byte range in pieces of at most :data:`READ_CHUNK`."""
        with open(self.path(blob_id), "rb", buffering=0) as f:
            f.seek(start)
            remaining = end - start
            while remaining > 0:
                piece = f.read(min(READ_CHUNK, remaining))
                if not piece:
                    raise OSError(f"blob {blob_id} is shorter than expected")
                remaining -= len(piece)
                yield piece

    def delete(self, blob_id: str) -> None:
        """Unlink the blob's file."""
        self.path(blob_id).unlink(missing_ok=True)

    def ids(self) -> set[str]:
        """Every committed blob id."""
        return {p.name for d in self.root.iterdir() if d.name != "tmp" for p in d.iterdir()}

    def discard_incomplete(self) -> int:
        """Remove temp files left by writes that never committed."""
        leftovers = list((self.root / "tmp").iterdir())
        for p in leftovers:
            p.unlink(missing_ok=True)
        return len(leftovers)


class _MemoryBlobWriter:
    def __init__(self, store: MemoryBlobStore) -> None:
        self._store = store
        self._buffer = bytearray()

    def write(self, data: bytes | memoryview) -> None:
        self._buffer += data

    def commit(self) -> str:
        blob_id = _new_id()
        self._store.blobs[blob_id] = bytes(self._buffer)
        return blob_id

    def abort(self) -> None:
        self._buffer.clear()


class MemoryBlobStore:
    """Blobs in a dict: for tests and throwaway servers."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def writer(self) -> BlobWriter:
        """Start a new in-memory blob."""
        return _MemoryBlobWriter(self)

    def read(self, blob_id: str, start: int, end: int) -> Iterator[bytes]:
        """Yield the byte range in one piece."""
        yield self.blobs[blob_id][start:end]

    def delete(self, blob_id: str) -> None:
        """Forget the blob."""
        self.blobs.pop(blob_id, None)

    def ids(self) -> set[str]:
        """Every committed blob id."""
        return set(self.blobs)

    def discard_incomplete(self) -> int:
        """Nothing to discard: uncommitted writers hold their own buffers."""
        return 0
