"""What every batch store module shares: JSON columns and placeholder lists."""

from __future__ import annotations

import json
from collections.abc import Iterable

from s3batch.types import Json


def dump(value: Json) -> str:
    """A value as compact JSON text, as JSON columns hold it."""
    return json.dumps(value, separators=(",", ":"))


def marks(values: Iterable[object]) -> str:
    """``?, ?, …``: one placeholder per value."""
    return ", ".join("?" for _ in values)
