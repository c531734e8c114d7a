"""CloudWatch Logs over JSON 1.1 (``X-Amz-Target: Logs_20140328.<Operation>``).

Enough of the API for ``aws logs get-log-events / filter-log-events / describe-*`` and the
SDKs to read Batch job output, plus CreateLogGroup/CreateLogStream/PutLogEvents so clients
can write their own. Shapes follow botocore's ``logs/2014-03-28`` model; times are epoch ms.
"""

from __future__ import annotations

import logging

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.jsonproto import JsonObject, JsonProtocol, optional, required
from s3batch.logs.errors import InvalidParameterException, LogGroupNotFound
from s3batch.logs.models import FoundEvent, LogEvent, LogGroup, LogStream
from s3batch.logs.service import MAX_DESCRIBE, MAX_EVENTS, Logs

logger = logging.getLogger(__name__)

#: The X-Amz-Target prefix of CloudWatch Logs operations.
TARGET_PREFIX = "Logs_20140328"
#: FilterLogEvents ``logStreamNames``: at most this many.
MAX_STREAM_NAMES = 100
#: Members s3batch does not act on yet; refused rather than silently ignored.
_UNSUPPORTED = ("logGroupNamePattern", "logGroupIdentifiers", "accountIdentifiers")


def _group_json(group: LogGroup) -> JsonObject:
    return {
        "logGroupName": group.name,
        "creationTime": group.created_at,
        "metricFilterCount": 0,
        "arn": group.arn,
        "storedBytes": group.stored_bytes,
        "logGroupClass": "STANDARD",
        "logGroupArn": group.arn.removesuffix(":*"),
    }


def _stream_json(stream: LogStream) -> JsonObject:
    out: JsonObject = {"logStreamName": stream.name, "creationTime": stream.created_at}
    if stream.first_event_timestamp is not None:
        out["firstEventTimestamp"] = stream.first_event_timestamp
        out["lastEventTimestamp"] = stream.last_event_timestamp
    if stream.last_ingestion_time is not None:
        out["lastIngestionTime"] = stream.last_ingestion_time
    return {**out, "arn": stream.arn, "storedBytes": 0}  # AWS: always 0 for streams since 2019


def _event_json(event: LogEvent) -> JsonObject:
    return {
        "timestamp": event.timestamp,
        "message": event.message,
        "ingestionTime": event.ingestion_time,
    }


def _found_json(found: FoundEvent) -> JsonObject:
    return {"logStreamName": found.stream, **_event_json(found.event), "eventId": found.event_id}


def group_name(params: JsonObject, arn_prefix: str | None = None) -> str:
    """The group a request names by ``logGroupName`` or ``logGroupIdentifier`` (name or ARN).

    Raises:
        InvalidParameterException: both or neither are given.
        LogGroupNotFound: the ARN is not of ``arn_prefix`` (another account's or region's).
    """
    name = optional(params, "logGroupName", str)
    identifier = optional(params, "logGroupIdentifier", str)
    if (name is None) == (identifier is None):
        raise InvalidParameterException(
            "Exactly one of logGroupName and logGroupIdentifier must be specified."
        )
    if identifier is not None:
        # arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]
        if identifier.startswith("arn:") and arn_prefix and not identifier.startswith(arn_prefix):
            raise LogGroupNotFound()
        name = identifier.split(":log-group:", 1)[-1].removesuffix(":*")
    assert name is not None
    return name


def _limit(params: JsonObject, default: int) -> int:
    limit = optional(params, "limit", int)
    return default if limit is None else limit


