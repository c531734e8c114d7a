"""``python -m s3batch`` runs the command line."""

from __future__ import annotations

from s3batch.cli.entry import main

main()
