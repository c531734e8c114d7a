"""How a load shows its progress: plain lines in a job log, a progress bar in a terminal.

A load always reports in lines (:data:`~s3batch.loader.sinks.Echo`): what it does, a
progress line every few seconds (rows, rows/s), a final line per target. Those lines are
the job log when the loader runs as a Batch job, so they stay plain text. Run by hand in a
terminal, the same lines scroll above a `rich` progress bar of the object's download
(bytes, speed, time left), which is fed by watching the S3 body as the load reads it:
the load itself does not know which display it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from s3batch.loader.job import Clients, S3Client

if TYPE_CHECKING:  # rich is imported only to draw a bar (a job's log never has one)
    from rich.console import Console
    from rich.progress import Progress, TaskID


class Display(Protocol):
    """Where a load's lines go, and what watches its download."""

    def echo(self, line: str) -> None:
        """Show one line."""
        ...

    def watch(self, clients: Clients) -> Clients:
        """The clients the load should use (the display may watch the S3 body)."""
        ...

    def __enter__(self) -> Display: ...

    def __exit__(self, *exc: object) -> None: ...


def display_for(stream: TextIO) -> Display:
    """A progress bar when ``stream`` is a terminal, else plain lines."""
    if not stream.isatty():
        return Lines(stream)
    from rich.console import Console

    return Bar(Console(file=stream))


class Lines:
    """Plain lines, flushed one by one (a job log)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def echo(self, line: str) -> None:
        """Print the line."""
        print(line, file=self.stream, flush=True)

    def watch(self, clients: Clients) -> Clients:
        """The clients, unchanged."""
        return clients

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Bar:
    """The lines above a progress bar of the download, on a rich console."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=console,
        )  # fmt: skip

    def echo(self, line: str) -> None:
        """Print the line above the bar (as text: no markup, no highlighting)."""
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def watch(self, clients: Clients) -> Clients:
        """The clients, with the S3 body read through the bar."""
        return Clients(_WatchedS3(clients.s3, self.progress), clients.secrets)

    def __enter__(self) -> Bar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class _WatchedS3:
    """An S3 client whose ``get_object`` bodies advance a progress bar as they are read."""

    def __init__(self, s3: S3Client, progress: Progress) -> None:
        self.s3, self.progress = s3, progress

    def get_object(self, *, Bucket: str, Key: str) -> Mapping[str, Any]:  # noqa: N803 - boto3's names
        """The object, with its body watched."""
        response = self.s3.get_object(Bucket=Bucket, Key=Key)
        size = response.get("ContentLength")
        task = self.progress.add_task(f"s3://{Bucket}/{Key}", total=size)
        return {**response, "Body": _WatchedBody(response["Body"], self.progress, task)}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> object:  # noqa: N803
        """Store an object."""
        return self.s3.put_object(Bucket=Bucket, Key=Key, Body=Body, ContentType=ContentType)


class _WatchedBody:
    """A body that advances its task by the bytes read."""

    def __init__(self, body: Any, progress: Progress, task: TaskID) -> None:
        self._body, self._progress, self._task = body, progress, task

    def read(self, n: int = -1) -> bytes:
        data: bytes = self._body.read(n)
        self._progress.advance(self._task, len(data))
        return data

    def close(self) -> None:
        self._body.close()