class LogsProtocol:
    """The CloudWatch Logs API: register it in ``ApiApp.protocols["logs"]``."""

    def __init__(self, logs: Logs, auth: Authenticator) -> None:
        self.logs = logs
        #: Where this server's log group ARNs begin.
        self.arn_prefix = f"arn:aws:logs:{logs.region}:{logs.account_id}:log-group:"
        handlers = {
            "CreateLogGroup": self.create_log_group,
            "CreateLogStream": self.create_log_stream,
            "PutLogEvents": self.put_log_events,
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
        }
        self.protocol = JsonProtocol(TARGET_PREFIX, handlers, auth)

    async def __call__(self, request: Request) -> Response:
        """Answer one CloudWatch Logs request."""
        return await self.protocol(request)

    def create_log_group(self, params: JsonObject) -> JsonObject:
        """CreateLogGroup."""
        self.logs.create_log_group(required(params, "logGroupName", str))
        return {}

    def create_log_stream(self, params: JsonObject) -> JsonObject:
        """CreateLogStream."""
        self.logs.create_log_stream(
            required(params, "logGroupName", str), required(params, "logStreamName", str)
        )
        return {}

    def put_log_events(self, params: JsonObject) -> JsonObject:
        """PutLogEvents (``sequenceToken`` is ignored, as AWS now does)."""
        events = []
        for item in required(params, "logEvents", list):
            if not isinstance(item, dict):
                raise InvalidParameterException("logEvents must be a list of InputLogEvent")
            events.append((required(item, "timestamp", int), required(item, "message", str)))
        rejected = self.logs.put_log_events(
            required(params, "logGroupName", str), required(params, "logStreamName", str), events
        )
        return {"rejectedLogEventsInfo": rejected} if rejected else {}

    def describe_log_groups(self, params: JsonObject) -> JsonObject:
        """DescribeLogGroups: by name, optionally by prefix, in pages."""
        for member in _UNSUPPORTED:
            if params.get(member):
                raise InvalidParameterException(f"s3batch does not support {member} yet")
        groups, token = self.logs.describe_log_groups(
            optional(params, "logGroupNamePrefix", str) or "",
            _limit(params, MAX_DESCRIBE),
            optional(params, "nextToken", str),
        )
        out: JsonObject = {"logGroups": [_group_json(g) for g in groups]}
        return {**out, "nextToken": token} if token else out

    def describe_log_streams(self, params: JsonObject) -> JsonObject:
        """DescribeLogStreams: by name or last event time, in pages."""
        streams, token = self.logs.describe_log_streams(
            group_name(params, self.arn_prefix),
            optional(params, "logStreamNamePrefix", str) or "",
            optional(params, "orderBy", str) or "LogStreamName",
            bool(optional(params, "descending", bool)),
            _limit(params, MAX_DESCRIBE),
            optional(params, "nextToken", str),
        )
        out: JsonObject = {"logStreams": [_stream_json(s) for s in streams]}
        return {**out, "nextToken": token} if token else out

    def get_log_events(self, params: JsonObject) -> JsonObject:
        """GetLogEvents: without a token, the tail unless ``startFromHead``."""
        page = self.logs.get_log_events(
            group_name(params, self.arn_prefix),
            required(params, "logStreamName", str),
            start_from_head=bool(optional(params, "startFromHead", bool)),
            limit=_limit(params, MAX_EVENTS),
            next_token=optional(params, "nextToken", str),
            start_time=optional(params, "startTime", int),
            end_time=optional(params, "endTime", int),
        )
        return {
            "events": [_event_json(e) for e in page.events],
            "nextForwardToken": page.next_forward_token,
            "nextBackwardToken": page.next_backward_token,
        }

    def filter_log_events(self, params: JsonObject) -> JsonObject:
        """FilterLogEvents: matching events across streams by time, in pages."""
        names = optional(params, "logStreamNames", list)
        if names is not None and not all(isinstance(n, str) for n in names):
            raise InvalidParameterException("logStreamNames must be a list of strings")
        if names is not None and not 1 <= len(names) <= MAX_STREAM_NAMES:
            raise InvalidParameterException(
                f"logStreamNames must list from 1 to {MAX_STREAM_NAMES} streams"
            )
        if optional(params, "startFromHead", bool) is False:  # refused, not ignored
            raise InvalidParameterException(
                "s3batch does not support startFromHead=false for FilterLogEvents yet"
                " (events come oldest first)"
            )
        page = self.logs.filter_log_events(
            group_name(params, self.arn_prefix),
            stream_names=names,
            stream_prefix=optional(params, "logStreamNamePrefix", str) or "",
            start_time=optional(params, "startTime", int),
            end_time=optional(params, "endTime", int),
            pattern=optional(params, "filterPattern", str),
            limit=_limit(params, MAX_EVENTS),
            next_token=optional(params, "nextToken", str),
        )
        out: JsonObject = {
            "events": [_found_json(f) for f in page.events],
            "searchedLogStreams": [],
        }
        return {**out, "nextToken": page.next_token} if page.next_token else out
