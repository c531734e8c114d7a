"""The load job: fetch an S3 object, check every row, then replace the table in every target.

The order guarantees that a bad file changes nothing: targets are resolved first (so a
wrong secret fails fast), the whole object is streamed from S3, checked row by row and
parked in a local spool, and only then are targets touched. Each target's work runs in
its own transaction; all targets stage their rows, then all swap, then all commit, so a
failure at any step before the commits leaves every target as it was.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from s3batch.loader.connections import SecretsClient, Target, fetch_target
from s3batch.loader.errors import LoaderError, PartialCommit, SourceError
from s3batch.loader.readers import read_rows
from s3batch.loader.sinks import Echo, Sink, open_sink
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: Makes the sink for a target (tests substitute in-memory sinks).
SinkFactory = Callable[[Target, TableDef, Echo], Sink]


class S3Client(Protocol):
    """The one S3 call the loader makes (a boto3 client has it)."""

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's names
        """Return the object, with a readable ``Body``."""
        ...


@dataclass(frozen=True)
class Clients:
    """The AWS clients a load uses."""

    s3: S3Client
    secrets: SecretsClient


@dataclass(frozen=True)
class LoadRequest:
    """What to load where."""

    bucket: str
    key: str
    table: TableDef
    targets: Sequence[str]

    @property
    def url(self) -> str:
        """The object as an ``s3://`` URL."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class LoadResult:
    """What a successful load did."""

    rows: int
    size: int
    targets: tuple[str, ...]
    seconds: float


def load(
    request: LoadRequest, clients: Clients, echo: Echo, make_sink: SinkFactory = open_sink
) -> LoadResult:
    """Load the object into every target, all or nothing. Raises LoaderError."""
    started = time.monotonic()
    targets = [fetch_target(clients.secrets, secret_id) for secret_id in request.targets]
    sinks = [make_sink(target, request.table, echo) for target in targets]  # not connected yet
    with tempfile.TemporaryDirectory(prefix="s3batch-load-") as tmp:
        spool, size = _download(request, clients.s3, Path(tmp) / "rows.csv", echo)
        _write(sinks, spool, echo)
    labels = tuple(sink.label for sink in sinks)
    return LoadResult(spool.rows, size, labels, time.monotonic() - started)


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


def _download(request: LoadRequest, s3: S3Client, path: Path, echo: Echo) -> tuple[Spool, int]:
    echo(f"Copying data from S3 {request.url} into {request.table.name}")
    try:
        body = s3.get_object(Bucket=request.bucket, Key=request.key)["Body"]
    except Exception as exc:  # botocore's ClientError, connection and credential errors
        raise SourceError(f"cannot read {request.url}: {exc}") from exc
    counter = _Counting(body)
    try:
        spool = Spool.write(path, read_rows(counter, request.table))
    except LoaderError:
        raise
    except Exception as exc:  # the connection broke while streaming, or the disk is full
        raise SourceError(f"copying {request.url} to a local spool failed: {exc}") from exc
    finally:
        body.close()
    echo(f"Downloaded {request.url} ({human_size(counter.size)}), {spool.rows} rows are valid")
    return spool, counter.size


class _Counting:
    """Counts the bytes read from a stream."""

    def __init__(self, body: Any) -> None:
        self._body, self.size = body, 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._body.read(n)
        self.size += len(data)
        return data


def _write(sinks: list[Sink], spool: Spool, echo: Echo) -> None:
    with ExitStack() as stack:
        for sink in sinks:
            stack.callback(sink.close)
            sink.open()
            sink.stage(spool)
        for sink in sinks:
            sink.swap()
        for i, sink in enumerate(sinks):
            try:
                sink.commit()
            except LoaderError as exc:
                if i == 0:
                    raise
                done = ", ".join(s.label for s in sinks[:i])
                raise PartialCommit(f"{exc} (already committed: {done})") from exc
            echo(f"COMMIT {sink.label}")
