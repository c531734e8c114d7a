"""EventBridge over JSON 1.1 (``X-Amz-Target: AWSEvents.<Operation>``).

Rules (scheduled ones too), targets, buses, PutEvents and TestEventPattern map one-to-one
onto :class:`s3batch.events.service.EventBus`, tags onto its ``tagging``; this module only
reads requests and shapes responses (paging tokens included).
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.jsonproto import JsonObject, JsonProtocol, epoch, optional, required
from s3batch.errors import InvalidRequest
from s3batch.events.errors import ValidationException
from s3batch.events.models import Bus, Rule
from s3batch.events.publish import MAX_ENTRIES
from s3batch.events.service import NAME, EventBus

logger = logging.getLogger(__name__)

#: The X-Amz-Target prefix of EventBridge operations.
TARGET_PREFIX = "AWSEvents"
#: What a rule name may be.
#: PutRule ``Description``: at most this many characters.
MAX_DESCRIPTION = 512
#: List page size when the request names none, and the largest allowed.
DEFAULT_PAGE, MAX_PAGE = 100, 100


class InvalidNextToken(ValidationException):
    """The NextToken is not valid."""


def _page(names: list[str], params: JsonObject) -> tuple[slice, str | None]:
    """The slice of ``names`` (sorted) to return, and the next token."""
    limit = optional(params, "Limit", int) or DEFAULT_PAGE
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationException(f"Limit must be between 1 and {MAX_PAGE}.")
    token = optional(params, "NextToken", str)
    start = 0
    if token is not None:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise InvalidNextToken() from exc
        start = sum(1 for n in names if n <= after)
    end = start + limit
    nxt = base64.urlsafe_b64encode(names[end - 1].encode()).decode() if end < len(names) else None
    return slice(start, end), nxt


def _rule(rule: Rule) -> JsonObject:
    out: JsonObject = {
        "Name": rule.name,
        "Arn": rule.arn,
        "State": rule.state,
        "EventBusName": rule.bus,
    }
    if rule.matches_events:
        out["EventPattern"] = rule.pattern
    if rule.schedule is not None:
        out["ScheduleExpression"] = rule.schedule
    if rule.description is not None:
        out["Description"] = rule.description
    return out


def _bus(bus: Bus) -> JsonObject:
    out: JsonObject = {"Name": bus.name, "Arn": bus.arn}
    if bus.description:
        out["Description"] = bus.description
    return out


def _text(value: object, name: str) -> str:
    if isinstance(value, str):
        return value
    raise ValidationException(f"Value at '{name[:1].lower() + name[1:]}' must be a string.")


class EventBridgeProtocol:
    """The EventBridge API: register it in ``ApiApp.protocols["events"]``."""

    def __init__(self, bus: EventBus, auth: Authenticator) -> None:
        self.bus = bus
        handlers = {
            "PutRule": self.put_rule,
            "DescribeRule": self.describe_rule,
            "ListRules": self.list_rules,
            "DeleteRule": self.delete_rule,
            "EnableRule": lambda p: self._set_state(p, "ENABLED"),
            "DisableRule": lambda p: self._set_state(p, "DISABLED"),
            "PutTargets": self.put_targets,
            "ListTargetsByRule": self.list_targets_by_rule,
            "RemoveTargets": self.remove_targets,
            "PutEvents": self.put_events,
            "TestEventPattern": self.test_event_pattern,
            "CreateEventBus": self.create_event_bus,
            "DescribeEventBus": self.describe_event_bus,
            "ListEventBuses": self.list_event_buses,
            "DeleteEventBus": self.delete_event_bus,
            "ListRuleNamesByTarget": self.list_rule_names_by_target,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }
        self.protocol = JsonProtocol(TARGET_PREFIX, handlers, auth)

    async def __call__(self, request: Request) -> Response:
        """Answer one EventBridge request."""
        return await self.protocol(request)

    # -- rules -------------------------------------------------------------------------------

    def put_rule(self, params: JsonObject) -> JsonObject:
        """PutRule: create or update a rule (its targets are kept)."""
        name = required(params, "Name", str)
        if not NAME.fullmatch(name):
            raise ValidationException(
                f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+ (at most 64 characters)"
            )
        self.bus.bus(optional(params, "EventBusName", str))
        for member in ("EventPattern", "ScheduleExpression", "State", "RoleArn"):
            optional(params, member, str)  # mistyped: ValidationException
        if len(optional(params, "Description", str) or "") > MAX_DESCRIPTION:
            raise ValidationException(f"Description must be at most {MAX_DESCRIPTION} characters.")
        rule = self.bus.put_rule({**params, "Name": name})
        return {"RuleArn": rule.arn}

    def describe_rule(self, params: JsonObject) -> JsonObject:
        """DescribeRule: one rule."""
        rule = self.bus.rule(required(params, "Name", str), optional(params, "EventBusName", str))
        return {**_rule(rule), "CreatedBy": self.bus.account_id}

    def list_rules(self, params: JsonObject) -> JsonObject:
        """ListRules: the rules of a bus, by name, in pages."""
        bus = self.bus.bus(optional(params, "EventBusName", str))
        prefix = optional(params, "NamePrefix", str) or ""
        rules = [r for r in self.bus.rules(bus.name) if r.name.startswith(prefix)]
        window, token = _page([r.name for r in rules], params)
        out: JsonObject = {"Rules": [_rule(r) for r in rules[window]]}
        if token:
            out["NextToken"] = token
        return out

    def delete_rule(self, params: JsonObject) -> JsonObject:
        """DeleteRule: refused while the rule has targets (unless Force)."""
        self.bus.delete_rule(
            required(params, "Name", str),
            optional(params, "EventBusName", str),
            bool(optional(params, "Force", bool)),
        )
        return {}

    def list_rule_names_by_target(self, params: JsonObject) -> JsonObject:
        """ListRuleNamesByTarget: the rules of a bus with a target of this ARN, in pages."""
        bus = self.bus.bus(optional(params, "EventBusName", str))
        names = self.bus.rule_names_by_target(required(params, "TargetArn", str), bus.name)
        window, token = _page(names, params)
        out: JsonObject = {"RuleNames": names[window]}
        if token:
            out["NextToken"] = token
        return out

    def _set_state(self, params: JsonObject, state: str) -> JsonObject:
        self.bus.set_state(
            required(params, "Name", str), optional(params, "EventBusName", str), state
        )
        return {}

    # -- targets -----------------------------------------------------------------------------

    def put_targets(self, params: JsonObject) -> JsonObject:
        """PutTargets: add or replace targets; per-entry failures."""
        targets = required(params, "Targets", list)
        if not 1 <= len(targets) <= 10 or not all(isinstance(t, dict) for t in targets):
            raise ValidationException("Targets must hold 1 to 10 targets.")
        failed = self.bus.put_targets(
            required(params, "Rule", str), optional(params, "EventBusName", str), targets
        )
        return {"FailedEntryCount": len(failed), "FailedEntries": failed}

    def list_targets_by_rule(self, params: JsonObject) -> JsonObject:
        """ListTargetsByRule: a rule's targets, in pages (by Id)."""
        rule = self.bus.rule(required(params, "Rule", str), optional(params, "EventBusName", str))
        targets = sorted(rule.targets, key=lambda t: t["Id"])
        window, token = _page([t["Id"] for t in targets], params)
        out: JsonObject = {"Targets": targets[window]}
        if token:
            out["NextToken"] = token
        return out

    def remove_targets(self, params: JsonObject) -> JsonObject:
        """RemoveTargets: remove targets by Id."""
        ids = [_text(i, "Ids") for i in required(params, "Ids", list)]
        self.bus.remove_targets(
            required(params, "Rule", str), optional(params, "EventBusName", str), ids
        )
        return {"FailedEntryCount": 0, "FailedEntries": []}

    # -- events ------------------------------------------------------------------------------

    def put_events(self, params: JsonObject) -> JsonObject:
        """PutEvents: 1 to 10 entries, each put on its bus or failed on its own."""
        entries = required(params, "Entries", list)
        if not 1 <= len(entries) <= MAX_ENTRIES:
            raise ValidationException(
                f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_ENTRIES}"
            )
        if not all(isinstance(e, dict) for e in entries):
            raise ValidationException("Each entry must be a structure.")
        results = self.bus.put_events(entries)
        return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}

    def test_event_pattern(self, params: JsonObject) -> JsonObject:
        """TestEventPattern: does the pattern match the event?"""
        pattern = required(params, "EventPattern", str)
        return {"Result": self.bus.test_event_pattern(pattern, required(params, "Event", str))}

    # -- buses -------------------------------------------------------------------------------

    def create_event_bus(self, params: JsonObject) -> JsonObject:
        """CreateEventBus: a custom bus."""
        if optional(params, "EventSourceName", str):
            raise InvalidRequest("s3batch does not support partner event sources.")
        bus = self.bus.create_bus(
            required(params, "Name", str),
            optional(params, "Description", str),
            optional(params, "Tags", list),
        )
        return {"EventBusArn": bus.arn}

    def describe_event_bus(self, params: JsonObject) -> JsonObject:
        """DescribeEventBus: one bus (the default when unnamed)."""
        bus = self.bus.bus(optional(params, "Name", str))
        out = _bus(bus)
        if bus.created_at:
            out["CreationTime"] = epoch(datetime.fromisoformat(bus.created_at))
        return out

    def list_event_buses(self, params: JsonObject) -> JsonObject:
        """ListEventBuses: the default bus and the custom ones, in pages."""
        buses = self.bus.buses(optional(params, "NamePrefix", str) or "")
        window, token = _page([b.name for b in buses], params)
        out: JsonObject = {"EventBuses": [_bus(b) for b in buses[window]]}
        if token:
            out["NextToken"] = token
        return out

    def delete_event_bus(self, params: JsonObject) -> JsonObject:
        """DeleteEventBus: a custom bus and its rules."""
        self.bus.delete_bus(required(params, "Name", str))
        return {}

    # -- tags --------------------------------------------------------------------------------

    def tag_resource(self, params: JsonObject) -> JsonObject:
        """TagResource: add or overwrite tags of a rule or bus."""
        self.bus.tagging.tag(required(params, "ResourceARN", str), required(params, "Tags", list))
        return {}

    def untag_resource(self, params: JsonObject) -> JsonObject:
        """UntagResource: remove tags of a rule or bus by key."""
        keys = [_text(k, "TagKeys") for k in required(params, "TagKeys", list)]
        self.bus.tagging.untag(required(params, "ResourceARN", str), keys)
        return {}

    def list_tags_for_resource(self, params: JsonObject) -> JsonObject:
        """ListTagsForResource: the tags of a rule or bus."""
        return {"Tags": self.bus.tagging.tags(required(params, "ResourceARN", str))}
