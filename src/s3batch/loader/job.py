"""The load job: fetch an S3 object, check every row, then load the table in every target.

The order guarantees that a bad file changes nothing: targets are resolved first (so a
wrong secret fails fast), the whole object is streamed from S3 to a local file (gunzipped
when its key ends in ``.gz`` or its Content-Encoding is gzip), and only then are targets
touched. Each target's work runs in its own transaction; all targets stage their rows,
then all swap, then all commit, so a failure at any step before the commits leaves every
target as it was. A target whose ledger already holds this ``append`` is skipped.

Rows are checked one of two ways. The fast path, for CSV files in the forms
:mod:`s3batch.loader.fastcheck` knows: the targets get the file itself and parse it in C,
while a thread matches every line against the table's pattern; no target swaps the rows
in before every line matched. The checked path: the row checker reads every field in
Python and writes the canonical rows to a spool; bad rows, up to the table's
``max_errors``, are written next to the object as ``<key>.rejects.csv``. The checked path
runs when a line does not match, and when a target fails on the fast path for any reason
while a line does not match, or refuses a value (:class:`~s3batch.loader.errors.RowsRefused`):
every target is rolled back, then the file is checked and loaded again. So a bad row is
always reported by line, column and reason, as if every row had been checked first.
"""

from __future__ import annotations

import gzip
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from s3batch.loader.connections import SecretsClient, Target, fetch_target
from s3batch.loader.duplicates import duplicate_lines
from s3batch.loader.errors import (
    BadRow,
    EmptyFile,
    LoaderError,
    PartialCommit,
    RowsRefused,
    SourceError,
    TargetError,
)
from s3batch.loader.fastcheck import Scan
from s3batch.loader.ledger import LedgerEntry
from s3batch.loader.readers import Row, read_rows
from s3batch.loader.rejects import REJECTS_SUFFIX, Rejects, rejects_key
from s3batch.loader.sinks import Echo, Sink, open_sink
from s3batch.loader.spool import CHUNK, Spool
from s3batch.loader.tables import TableDef

#: Seconds between progress lines while a file is read.
PROGRESS_SECONDS = 5.0
#: Rows between looks at the clock (looking at every row would cost time).
PROGRESS_ROWS = 65536
#: Name of the object's local copy in the load's temporary directory.
OBJECT_FILE = "object"

#: Makes the sink for a target (tests substitute in-memory sinks).
SinkFactory = Callable[[Target, TableDef, Echo], Sink]


class S3Client(Protocol):
    """The two S3 calls the loader makes (a boto3 client has them)."""

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's names
        """Return the object, with a readable ``Body``."""
        ...

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> object:  # noqa: N803
        """Store an object (the rejects file)."""
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
    #: Append even when the ledger says this version was appended already.
    force: bool = False
    #: The Batch job's id (``AWS_BATCH_JOB_ID``), recorded in the ledger.
    job_id: str | None = None

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
    rejected: int = 0
    #: Targets skipped because their ledger already holds this append.
    skipped: tuple[str, ...] = ()
    #: Seconds spent in each target's steps, in ``targets`` order.
    target_seconds: tuple[float, ...] = ()


@dataclass(frozen=True)
class _Source:
    """The object as read: its version (VersionId, else ETag), size, spool and rejects."""

    version: str
    size: int
    spool: Spool
    rejects: Rejects


