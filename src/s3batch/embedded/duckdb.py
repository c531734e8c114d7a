"""The local stand-in for Redshift: a DuckDB file in the data dir, opened only by the loader."""

from __future__ import annotations

from pathlib import Path

#: The warehouse file's name inside the data dir.
WAREHOUSE_FILE = "warehouse.duckdb"


def warehouse_secret(data_dir: Path) -> dict[str, str]:
    """The secret naming the warehouse file (nothing is opened or created here)."""
    return {"engine": "duckdb", "path": str(Path(data_dir).absolute() / WAREHOUSE_FILE)}
