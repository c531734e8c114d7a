"""Shared type aliases and small value types used across layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: A JSON document as parsed by :func:`json.loads`.
Json = Any
#: The integers a request may carry and SQLite stores: signed 64-bit ("long").
LONGS = range(-(2**63), 2**63)


@dataclass(frozen=True)
class RequestContext:
    """Who made an API call and how: recorded with the events the call causes."""

    request_id: str
    access_key_id: str = ""
    source_ip: str = "127.0.0.1"
    user_agent: str = ""
    region: str = "us-east-1"
    host: str = ""
