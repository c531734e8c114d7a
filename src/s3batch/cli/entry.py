"""The ``s3batch`` console script: the loader job starts without the server's imports.

Every object that lands runs ``s3batch load ...`` as a Batch job. Importing the whole
command line first (the server, the stack model, botocore's models for the demo) cost
each such job ~0.4 s before it read a byte, so ``load`` goes straight to the loader and
every other command to :mod:`s3batch.cli.main`.
"""

from __future__ import annotations

import logging
import sys

#: Libraries whose INFO lines would drown the job's and the server's own.
CHATTY = ("botocore", "boto3", "urllib3", "s3transfer")


def configure_logging(verbose: bool = False) -> None:
    """Log to stderr, INFO (DEBUG with ``verbose``), the chatty libraries at WARNING."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)


def main() -> None:
    """Entry point of the console script (and of ``python -m s3batch``)."""
    if sys.argv[1:2] == ["load"]:
        from s3batch.loader import main as load

        configure_logging()
        sys.exit(load(sys.argv[2:]))
    from s3batch.cli.main import main as run

    run()
