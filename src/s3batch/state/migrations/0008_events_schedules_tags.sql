-- 0008: scheduled rules and tags. `rules.schedule` holds a rule's ScheduleExpression (its
-- `pattern` is '' when it has only a schedule); `rule_schedules` is when each schedule fires
-- next (NULL: never again), for the expression it was computed from; `event_tags` holds the
-- tags of rules and buses, by ARN.

ALTER TABLE rules ADD COLUMN schedule TEXT;

CREATE TABLE rule_schedules (
    bus        TEXT NOT NULL,
    rule       TEXT NOT NULL,
    expression TEXT NOT NULL,
    next_at    TEXT,
    PRIMARY KEY (bus, rule)
) WITHOUT ROWID;

CREATE TABLE event_tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;
