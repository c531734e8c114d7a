-- 0006: custom event buses; pending delivery retries; dead letters (undeliverable events).

CREATE TABLE event_buses (
    name        TEXT PRIMARY KEY,
    arn         TEXT NOT NULL,
    description TEXT,
    created_at  TEXT NOT NULL
) WITHOUT ROWID;

-- A delivery that failed retriably and waits for its next attempt (due_at, ISO UTC).
CREATE TABLE event_retries (
    id          INTEGER PRIMARY KEY,
    bus         TEXT NOT NULL,
    rule        TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    event       TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    due_at      TEXT NOT NULL,
    last_error  TEXT
);
CREATE INDEX event_retries_due ON event_retries (due_at);

-- Events a target could not take, kept as a DeadLetterConfig queue would receive them.
CREATE TABLE dead_letters (
    id            TEXT PRIMARY KEY,
    bus           TEXT NOT NULL,
    rule          TEXT NOT NULL,
    rule_arn      TEXT NOT NULL,
    target_id     TEXT NOT NULL,
    target_arn    TEXT NOT NULL,
    dlq_arn       TEXT NOT NULL,
    event         TEXT NOT NULL,
    ingested_at   TEXT NOT NULL,
    error_code    TEXT NOT NULL,
    error_message TEXT NOT NULL,
    exhausted     TEXT CHECK (exhausted IN ('MaximumRetryAttempts', 'MaximumEventAgeInSeconds')),
    attempts      INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    replayed_at   TEXT
) WITHOUT ROWID;