def load(
    request: LoadRequest, clients: Clients, echo: Echo, make_sink: SinkFactory = open_sink
) -> LoadResult:
    """Load the object into every target, all or nothing. Raises LoaderError."""
    started = time.monotonic()
    if skipped := _not_data(request.key):
        echo(f"{request.url} is {skipped}: not loaded")
        return LoadResult(0, 0, (), time.monotonic() - started)
    targets = [fetch_target(clients.secrets, secret_id) for secret_id in request.targets]

    def new_sinks() -> list[Sink]:
        return [make_sink(target, request.table, echo) for target in targets]

    sinks = new_sinks()  # not connected yet: a missing driver fails before the download
    with (
        tempfile.TemporaryDirectory(prefix="s3batch-load-") as tmp,
        ThreadPoolExecutor(1) as pool,
        duplicate_lines(Path(tmp) / OBJECT_FILE, request.table, echo),
    ):
        source, scan = _download(request, clients.s3, Path(tmp), echo)
        if scan is None:
            source = _check(request, clients.s3, source, echo)
            written = _write(sinks, source.spool, _entry(request, source), echo)
        else:
            scanned = pool.submit(scan.check, source.spool.path)
            try:
                ready = partial(_scanned, scanned, source.spool.rows, echo)
                written = _write(sinks, source.spool, _entry(request, source), echo, ready)
            except TargetError as exc:
                if scanned.result() and not isinstance(exc, RowsRefused):
                    raise
                echo(f"{exc}; checking every row of the file in Python")
                source = _check(request, clients.s3, source, echo)
                sinks = new_sinks()
                written = _write(sinks, source.spool, _entry(request, source), echo)
    labels = tuple(sink.label for sink in sinks)
    return LoadResult(
        source.spool.rows, source.size, labels, time.monotonic() - started,
        len(source.rejects), tuple(written.skipped), tuple(written.seconds),
    )  # fmt: skip


def _not_data(key: str) -> str | None:
    """What the object is when its key says it holds no rows to load, else None."""
    if key.endswith(REJECTS_SUFFIX):
        return "a rejects file written by the loader"
    if key.endswith("/"):  # S3 consoles create these to show folders
        return "a folder marker (its key ends in /)"
    return None


def _entry(request: LoadRequest, source: _Source) -> LedgerEntry:
    """The ledger row of the load. Raises EmptyFile if it would empty a replaced table."""
    table = request.table
    if not source.spool.rows and table.mode == "replace" and not table.allow_empty:
        raise EmptyFile(
            f"{request.url} has no rows: replace would empty table {table.name}; "
            "pass --allow-empty to do that on purpose"
        )
    return LedgerEntry(
        request.bucket, request.key, source.version, table.name, table.mode,
        datetime.now(UTC).replace(tzinfo=None), request.job_id, source.spool.rows,
        len(source.rejects), request.force,
    )  # fmt: skip


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


def _download(
    request: LoadRequest, s3: S3Client, tmp: Path, echo: Echo
) -> tuple[_Source, Scan | None]:
    """The object in a local file; the scan to run on it, if it may take the fast path."""
    echo(f"Copying data from S3 {request.url} into {request.table.name}")
    try:
        response = s3.get_object(Bucket=request.bucket, Key=request.key)
    except Exception as exc:  # botocore's ClientError, connection and credential errors
        raise SourceError(f"cannot read {request.url}: {exc}") from exc
    body, path, scan = response["Body"], tmp / OBJECT_FILE, Scan.of(request.table)
    counter = _Counting(body)
    stream: Any = counter
    if request.key.endswith(".gz") or response.get("ContentEncoding") == "gzip":
        stream = gzip.GzipFile(fileobj=counter, mode="rb")  # type: ignore[call-overload]
    try:
        with open(path, "wb") as out:
            for piece in _pieces(stream, scan, echo):
                out.write(piece)
    except Exception as exc:  # the connection broke while streaming, bad gzip, disk full
        raise SourceError(f"copying {request.url} to a local file failed: {exc}") from exc
    finally:
        body.close()
    version, rejects = _version(response), Rejects(request.table.max_errors)
    if scan is not None:
        scan.head(path)
    if scan is None or not scan.ok:
        unchecked = Spool.unchecked(path, 0, request.table, 0)  # rows are counted when checked
        return _Source(version, counter.size, unchecked, rejects), None
    spool = Spool.unchecked(path, scan.rows, request.table, scan.offset)
    echo(
        f"Downloaded {request.url} ({human_size(counter.size)}), {spool.rows} rows; "
        "the targets copy them while they are checked"
    )
    return _Source(version, counter.size, spool, rejects), scan


def _scanned(scanned: Future[bool], rows: int, echo: Echo) -> None:
    """Wait for the scan of the file. Raises RowsRefused if a line does not match."""
    if not scanned.result():
        raise RowsRefused("a line of the file is not in a form every target reads alike")
    echo(f"{rows} rows are valid")


