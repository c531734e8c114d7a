"""The load job: fetch an S3 object, check every row, then load the table in every target.

The order guarantees that a bad file changes nothing: targets are resolved first (so a
wrong secret fails fast), then the object is requested from S3 and streamed to a local
file on a thread (gunzipped when its key ends in ``.gz`` or its Content-Encoding is
gzip; :mod:`s3batch.loader.download`) while every target is opened (connected, table
created or checked, ledger consulted, in an open transaction). Each target's work runs
in its own transaction; all targets stage their rows, then all swap, then all commit,
and no target swaps before the whole object is here and known good, so a failure at any
step before the commits leaves every target as it was. A target whose ledger already
holds this ``append`` is skipped; when every target is, the object is not read further.

Rows are checked one of two ways. The fast path, for CSV files in the forms
:mod:`s3batch.loader.fastcheck` knows: the targets get the file itself and parse it in C
(PostgreSQL's COPY as it downloads, the others once it is complete), while a thread
matches every line against the table's pattern; no target swaps the rows in before every
line matched. The checked path: once the object is complete, the row checker reads every
field in Python and writes the canonical rows to a spool; bad rows, up to the table's
``max_errors``, are written next to the object as ``<key>.rejects.csv``. The checked path
runs when a line does not match, and when a target fails on the fast path for any reason
while a line does not match, or refuses a value (:class:`~s3batch.loader.errors.RowsRefused`):
every target is rolled back, then the file is checked and loaded again. So a bad row is
always reported by line, column and reason, as if every row had been checked first.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from s3batch.loader.connections import SecretsClient, Target, fetch_target
from s3batch.loader.download import PROGRESS_SECONDS, Download, human_size
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
from s3batch.loader.rejects import REJECTS_OF, REJECTS_SUFFIX, Rejects, rejects_key
from s3batch.loader.sinks import Echo, Sink, open_sink
from s3batch.loader.spool import Spool
from s3batch.loader.tables import TableDef

#: What the job log says when the targets get the object itself.
FAST_PATH = "The targets copy the rows of {url} as it downloads, and every line is checked"
#: Rows between looks at the clock (looking at every row would cost time).
PROGRESS_ROWS = 65536
#: Name of the object's local copy in the load's temporary directory.
OBJECT_FILE = "object"

#: Makes the sink for a target (tests substitute in-memory sinks).
SinkFactory = Callable[[Target, TableDef, Echo], Sink]


class S3Client(Protocol):
    """The S3 calls the loader makes (a boto3 client has them)."""

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's names
        """Return the object, with a readable ``Body``."""
        ...

    def put_object(  # boto3's names
        self,
        *,
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        Body: bytes,  # noqa: N803
        ContentType: str,  # noqa: N803
        Metadata: Mapping[str, str],  # noqa: N803
    ) -> object:
        """Store an object (the rejects file)."""
        ...

    def head_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803
        """An object's headers, its user ``Metadata`` among them (the rejects file's)."""
        ...

    def delete_object(self, *, Bucket: str, Key: str) -> object:  # noqa: N803
        """Remove an object (a rejects file an earlier load left)."""
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
        echo(f"Copying data from S3 {request.url} into {request.table.name}")
        scan = Scan.of(request.table)
        download = Download.begin(
            clients.s3, request.bucket, request.key, Path(tmp) / OBJECT_FILE, scan, echo
        )
        pool.submit(download.run)
        try:
            rows = _Rows(request, clients.s3, download, scan, pool, echo)
            try:
                written = _write(sinks, rows, echo)
            except TargetError as exc:
                if not rows.refused(exc):
                    raise
                echo(f"{exc}; checking every row of the file in Python")
                sinks, rows = new_sinks(), rows.checked()
                written = _write(sinks, rows, echo)
        finally:
            download.cancel()  # an early failure does not wait for the rest of the object
    labels = tuple(sink.label for sink in sinks)
    if len(written.skipped) == len(sinks):  # every ledger holds this append: nothing read
        return LoadResult(
            0, 0, labels, time.monotonic() - started,
            skipped=tuple(written.skipped), target_seconds=tuple(written.seconds),
        )  # fmt: skip
    source = rows.source
    if not len(source.rejects):
        _remove_stale_rejects(request, clients.s3, echo)
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


class _Rows:
    """The rows of one load, as the targets get them: the fast path, or the checked one.

    On the fast path (a CSV file :class:`Scan` may take), the targets get the object
    itself, PostgreSQL's COPY while it still downloads; a thread then matches every line
    (:meth:`scanned`), and nothing is swapped in before it did. Otherwise (another format,
    a header in another order, or :meth:`checked` after the fast path failed), every row
    is read in Python once the whole object is here, into a spool beside it.
    """

    def __init__(
        self, request: LoadRequest, s3: S3Client, download: Download, scan: Scan | None,
        pool: ThreadPoolExecutor, echo: Echo,
    ) -> None:  # fmt: skip
        self.request, self._s3, self._download, self._echo = request, s3, download, echo
        self._scan, self._pool = scan, pool
        self._scanning: Future[bool] | None = None
        self._source: _Source | None = None
        self._checked = False
        #: Whether the targets get the object itself (decided by :meth:`spool`).
        self.fast = scan is not None

    def identity(self) -> LedgerEntry:
        """The ledger entry with what is known before the rows are: which version of what."""
        return self._entry(0, 0)

    def spool(self) -> Spool:
        """The spool to stage: the object as it arrives, or its rows checked. Raises LoaderError."""
        download, scan = self._download, self._scan
        if self._checked:
            return self.source.spool
        if scan is not None:
            download.wait_for_line()
            scan.head(download.path)
            self.fast = scan.ok
        if not self.fast:
            return self.checked().source.spool
        assert scan is not None
        self._scanning = self._pool.submit(scan.check, download.path)  # runs once downloaded
        self._echo(FAST_PATH.format(url=self.request.url))
        return Spool.unchecked(download.path, 0, self.request.table, scan.offset, download)

    def complete(self, spool: Spool) -> None:
        """Wait for the whole object; then the spool's rows are counted. Raises SourceError."""
        if self._source is not None:
            return
        self._download.wait()
        assert self._scan is not None
        spool.rows = self._scan.rows
        self._source = _Source(self._download.version, self._download.size, spool, Rejects(0))
        self._echo(
            f"Downloaded {self.request.url} ({human_size(self._download.size)}), {spool.rows} rows"
        )

    def ready(self) -> None:
        """Wait until every line is known good. Raises RowsRefused if a line does not match."""
        if not self.fast:
            return  # checked in Python
        if not self.scanned():
            raise RowsRefused("a line of the file is not in a form every target reads alike")
        self._echo(f"{self.source.spool.rows} rows are valid")

    def scanned(self) -> bool:
        """Whether every line of the object matched (False if it was not scanned)."""
        return self._scanning is not None and self._scanning.result()

    def refused(self, exc: TargetError) -> bool:
        """Whether a failure on the fast path may come from the file, so that checking
        every row in Python finds the bad one: a value a target refused, or a line the
        scan did not match (the failure came after the targets began copying)."""
        if not self.fast:
            return False
        return isinstance(exc, RowsRefused) or (self._scanning is not None and not self.scanned())

    def entry(self) -> LedgerEntry:
        """The ledger row of the load. Raises EmptyFile if it would empty a replaced table."""
        table, spool = self.request.table, self.source.spool
        if not spool.rows and table.mode == "replace" and not table.allow_empty:
            raise EmptyFile(
                f"{self.request.url} has no rows: replace would empty table {table.name}; "
                "pass --allow-empty to do that on purpose"
            )
        return self._entry(spool.rows, len(self.source.rejects))

    @property
    def source(self) -> _Source:
        """The object as read (once the spool is complete)."""
        assert self._source is not None, "the rows are not complete yet"
        return self._source

    def checked(self) -> _Rows:
        """The rows read and checked in Python, into a spool beside the object. Raises LoaderError."""
        self._download.wait()
        self.fast, self._scanning = False, None
        request = self.request
        rejects, path = Rejects(request.table.max_errors), self._download.path
        try:
            with open(path, "rb") as raw:
                rows = _progress(read_rows(raw, request.table, rejects), self._echo)
                spool = Spool.write(path.with_name("rows.csv"), rows)
        except BadRow:
            _save_rejects(request, self._s3, rejects, self._download.version, self._echo)
            raise
        except LoaderError:
            raise
        except Exception as exc:  # a file that is not Parquet, disk full
            raise SourceError(f"reading the rows of {request.url} failed: {exc}") from exc
        size = self._download.size
        self._echo(f"Downloaded {request.url} ({human_size(size)}), {spool.rows} rows are valid")
        _save_rejects(request, self._s3, rejects, self._download.version, self._echo)
        self._source, self._checked = _Source(self._download.version, size, spool, rejects), True
        return self

    def _entry(self, rows: int, rejected: int) -> LedgerEntry:
        r = self.request
        return LedgerEntry(
            r.bucket, r.key, self._download.version, r.table.name, r.table.mode,
            datetime.now(UTC).replace(tzinfo=None), r.job_id, rows, rejected, r.force,
        )  # fmt: skip


