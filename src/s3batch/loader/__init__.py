"""The loader job: load an S3 object into a table of PostgreSQL, DuckDB, SQLite, Redshift.

CSV, JSON lines or Parquet (gzipped or not); ``replace``, ``append`` (once per object
version, remembered in each target's ``s3batch_load_history`` ledger) or ``upsert``;
bad rows up to ``max_errors`` are written next to the object as ``<key>.rejects.csv``.

A standalone job program: it reaches S3, Secrets Manager and the databases over their
own protocols and imports no server package. Run it as ``python -m s3batch.loader`` or
``s3batch load``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``load`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    # Imported here so that ``s3batch.loader.tables`` (used to validate stack files) can
    # be imported without loading boto3.
    from s3batch.loader.cli import main as run

    return run(argv)
