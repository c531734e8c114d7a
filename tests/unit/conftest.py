"""Fixtures shared by the unit tests: a fresh state database, and every blob store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from s3batch.objectstore.blobs import BlobStore, FileBlobStore, MemoryBlobStore
from s3batch.state.db import Database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A new state database (schema.sql applied) in a temp dir."""
    database = Database(tmp_path / "state.db")
    yield database
    database.close()


@pytest.fixture(params=["memory", "file"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Every BlobStore implementation (contract tests run against each)."""
    if request.param == "memory":
        return MemoryBlobStore()
    return FileBlobStore(tmp_path / "blobs")
