"""``s3batch demo``, the README's first command, run as a user runs it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path


def test_demo_loads_the_file_the_event_names_into_both_databases() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "s3batch", "demo", "--keep"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout
    kept = re.search(r"^data dir kept: (\S+)", out, re.MULTILINE)
    try:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert re.search(r"^4\. job \S+ \(load-persons\) on queue \S+: SUCCEEDED$", out, re.M)
        assert "Copying data from S3 s3://s3-eventbridge-batch/sample-data.txt" in out
        tables = re.findall(r"^   (\S+) \((\w+)\): (\d+) rows, first \('P00000'", out, re.M)
        assert tables == [
            ("RDS-credentials", "postgres", "50"),
            ("Redshift-credentials", "duckdb", "50"),
        ], out
        assert kept, out
        data = Path(kept.group(1))
        log = data.parent / f"{data.name}.server.log"  # it holds the generated access key
        assert log.stat().st_mode & 0o777 == 0o600
    finally:
        if kept:
            data = Path(kept.group(1))
            shutil.rmtree(data, ignore_errors=True)
            (data.parent / f"{data.name}.server.log").unlink(missing_ok=True)
