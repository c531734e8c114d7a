-- 0002: Batch (compute environments, job queues, job definitions, jobs, job events) and CloudWatch Logs.

-- Times are epoch milliseconds (AWS Batch and CloudWatch Logs speak epoch ms); `spec` columns
-- keep the AWS request a resource was created from, as JSON, for Describe* answers.
CREATE TABLE compute_environments (
    name         TEXT PRIMARY KEY,
    arn          TEXT NOT NULL UNIQUE,
    type         TEXT NOT NULL CHECK (type IN ('MANAGED', 'UNMANAGED')),
    compute_type TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('ENABLED', 'DISABLED')),
    max_vcpus    INTEGER NOT NULL,
    spec         TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- `id` is the creation order: the tie-break between queues of equal priority.
CREATE TABLE job_queues (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    arn        TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL CHECK (state IN ('ENABLED', 'DISABLED')),
    priority   INTEGER NOT NULL,
    ce_order   TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- One row per revision. `fingerprint` identifies the registered content, so reloading a
-- stack does not register an identical definition again.
CREATE TABLE job_definitions (
    name           TEXT NOT NULL,
    revision       INTEGER NOT NULL,
    arn            TEXT NOT NULL UNIQUE,
    status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    type           TEXT NOT NULL,
    parameters     TEXT NOT NULL,
    container      TEXT NOT NULL,
    retry_strategy TEXT NOT NULL,
    timeout        INTEGER,
    spec           TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (name, revision)
) WITHOUT ROWID;

-- `seq` is the submission order (FIFO within a queue). `status` changes only through the
-- guarded transition in batch/store.py, which also appends a job_events row.
CREATE TABLE jobs (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    arn             TEXT NOT NULL,
    queue           TEXT NOT NULL,
    queue_arn       TEXT NOT NULL,
    definition_arn  TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN
                        ('SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED')),
    status_reason   TEXT,
    parameters      TEXT NOT NULL,
    container       TEXT NOT NULL,
    vcpus           REAL NOT NULL,
    memory          INTEGER,
    retry_strategy  TEXT NOT NULL,
    timeout         INTEGER,
    attempts        TEXT NOT NULL DEFAULT '[]',
    exit_code       INTEGER,
    reason          TEXT,
    log_stream_name TEXT,
    compute_env     TEXT,
    pgid            INTEGER,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    stopped_at      INTEGER,
    idempotency_key TEXT UNIQUE,
    trigger_info    TEXT
);

CREATE INDEX jobs_by_status ON jobs (status, queue, seq);

CREATE TABLE job_events (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id),
    at          INTEGER NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    reason      TEXT
);

CREATE INDEX job_events_by_job ON job_events (job_id, id);

CREATE TABLE log_groups (
    name       TEXT PRIMARY KEY,
    arn        TEXT NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- `next_seq` numbers the stream's events in insertion order (the paging tokens' position).
CREATE TABLE log_streams (
    id                    INTEGER PRIMARY KEY,
    group_name            TEXT NOT NULL REFERENCES log_groups(name),
    name                  TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    first_event_timestamp INTEGER,
    last_event_timestamp  INTEGER,
    last_ingestion_time   INTEGER,
    next_seq              INTEGER NOT NULL DEFAULT 1,
    stored_bytes          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_name, name)
);

CREATE TABLE log_events (
    stream_id      INTEGER NOT NULL REFERENCES log_streams(id),
    seq            INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    ingestion_time INTEGER NOT NULL,
    message        TEXT NOT NULL,
    PRIMARY KEY (stream_id, seq)
) WITHOUT ROWID;
