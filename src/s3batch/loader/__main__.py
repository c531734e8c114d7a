"""``python -m s3batch.loader --bucket B --key K --table T --target SECRET_ID ...``."""

from __future__ import annotations

import sys

from s3batch.loader.cli import main

sys.exit(main(sys.argv[1:]))
