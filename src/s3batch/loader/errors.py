"""Why a load failed. Messages never contain a database password, nor the login user name."""

from __future__ import annotations

from s3batch.errors import S3BatchError


class LoaderError(S3BatchError):
    """The load failed."""

    code = "LoadFailed"


class LoadConfigError(LoaderError):
    """The load is not configured correctly (table, stack file, secret or driver)."""

    code = "InvalidConfiguration"


class BadRow(LoaderError):
    """A row of the file is not valid for the table; nothing was loaded."""

    code = "InvalidData"

    def __init__(self, line: int, column: str | None, reason: str) -> None:
        self.line, self.column, self.reason = line, column, reason
        where = f"line {line}" if column is None else f'line {line}, column "{column}"'
        super().__init__(f"{where}: {reason}")


class EmptyFile(LoaderError):
    """The object has no rows, and loading it would empty the table."""

    code = "EmptyFile"


class SourceError(LoaderError):
    """The object could not be read from S3."""

    code = "SourceUnavailable"


class TargetError(LoaderError):
    """A target database refused the load; it keeps its previous rows."""

    code = "TargetFailed"


class SchemaMismatch(TargetError):
    """The existing table does not match the table definition."""

    code = "SchemaMismatch"


class PartialCommit(TargetError):
    """Some targets committed the new rows and others did not."""

    code = "PartialCommit"


class DuplicateKey(TargetError):
    """A target refused the load for a primary key twice in the file (or, appending, already in the table)."""

    @staticmethod
    def scope(mode: str) -> str:
        """Where a duplicate can be, for a load in ``mode``: only an append meets the table's keys."""
        return "the file or the table" if mode == "append" else "the file"


class RowsRefused(TargetError):
    """A target refused a value of a file it parsed itself; the loader checks every row instead."""

    code = "TargetFailed"
