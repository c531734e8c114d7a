"""Test doubles for blob writers."""

from __future__ import annotations

from s3batch.objectstore.blobs import BlobWriter


class SpyWriter:
    """A BlobWriter that records whether it was committed or aborted."""

    def __init__(self, inner: BlobWriter) -> None:
        self.inner = inner
        self.state = "open"

    def write(self, data: bytes | memoryview) -> None:
        self.inner.write(data)

    def commit(self) -> str:
        self.state = "committed"
        return self.inner.commit()

    def abort(self) -> None:
        self.state = "aborted"
        self.inner.abort()
