-- 0003: trails and their CloudTrail records; event rules, received events and deliveries.

CREATE TABLE trails (
    name    TEXT PRIMARY KEY,
    arn     TEXT NOT NULL,
    request TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE trail_events (
    event_id   TEXT PRIMARY KEY,
    event_time TEXT NOT NULL,
    event_name TEXT NOT NULL,
    bucket     TEXT NOT NULL,
    key        TEXT NOT NULL,
    record     TEXT NOT NULL
);

CREATE TABLE rules (
    bus         TEXT NOT NULL,
    name        TEXT NOT NULL,
    arn         TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'ENABLED',
    description TEXT,
    targets     TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (bus, name)
) WITHOUT ROWID;

-- Bumped by every rule change, so dispatchers know to recompile their matcher.
CREATE TABLE rules_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO rules_version (id, version) VALUES (1, 0);

-- Every event the bus received, with the rules it matched.
CREATE TABLE bus_events (
    event_id    TEXT PRIMARY KEY,
    bus         TEXT NOT NULL,
    received_at TEXT NOT NULL,
    event       TEXT NOT NULL,
    matched     TEXT NOT NULL DEFAULT '[]'
);

-- What each (event, rule, target) delivery did: the job it submitted, or why it failed.
CREATE TABLE deliveries (
    event_id   TEXT NOT NULL,
    rule       TEXT NOT NULL,
    target_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (event_id, rule, target_id)
) WITHOUT ROWID;
