"""An S3 object copied to a local file on a thread, which readers follow while it grows.

The load asks S3 for the object in its own thread (so a missing object or a refused
request fails at once, and the object's version is known from the response's headers),
then streams the body to a local file on a worker thread, gunzipped when the key ends in
``.gz`` or the Content-Encoding is gzip. Meanwhile the load connects to its targets, and
PostgreSQL's COPY reads the file as it arrives (:meth:`Download.follow`), so the download
and the COPY overlap. Nothing is swapped in before :meth:`Download.wait` has returned:
a download that fails makes every reader raise :class:`~s3batch.loader.errors.SourceError`.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from s3batch.loader.errors import SourceError
from s3batch.loader.fastcheck import Scan
from s3batch.loader.spool import CHUNK

#: Seconds between progress lines while the object is read.
PROGRESS_SECONDS = 5.0

#: Where progress lines go (the job log).
Echo = Callable[[str], None]


class GetObject(Protocol):
    """The S3 call a download makes (a boto3 client has it)."""

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's names
        """Return the object, with a readable ``Body``."""
        ...


class Download:
    """One object on its way to ``path``; create with :meth:`begin`, run :meth:`run` on a thread."""

    def __init__(
        self, url: str, response: Mapping[str, Any], gzipped: bool, path: Path, scan: Scan | None,
        echo: Echo,
    ) -> None:  # fmt: skip
        self.url, self.path, self.scan, self._echo = url, path, scan, echo
        #: The object's version: its VersionId, else its ETag.
        self.version = _version(response)
        self._body = response["Body"]
        self._counter = _Counting(self._body)
        self._stream: Any = self._counter
        if gzipped:
            self._stream = gzip.GzipFile(fileobj=self._counter, mode="rb")  # type: ignore[call-overload]
        self._changed = threading.Condition()
        self._written = 0
        self._lines = False
        self._done = False
        self._cancelled = False
        self._error: SourceError | None = None

    @classmethod
    def begin(
        cls, s3: GetObject, bucket: str, key: str, path: Path, scan: Scan | None, echo: Echo
    ) -> Download:
        """Ask S3 for the object (its body not read yet). Raises SourceError."""
        url = f"s3://{bucket}/{key}"
        try:
            response = s3.get_object(Bucket=bucket, Key=key)
        except Exception as exc:  # botocore's ClientError, connection and credential errors
            raise SourceError(f"cannot read {url}: {exc}") from exc
        gzipped = key.endswith(".gz") or response.get("ContentEncoding") == "gzip"
        return cls(url, response, gzipped, path, scan, echo)

    @property
    def size(self) -> int:
        """Bytes read from S3 so far (all of the object once :meth:`wait` returned)."""
        return self._counter.size

    def run(self) -> None:
        """Copy the body to the file (on a worker thread); never raises (readers do)."""
        try:
            with open(self.path, "wb", buffering=0) as out:
                for piece in self._pieces():
                    out.write(piece)
                    with self._changed:
                        self._written += len(piece)
                        self._lines = self._lines or b"\n" in piece
                        self._changed.notify_all()
        except Exception as exc:  # the connection broke while streaming, bad gzip, disk full
            self._error = SourceError(f"copying {self.url} to a local file failed: {exc}")
        finally:
            self._body.close()
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def cancel(self) -> None:
        """Stop copying (the load ended early): stop at the next piece, and close the body
        (a read stalled on S3 then ends with the connection, at the latest at the client's
        read timeout); readers then fail. Nothing happens once the object is complete."""
        with self._changed:
            if self._done:
                return
            self._cancelled = True
        self._body.close()

    def wait(self) -> None:
        """Wait until the whole object is in the file. Raises SourceError if it could not be."""
        with self._changed:
            self._changed.wait_for(lambda: self._done)
        if self._error is not None:
            raise self._error

    def wait_for_line(self) -> None:
        """Wait until the file holds a first whole line, or all the object. Raises SourceError."""
        with self._changed:
            self._changed.wait_for(lambda: self._lines or self._done)
        if self._error is not None and not self._lines:
            raise self._error

    def follow(self, offset: int) -> Iterator[bytes]:
        """The file's bytes from ``offset``, a piece at a time, as they arrive. Raises SourceError."""
        with open(self.path, "rb") as f:
            f.seek(offset)
            while True:
                piece = f.read(CHUNK)
                if piece:
                    yield piece
                    continue
                with self._changed:
                    self._changed.wait_for(lambda: self._done or self._written > f.tell())
                    done = self._done and self._written <= f.tell()
                if done:
                    break
        if self._error is not None:
            raise self._error

    def _pieces(self) -> Iterator[bytes]:
        """The body's bytes a piece at a time, with a progress line every :data:`PROGRESS_SECONDS`."""
        started = last = time.monotonic()
        size, scan = 0, self.scan
        while piece := self._stream.read(CHUNK):
            if self._cancelled:
                raise SourceError("the load ended before the object was read")
            if scan is not None:
                scan.count(piece)
            size += len(piece)
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS:
                last, seconds = now, now - started
                if scan is None:  # rows are counted when they are checked
                    self._echo(
                        f"downloaded {human_size(size)} ({human_size(int(size / seconds))}/s)"
                    )
                else:
                    self._echo(f"downloaded {scan.rows:,} rows ({scan.rows / seconds:,.0f} rows/s)")
            yield piece


def human_size(size: int) -> str:
    """A byte count as the aws CLI prints it: ``512 Bytes``, ``3.3 KiB``, ``1.2 MiB``."""
    if size < 1024:
        return f"{size} Bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


def _version(response: Mapping[str, Any]) -> str:
    version = response.get("VersionId")
    if version and version != "null":
        return str(version)
    return str(response.get("ETag") or "").strip('"') or "unknown"


class _Counting:
    """Counts the bytes read from a stream."""

    def __init__(self, body: Any) -> None:
        self._body, self.size = body, 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._body.read(n)
        self.size += len(data)
        return data