def _check(request: LoadRequest, s3: S3Client, source: _Source, echo: Echo) -> _Source:
    """``source`` with every row of its file checked in Python, into a spool beside it."""
    rejects, path = Rejects(request.table.max_errors), source.spool.path
    try:
        with open(path, "rb") as raw:
            rows = _progress(read_rows(raw, request.table, rejects), echo)
            spool = Spool.write(path.with_name("rows.csv"), rows)
    except BadRow:
        _save_rejects(request, s3, rejects, echo)
        raise
    except LoaderError:
        raise
    except Exception as exc:  # a file that is not Parquet, disk full
        raise SourceError(f"reading the rows of {request.url} failed: {exc}") from exc
    echo(f"Downloaded {request.url} ({human_size(source.size)}), {spool.rows} rows are valid")
    _save_rejects(request, s3, rejects, echo)
    return _Source(source.version, source.size, spool, rejects)


def _version(response: Mapping[str, Any]) -> str:
    version = response.get("VersionId")
    if version and version != "null":
        return str(version)
    return str(response.get("ETag") or "").strip('"') or "unknown"


def _save_rejects(request: LoadRequest, s3: S3Client, rejects: Rejects, echo: Echo) -> None:
    if not len(rejects):
        return
    for line in rejects.summary():
        echo(line)
    key = rejects_key(request.key)
    try:
        s3.put_object(Bucket=request.bucket, Key=key, Body=rejects.to_csv(), ContentType="text/csv")
    except Exception as exc:  # the rejects file is a report: failing to write it fails nothing
        echo(f"could not write the rejects to s3://{request.bucket}/{key}: {exc}")
        return
    echo(f"rejected rows written to s3://{request.bucket}/{key}")


def _progress(rows: Iterable[Row], echo: Echo) -> Iterator[Row]:
    """``rows``, with a progress line every :data:`PROGRESS_SECONDS` (rows, rows/s)."""
    started = last = time.monotonic()
    for count, row in enumerate(rows, start=1):
        if not count % PROGRESS_ROWS:
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS:
                echo(f"read {count:,} rows ({count / (now - started):,.0f} rows/s)")
                last = now
        yield row


def _pieces(stream: Any, scan: Scan | None, echo: Echo) -> Iterator[bytes]:
    """The stream's bytes a piece at a time, with a progress line every :data:`PROGRESS_SECONDS`."""
    started = last = time.monotonic()
    size = 0
    while piece := stream.read(CHUNK):
        if scan is not None:
            scan.count(piece)
        size += len(piece)
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS:
            last, seconds = now, now - started
            if scan is None:  # rows are counted when they are checked
                echo(f"downloaded {human_size(size)} ({human_size(int(size / seconds))}/s)")
            else:
                echo(f"downloaded {scan.rows:,} rows ({scan.rows / seconds:,.0f} rows/s)")
        yield piece


class _Counting:
    """Counts the bytes read from a stream."""

    def __init__(self, body: Any) -> None:
        self._body, self.size = body, 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._body.read(n)
        self.size += len(data)
        return data


def _write(
    sinks: list[Sink], spool: Spool, entry: LedgerEntry, echo: Echo,
    ready: Callable[[], None] = lambda: None,
) -> _Written:  # fmt: skip
    """Load every sink; which were skipped (their ledger has this append), seconds per sink.

    ``ready`` runs once every sink has staged the rows, before any swaps them in.
    """
    written = _Written([], [0.0] * len(sinks))
    with ExitStack() as stack:
        active = []
        for i, sink in enumerate(sinks):
            stack.callback(sink.close)
            with written.timing(i):
                if not sink.open(entry):
                    written.skipped.append(sink.label)
                    continue
                sink.stage(spool)
            active.append((i, sink))
        ready()
        for i, sink in active:
            with written.timing(i):
                sink.swap()
        for n, (i, sink) in enumerate(active):
            try:
                with written.timing(i):
                    sink.commit()
            except LoaderError as exc:
                if n == 0:
                    raise
                done = ", ".join(s.label for _, s in active[:n])
                raise PartialCommit(f"{exc} (already committed: {done})") from exc
            echo(f"COMMIT {sink.label}")
    return written


@dataclass(frozen=True)
class _Written:
    """Targets skipped, and the seconds spent in each target's steps."""

    skipped: list[str]
    seconds: list[float]

    @contextmanager
    def timing(self, i: int) -> Iterator[None]:
        """Add the time spent in the block to target ``i``."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[i] += time.monotonic() - started
