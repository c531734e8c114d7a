"""Event buses and rules: put rules (patterns validated once) and their targets."""

from __future__ import annotations

import json
import logging

from s3batch.clock import Clock
from s3batch.events import store
from s3batch.events.models import Rule
from s3batch.events.patterns import parse
from s3batch.events.transform import validate_target_input
from s3batch.state.db import Database
from s3batch.types import Json

logger = logging.getLogger(__name__)

#: The bus S3 and CloudTrail events arrive on.
DEFAULT_BUS = "default"


class EventBus:
    """Rules and targets of the event buses."""

    def __init__(self, db: Database, clock: Clock, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id

    def rule_arn(self, bus: str, name: str) -> str:
        """A rule's ARN, as AWS writes it (the bus appears only for custom buses)."""
        path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
        return f"arn:aws:events:{self.region}:{self.account_id}:rule/{path}"

    def put_rule(self, request: Json, targets: list[Json] | None = None) -> Rule:
        """Create or update a rule from a PutRule request (and its PutTargets targets).

        Raises:
            InvalidEventPatternException: the pattern is not valid.
        """
        bus = request.get("EventBusName") or DEFAULT_BUS
        pattern = request["EventPattern"]
        text = pattern if isinstance(pattern, str) else json.dumps(pattern)
        parse(text)
        for target in targets or ():
            validate_target_input(target)
        with self.db.transaction() as conn:
            old = store.get_rule(conn, bus, request["Name"])
            kept = tuple(targets) if targets is not None else (old.targets if old else ())
            rule = Rule(
                bus, request["Name"], self.rule_arn(bus, request["Name"]), text, request.get("State", "ENABLED"),
                request.get("Description"), kept,
            )
            store.put_rule(conn, rule)
        logger.info("rule %s on bus %s: %d target(s)", rule.name, bus, len(kept), extra={"action": "put_rule"})
        return rule

    def rules(self, bus: str | None = None) -> list[Rule]:
        """Rules of one bus, or of all buses."""
        return store.rules(self.db.conn, bus)

    def recent_events(self, limit: int = 50) -> list[tuple[Json, list[str]]]:
        """The newest events with the rules they matched."""
        return store.recent_events(self.db.conn, limit)
