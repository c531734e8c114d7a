"""Event buses and rules: put rules (patterns validated once) and their targets; put events;
test patterns; keep and replay dead letters. The EventBridge API's service."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from s3batch.clock import Clock
from s3batch.errors import NotFound
from s3batch.events import store
from s3batch.events.errors import ValidationException
from s3batch.events.matcher import matches_pattern
from s3batch.events.models import Bus, DeadLetter, Retry, Rule
from s3batch.events.patterns import parse
from s3batch.events.publish import EntryError, build_event, check_request_size, valid_test_event
from s3batch.events.retry import RetryPolicy
from s3batch.events.schedule import parse_schedule
from s3batch.events.store import BUS_TOPIC, stamp
from s3batch.events.tagging import Tagging, put_tags, tag_map
from s3batch.events.targets import KINDS, kind_of
from s3batch.events.transform import validate_target_input
from s3batch.state import outbox
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: The bus S3 and CloudTrail events arrive on.
DEFAULT_BUS = "default"
#: Rule states PutRule accepts.
STATES = ("ENABLED", "DISABLED")
#: Most targets one rule may have (AWS's quota).
MAX_TARGETS = 5


class ResourceNotFoundException(NotFound):
    """The resource does not exist."""


class ResourceAlreadyExistsException(ValidationException):
    """The resource already exists."""

    code = "ResourceAlreadyExistsException"


class DeadLetterNotFound(NotFound):
    """No such dead letter, or it was already replayed."""


#: A custom event bus's name (partner buses, whose names hold '/', are not supported).
BUS_NAME = re.compile(r"[.\-_A-Za-z0-9]{1,256}")
#: A rule's name and a target's ``Id`` (the same rule on AWS).
NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")


def bus_name(name_or_arn: str | None) -> str:
    """A bus name from ``EventBusName`` (a name or an ARN); the default bus when absent."""
    if not name_or_arn:
        return DEFAULT_BUS
    return name_or_arn.split(":event-bus/", 1)[1] if ":event-bus/" in name_or_arn else name_or_arn


class EventBus:
    """Rules and targets of the event buses."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        #: Hook called after events are put on a bus (the runtime wakes the pipeline with it).
        self.after_write: Callable[[], None] = lambda: None
        #: Tags of rules and buses.
        self.tagging = Tagging(db, self.bus_arn(DEFAULT_BUS))

    def rule_arn(self, bus: str, name: str) -> str:
        """A rule's ARN, as AWS writes it (the bus appears only for custom buses)."""
        path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
        return f"arn:aws:events:{self.region}:{self.account_id}:rule/{path}"

    def put_rule(self, request: Json, targets: list[Json] | None = None) -> Rule:
        """Create or update a rule from a PutRule request (and its PutTargets targets).

        Raises:
            InvalidEventPatternException: the pattern is not valid.
            ValidationException: no pattern nor schedule, a bad schedule, state or tag.
        """
        bus = bus_name(request.get("EventBusName"))
        text, schedule, tags = _rule_definition(bus, request)
        for target in targets or ():
            check_target(target)
        with self.db.transaction() as conn:
            old = store.get_rule(conn, bus, request["Name"])
            kept = tuple(targets) if targets is not None else (old.targets if old else ())
            rule = Rule(
                bus,
                request["Name"],
                self.rule_arn(bus, request["Name"]),
                text,
                request.get("State", "ENABLED"),
                request.get("Description"),
                kept,
                schedule,
            )
            store.put_rule(conn, rule)
            put_tags(conn, rule.arn, tags)
        logger.info(
            "rule %s on bus %s: %d target(s)",
            rule.name,
            bus,
            len(kept),
            extra={"action": "put_rule"},
        )
        return rule

    def rules(self, bus: str | None = None) -> list[Rule]:
        """Rules of one bus, or of all buses."""
        return store.rules(self.db.conn, bus)

    def received_event(self, event_id: str) -> Json | None:
        """One event the bus received, by its id; None when it holds none."""
        return store.received_event(self.db.conn, event_id)

    def recent_events(self, limit: int = 50) -> list[tuple[Json, list[str]]]:
        """The newest events with the rules they matched."""
        return store.recent_events(self.db.conn, limit)

    # -- buses -----------------------------------------------------------------------------

    def bus_arn(self, name: str) -> str:
        """A bus's ARN."""
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{name}"

    def bus(self, name_or_arn: str | None) -> Bus:
        """A bus (the default bus always exists). Raises ResourceNotFoundException."""
        name = bus_name(name_or_arn)
        if name == DEFAULT_BUS:
            return Bus(DEFAULT_BUS, self.bus_arn(DEFAULT_BUS), None, "")
        found = store.get_bus(self.db.conn, name)
        if found is None:
            raise ResourceNotFoundException(f"Event bus {name} does not exist.")
        return found

    def create_bus(self, name: str, description: str | None = None, tags: Any = None) -> Bus:
        """Create a custom bus (with its ``Tags``). Raises ResourceAlreadyExistsException."""
        if not BUS_NAME.fullmatch(name) or name.startswith("aws."):
            raise ValidationException(
                f"Event bus name {name!r} is not valid: 1-256 letters, digits, '.', '-' or '_',"
                " not starting with aws. (partner buses, with '/', are not supported)."
            )
        new = Bus(name, self.bus_arn(name), description, stamp(self.clock.now()))
        wanted = tag_map(tags) if tags is not None else {}
        with self.db.transaction() as conn:
            if name == DEFAULT_BUS or store.get_bus(conn, name):
                raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
            store.put_bus(conn, new)
            put_tags(conn, new.arn, wanted)
        return new

    def buses(self, prefix: str = "") -> list[Bus]:
        """The default bus and the custom ones, by name."""
        every = [self.bus(DEFAULT_BUS), *store.buses(self.db.conn)]
        return sorted((b for b in every if b.name.startswith(prefix)), key=lambda b: b.name)

    def delete_bus(self, name: str) -> None:
        """Delete a custom bus and its rules (a missing one is fine, as on AWS)."""
        if bus_name(name) == DEFAULT_BUS:
            raise ValidationException("Cannot delete event bus default.")
        with self.db.transaction() as conn:
            store.delete_bus(conn, bus_name(name))

    # -- rules and targets -----------------------------------------------------------------

    def rule(self, name: str, bus: str | None = None) -> Rule:
        """One rule. Raises ResourceNotFoundException."""
        found = store.get_rule(self.db.conn, bus_name(bus), name)
        if found is None:
            raise ResourceNotFoundException(
                f"Rule {name} does not exist on EventBus {bus_name(bus)}."
            )
        return found

    def delete_rule(self, name: str, bus: str | None = None, force: bool = False) -> None:
        """Delete a rule; refused while it has targets (unless ``force``), as on AWS."""
        with self.db.transaction() as conn:
            found = store.get_rule(conn, bus_name(bus), name)
            if found is None:
                return
            if found.targets and not force:
                raise ValidationException("Rule can't be deleted since it has targets.")
            store.delete_rule(conn, found.bus, name)

    def rule_names_by_target(self, target_arn: str, bus: str | None = None) -> list[str]:
        """Names of the rules of a bus with a target of this ARN (ListRuleNamesByTarget)."""
        return [
            r.name
            for r in self.rules(bus_name(bus))
            if any(t["Arn"] == target_arn for t in r.targets)
        ]

    def set_state(self, name: str, bus: str | None, state: str) -> Rule:
        """Enable or disable a rule. Raises ResourceNotFoundException."""
        return self._update(name, bus, lambda r: replace(r, state=state))

    def put_targets(self, name: str, bus: str | None, targets: list[Json]) -> list[Json]:
        """Add or replace targets by Id; return the failed entries (TargetId, ErrorCode, ErrorMessage)."""
        self.rule(name, bus)
        for target in targets:
            check_target(target)
        failed = [f for f in (_unsupported(t) for t in targets) if f]
        bad = {f["TargetId"] for f in failed}
        good = [t for t in targets if t.get("Id") not in bad]

        def merged(rule: Rule) -> Rule:
            kept = {t["Id"]: t for t in rule.targets}
            kept.update({t["Id"]: dict(t) for t in good})
            if len(kept) > MAX_TARGETS:
                raise LimitExceededException(
                    f"The requested resource exceeds the maximum number allowed ({MAX_TARGETS})."
                )
            return replace(rule, targets=tuple(kept.values()))

        self._update(name, bus, merged)
        return failed

    def remove_targets(self, name: str, bus: str | None, ids: list[str]) -> None:
        """Remove targets by Id (unknown ids are ignored, as on AWS)."""
        gone = set(ids)
        self._update(
            name,
            bus,
            lambda r: replace(r, targets=tuple(t for t in r.targets if t["Id"] not in gone)),
        )

    def _update(self, name: str, bus: str | None, change: Callable[[Rule], Rule]) -> Rule:
        with self.db.transaction() as conn:
            found = store.get_rule(conn, bus_name(bus), name)
            if found is None:
                raise ResourceNotFoundException(
                    f"Rule {name} does not exist on EventBus {bus_name(bus)}."
                )
            updated = change(found)
            store.put_rule(conn, updated)
        return updated

    # -- events ----------------------------------------------------------------------------

    def put_events(self, entries: list[Mapping[str, Any]]) -> list[Json]:
        """Put events on their buses; one result per entry: ``{EventId}`` or ``{ErrorCode, ErrorMessage}``.

        Raises:
            ValidationException: the entries are too large together (nothing is put).
        """
        check_request_size(entries)
        now, results = self.clock.now(), []
        with self.db.transaction() as conn:
            for entry in entries:
                try:
                    bus = self._entry_bus(conn, entry)
                    event = build_event(entry, now, self.account_id, self.region)
                except (EntryError, ResourceNotFoundException) as exc:
                    results.append({"ErrorCode": exc.code, "ErrorMessage": exc.message})
                    continue
                outbox.append(conn, BUS_TOPIC, {"bus": bus, "event": event}, now)
                results.append({"EventId": event["id"]})
        self.after_write()
        return results

    def _entry_bus(self, conn: Any, entry: Mapping[str, Any]) -> str:
        given = entry.get("EventBusName")
        if given is not None and not isinstance(given, str):
            raise EntryError("Parameter EventBusName is not valid.")
        name = bus_name(given)
        if name != DEFAULT_BUS and store.get_bus(conn, name) is None:
            raise ResourceNotFoundException(f"Event bus {name} does not exist.")
        return name

    def test_event_pattern(
        self, pattern: str | Mapping[str, Any], event: str | Mapping[str, Any]
    ) -> bool:
        """Whether the pattern matches the event (TestEventPattern); see :func:`test_event_pattern`."""
        return test_event_pattern(pattern, event)

    # -- dead letters ----------------------------------------------------------------------

    def dead_letters(self, include_replayed: bool = False) -> list[DeadLetter]:
        """Undeliverable events kept for targets with a DeadLetterConfig, oldest first."""
        return store.dead_letters(self.db.conn, include_replayed)

    def dead_letter(self, letter_id: str) -> DeadLetter:
        """One dead letter. Raises DeadLetterNotFound."""
        found = store.get_dead_letter(self.db.conn, letter_id)
        if found is None:
            raise DeadLetterNotFound(f"No dead letter {letter_id}.")
        return found

    def replay(self, letter_id: str) -> DeadLetter:
        """Deliver a dead letter again, now, to its rule's target (as a fresh event: full retry budget).

        Raises:
            DeadLetterNotFound: no such dead letter, or it was already replayed.
        """
        now = stamp(self.clock.now())
        with self.db.transaction() as conn:
            letter = store.get_dead_letter(conn, letter_id)
            if letter is None or not store.mark_replayed(conn, letter_id, now):
                raise DeadLetterNotFound(f"No dead letter {letter_id} waiting to be replayed.")
            store.add_retry(
                conn,
                Retry(
                    0, letter.bus, letter.rule, letter.target_id, letter.event, now, 0, now, None
                ),
            )
        logger.info("replaying dead letter %s", letter_id, extra={"action": "replay"})
        self.after_write()
        return letter

    def pending_retries(self) -> list[Retry]:
        """Deliveries waiting for their next attempt, soonest first."""
        return store.pending_retries(self.db.conn)