def _save_rejects(
    request: LoadRequest, s3: S3Client, rejects: Rejects, version: str, echo: Echo
) -> None:
    if not len(rejects):
        return
    for line in rejects.summary():
        echo(line)
    key = rejects_key(request.key)
    try:
        s3.put_object(
            Bucket=request.bucket,
            Key=key,
            Body=rejects.to_csv(),
            ContentType="text/csv",
            Metadata={REJECTS_OF: version},
        )
    except Exception as exc:  # the rejects file is a report: failing to write it fails nothing
        echo(f"could not write the rejects to s3://{request.bucket}/{key}: {exc}")
        return
    echo(f"rejected rows written to s3://{request.bucket}/{key}")


def _remove_stale_rejects(request: LoadRequest, s3: S3Client, echo: Echo) -> None:
    """Remove the rejects file an earlier load of the key wrote (this one rejected no row).

    Only a file the loader wrote (its :data:`REJECTS_OF` metadata) is removed; like writing
    it, removing it is best effort and fails nothing.
    """
    key = rejects_key(request.key)
    url = f"s3://{request.bucket}/{key}"
    try:
        head = s3.head_object(Bucket=request.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
            echo(f"could not look for an earlier rejects file {url}: {exc}")
        return  # none: the usual case
    except Exception as exc:  # an unreachable endpoint, say: the load itself is done
        echo(f"could not look for an earlier rejects file {url}: {exc}")
        return
    earlier = head.get("Metadata", {}).get(REJECTS_OF)
    if earlier is None:
        return  # not written by the loader: not ours to remove
    try:
        s3.delete_object(Bucket=request.bucket, Key=key)
    except Exception as exc:
        echo(f"could not remove {url}, the rejects of an earlier version: {exc}")
        return
    echo(f"removed {url}, the rejects of version {earlier}: this load rejected no row")


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


def _write(sinks: list[Sink], rows: _Rows, echo: Echo) -> _Written:
    """Load every sink; which were skipped (their ledger has this append), seconds per sink.

    Every sink is opened first (while the object downloads), then each stages the rows (a
    sink that streams, as they arrive; the others once the object is complete); none
    swaps them in before they are known good (:meth:`_Rows.ready`).
    """
    written = _Written([], [0.0] * len(sinks))
    identity = rows.identity()
    with ExitStack() as stack:
        active = []
        for i, sink in enumerate(sinks):
            stack.callback(sink.close)
            with written.timing(i):
                if sink.open(identity):
                    active.append((i, sink))
                else:
                    written.skipped.append(sink.label)
        if not active:  # the rest of the object is not read (the download is cancelled)
            return written
        spool = rows.spool()
        for i, sink in active:
            if not sink.streams:
                rows.complete(spool)
            with written.timing(i):
                sink.stage(spool)
        rows.complete(spool)
        rows.ready()
        entry = rows.entry()
        for i, sink in active:
            with written.timing(i):
                sink.swap(entry)
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
