"""The files under ``examples/`` that the README tells users to upload."""

from __future__ import annotations

from pathlib import Path

from s3batch.cli.demo import sample_persons

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_sample_file_is_the_one_the_demo_uploads() -> None:
    assert (EXAMPLES / "sample-data.txt").read_bytes() == sample_persons()
