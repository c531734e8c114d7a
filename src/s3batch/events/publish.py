"""PutEvents entries → bus events, checked entry by entry as EventBridge does (pure).

A bad entry fails alone with AWS's per-entry ``ErrorCode`` and ``ErrorMessage``; the
others still go on the bus. The event built is the one rules see:
``{version, id, detail-type, source, account, time, region, resources, detail}``.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from s3batch.errors import InvalidRequest
from s3batch.events.errors import ValidationException
from s3batch.types import Json

#: Most entries one PutEvents call takes.
MAX_ENTRIES = 10
#: Largest total size of the entries of one PutEvents request, counted as :func:`entry_size` does.
MAX_REQUEST_BYTES = 256 * 1024
#: Bytes a given ``Time`` counts for (EventBridge user guide, "Calculating PutEvents event entry size").
TIME_BYTES = 14
#: Sources only AWS services may send from; PutEvents refuses them to everyone else.
AWS_SOURCE_PREFIX = "aws."


class EntryError(InvalidRequest):
    """The entry is not valid."""

    code = "InvalidArgument"

    def __init__(self, message: str, code: str = "InvalidArgument") -> None:
        super().__init__(message)
        self.code = code


def entry_size(entry: Mapping[str, Any]) -> int:
    """An entry's size as EventBridge counts it: 14 bytes for a ``Time``, plus the UTF-8 bytes
    of ``Source``, ``DetailType``, ``Detail`` and each of ``Resources``."""
    resources = entry.get("Resources")
    texts = [entry.get(k) for k in ("Source", "DetailType", "Detail")]
    texts += resources if isinstance(resources, list) else []
    size = sum(len(t.encode()) for t in texts if isinstance(t, str))
    return size + (TIME_BYTES if entry.get("Time") is not None else 0)


def check_request_size(entries: list[Mapping[str, Any]]) -> None:
    """Refuse a PutEvents request whose entries are too large together (the whole request fails).

    Raises:
        ValidationException: the entries add up to more than MAX_REQUEST_BYTES.
    """
    if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
        raise ValidationException("Total size of the entries in the request is over the limit.")


def event_time(value: Any, now: datetime) -> str:
    """An entry's ``Time`` (epoch seconds or ISO text) as events carry it; ``now`` when absent."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:  # beyond the years a date holds
            raise EntryError("Parameter Time is not valid.") from exc
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise EntryError("Parameter Time is not valid.") from exc
    else:
        moment = now
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _required(entry: Mapping[str, Any], name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise EntryError(f"Parameter {name} is not valid. Reason: {name} is a required argument.")
    return value


def _not_json(name: str) -> Json:
    """NaN, Infinity and -Infinity, which Python reads and JSON does not have."""
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    """A JSON number as a float; one too large for a double (1e400) is refused, not infinity."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text} is out of range")
    return number


def _detail(text: str) -> Json:
    try:
        detail = json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep to read
        raise EntryError("Detail is malformed.", "MalformedDetail") from exc
    if not isinstance(detail, dict):
        raise EntryError("Detail is malformed.", "MalformedDetail")
    return detail


def build_event(entry: Mapping[str, Any], now: datetime, account: str, region: str) -> Json:
    """The bus event of one PutEvents entry. Raises EntryError (with AWS's per-entry code)."""
    source, detail_type = _required(entry, "Source"), _required(entry, "DetailType")
    if source.startswith(AWS_SOURCE_PREFIX):
        raise EntryError("Not authorized for the source.", "NotAuthorizedForSourceException")
    detail = _detail(_required(entry, "Detail"))
    resources = entry.get("Resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise EntryError("Parameter Resources is not valid.")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(entry.get("Time"), now),
        "region": region,
        "resources": resources,
        "detail": detail,
    }


#: Fields TestEventPattern requires of its Event (AWS accepts an Event without ``resources``).
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")


def valid_test_event(event: Any) -> bool:
    """Whether TestEventPattern accepts this parsed Event."""
    return isinstance(event, dict) and all(
        isinstance(event.get(k), str) for k in REQUIRED_EVENT_FIELDS
    )