class LimitExceededException(ValidationException):
    """The request exceeds a quota."""

    code = "LimitExceededException"


def _rule_definition(bus: str, request: Json) -> tuple[str, str | None, dict[str, str]]:
    """The pattern text ("" for none), ScheduleExpression and tags of a PutRule request, checked."""
    pattern, schedule = request.get("EventPattern"), request.get("ScheduleExpression") or None
    if pattern is None and schedule is None:
        raise ValidationException(
            "Parameter(s) EventPattern or ScheduleExpression must be specified."
        )
    if schedule is not None:
        if bus != DEFAULT_BUS:
            raise ValidationException(
                "ScheduleExpression is supported only on the default event bus."
            )
        parse_schedule(schedule)
    if request.get("State", "ENABLED") not in STATES:
        raise ValidationException(f"Parameter State is not valid: use one of {', '.join(STATES)}.")
    text = "" if pattern is None else pattern if isinstance(pattern, str) else json.dumps(pattern)
    if text:
        parse(text)
    return text, schedule, tag_map(request["Tags"]) if "Tags" in request else {}


def check_target(target: Mapping[str, Any]) -> None:
    """Check a target as PutTargets does (Id, Arn, input settings, retry policy).

    Raises:
        ValidationException: the target is not valid.
    """
    if (
        not isinstance(target.get("Id"), str)
        or not target["Id"]
        or not isinstance(target.get("Arn"), str)
    ):
        raise ValidationException("Each target needs an Id and an Arn.")
    if not NAME.fullmatch(target["Id"]):
        raise ValidationException(
            f"Target Id {target['Id']!r} must be 1-64 letters, digits, '.', '-' or '_'."
        )
    for member in ("RetryPolicy", "InputTransformer"):
        if target.get(member) is not None and not isinstance(target[member], Mapping):
            raise ValidationException(f"{member} of target {target['Id']} must be an object.")
    validate_target_input(target)
    RetryPolicy.of(target)
    dlq = target.get("DeadLetterConfig")
    if dlq is not None and not (
        isinstance(dlq, Mapping) and isinstance(dlq.get("Arn"), str) and dlq["Arn"]
    ):
        raise ValidationException(f"DeadLetterConfig of target {target['Id']} needs an Arn.")


def _unsupported(target: Mapping[str, Any]) -> Json | None:
    kind = kind_of(target["Arn"])
    if kind in KINDS:
        return None
    return {
        "TargetId": target["Id"],
        "ErrorCode": "ValidationException",
        "ErrorMessage": f"s3batch cannot deliver to {target['Arn']}: target kind {kind!r} is not one of {sorted(KINDS)}.",
    }


def test_event_pattern(pattern: str | Mapping[str, Any], event: str | Mapping[str, Any]) -> bool:
    """Whether the pattern matches the event (TestEventPattern: the parser PutRule uses).

    Raises:
        InvalidEventPatternException: the pattern is not valid.
        ValidationException: the event is not a JSON object with the mandatory fields.
    """
    parsed = parse(pattern)
    try:
        doc = json.loads(event) if isinstance(event, str) else event
    except ValueError as exc:
        raise ValidationException("Parameter Event is not valid.") from exc
    if not valid_test_event(doc):
        raise ValidationException("Parameter Event is not valid.")
    return matches_pattern(parsed, doc)
