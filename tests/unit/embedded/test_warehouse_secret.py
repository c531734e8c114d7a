"""The DuckDB warehouse secret names a file in the data dir and touches nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from s3batch.embedded import warehouse_secret


def test_warehouse_secret_names_the_file_without_creating_it(tmp_path: Path) -> None:
    secret = warehouse_secret(tmp_path / "data")
    assert secret == {"engine": "duckdb", "path": str(tmp_path / "data" / "warehouse.duckdb")}
    assert not (tmp_path / "data").exists()


def test_a_relative_data_dir_gives_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert warehouse_secret(Path("d"))["path"] == str(tmp_path / "d" / "warehouse.duckdb")
