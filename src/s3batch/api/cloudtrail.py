"""CloudTrail's LookupEvents over JSON 1.1 (``X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``).

Event history here is the records the trails logged (S3 object calls), newest first, so
``aws cloudtrail lookup-events`` shows the uploads.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.jsonproto import JsonObject, JsonProtocol, epoch, optional
from s3batch.errors import InvalidRequest
from s3batch.trail.lookup import MAX_RESULTS, attribute_filter, summary
from s3batch.trail.service import Trails
from s3batch.types import LONGS

logger = logging.getLogger(__name__)

#: The X-Amz-Target prefix of CloudTrail operations.
TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"


class InvalidNextTokenException(InvalidRequest):
    """A token that is not valid, or a token that was previously used in a request with different parameters."""

    code = "InvalidNextTokenException"


class InvalidMaxResultsException(InvalidRequest):
    """This exception is thrown if the limit specified is not valid."""

    code = "InvalidMaxResultsException"


class InvalidTimeRangeException(InvalidRequest):
    """Occurs if the timestamp values are not valid. Either the start time occurs after the end time, or the time range is outside the range of possible values."""

    code = "InvalidTimeRangeException"


def _time(params: JsonObject, name: str) -> datetime | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            pass  # beyond the years a datetime holds
    raise InvalidTimeRangeException(f"{name} is not a valid timestamp.")


def _position(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        position = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidNextTokenException() from exc
    if position < 0 or position not in LONGS:  # a record's row id
        raise InvalidNextTokenException()
    return position


class CloudTrailProtocol:
    """The CloudTrail API (LookupEvents): register it in ``ApiApp.protocols["cloudtrail"]``."""

    def __init__(self, trails: Trails, auth: Authenticator) -> None:
        self.trails = trails
        self.protocol = JsonProtocol(TARGET_PREFIX, {"LookupEvents": self.lookup_events}, auth)

    async def __call__(self, request: Request) -> Response:
        """Answer one CloudTrail request."""
        return await self.protocol(request)

    def lookup_events(self, params: JsonObject) -> JsonObject:
        """LookupEvents: logged calls, newest first, filtered by one attribute and a time range."""
        limit = optional(params, "MaxResults", int) or MAX_RESULTS
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidMaxResultsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
        start, end = _time(params, "StartTime"), _time(params, "EndTime")
        if start and end and start > end:
            raise InvalidTimeRangeException("StartTime must be before EndTime.")
        test = attribute_filter(optional(params, "LookupAttributes", list) or [])
        records, after = self.trails.lookup(
            test, start, end, limit, _position(optional(params, "NextToken", str))
        )
        out: JsonObject = {"Events": [_wire(summary(r)) for r in records]}
        if after is not None:
            out["NextToken"] = base64.urlsafe_b64encode(str(after).encode()).decode()
        return out


def _wire(event: JsonObject) -> JsonObject:
    return {**event, "EventTime": epoch(event["EventTime"])}
