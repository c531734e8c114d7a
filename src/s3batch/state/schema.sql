-- The whole current schema of the s3batch state database. New databases are created from
-- this file; existing ones are upgraded by migrations/NNNN_*.sql. A test checks both agree.

-- from 0001_initial.sql
CREATE TABLE buckets (
    name                TEXT PRIMARY KEY,
    region              TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    eventbridge_enabled INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- One row per key. Bytes live inline (small single-PUT objects: durable with the commit)
-- or in immutable blob files listed in `segments` (JSON [[blob_id, size], ...]).
CREATE TABLE objects (
    bucket             TEXT NOT NULL REFERENCES buckets(name),
    key                TEXT NOT NULL,
    size               INTEGER NOT NULL,
    etag               TEXT NOT NULL,
    last_modified      TEXT NOT NULL,
    content_type       TEXT,
    content_encoding   TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    checksum_algorithm TEXT,
    checksum_value     TEXT,
    checksum_type      TEXT,
    data               BLOB,
    segments           TEXT,
    PRIMARY KEY (bucket, key),
    CHECK ((data IS NULL) <> (segments IS NULL))
) WITHOUT ROWID;

CREATE TABLE uploads (
    upload_id          TEXT PRIMARY KEY,
    bucket             TEXT NOT NULL REFERENCES buckets(name),
    key                TEXT NOT NULL,
    initiated          TEXT NOT NULL,
    content_type       TEXT,
    content_encoding   TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    checksum_algorithm TEXT
);
CREATE INDEX uploads_by_bucket ON uploads (bucket, key);

CREATE TABLE upload_parts (
    upload_id      TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
    part_number    INTEGER NOT NULL,
    size           INTEGER NOT NULL,
    etag           TEXT NOT NULL,
    checksum_value TEXT,
    blob_id        TEXT NOT NULL,
    last_modified  TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;

-- Blob files no longer referenced; deleted after the transaction that released them
-- commits, and again at start-up for any a crash left behind.
CREATE TABLE released_blobs (
    blob_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The transactional outbox: events written in the same transaction as the change that
-- caused them, delivered later (at least once) by the component that consumes `topic`.
CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    claimed_at TEXT,
    acked_at   TEXT
);
CREATE INDEX outbox_pending ON outbox (topic, id) WHERE acked_at IS NULL;

-- from 0002_batch_logs.sql
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
, stop_request TEXT CHECK (stop_request IN ('CANCEL', 'TERMINATE')), stop_reason TEXT, depends_on TEXT NOT NULL DEFAULT '[]');

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

-- from 0003_events_trail.sql
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

-- from 0004_secrets.sql
CREATE TABLE secrets (
    name               TEXT PRIMARY KEY,
    arn                TEXT NOT NULL UNIQUE,
    description        TEXT,
    created_at         TEXT NOT NULL,
    changed_at         TEXT NOT NULL,
    version_id         TEXT NOT NULL,
    version_created_at TEXT NOT NULL,
    secret_string      TEXT NOT NULL
) WITHOUT ROWID;

-- from 0005_batch_api.sql
-- jobs gained stop_request / stop_reason (CancelJob, TerminateJob) and depends_on (above).
CREATE TABLE batch_tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;

-- from 0006_events_delivery.sql
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

-- 0007: array jobs. A parent has `array_size` and no `array_index`; a child `<parent>:<index>`
-- has both, plus `array_parent`. Job queues gain jobStateTimeLimitActions (kept in their spec);
-- `blocked_since` is when a RUNNABLE job began to block its queue's head (epoch ms).

ALTER TABLE jobs ADD COLUMN array_size INTEGER;
ALTER TABLE jobs ADD COLUMN array_index INTEGER;
ALTER TABLE jobs ADD COLUMN array_parent TEXT;
ALTER TABLE jobs ADD COLUMN blocked_since INTEGER;

CREATE INDEX jobs_by_array_parent ON jobs (array_parent, seq);

-- from 0008_events_schedules_tags.sql
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

-- from 0009_object_headers.sql
-- 0009: the standard headers S3 keeps with an object besides Content-Type and
-- Content-Encoding: Cache-Control, Content-Disposition, Content-Language and Expires, stored
-- as the writer sent them (Expires is not parsed: S3 returns it verbatim). An upload keeps
-- them until it completes into an object.

ALTER TABLE objects ADD COLUMN cache_control TEXT;
ALTER TABLE objects ADD COLUMN content_disposition TEXT;
ALTER TABLE objects ADD COLUMN content_language TEXT;
ALTER TABLE objects ADD COLUMN expires TEXT;

ALTER TABLE uploads ADD COLUMN cache_control TEXT;
ALTER TABLE uploads ADD COLUMN content_disposition TEXT;
ALTER TABLE uploads ADD COLUMN content_language TEXT;
ALTER TABLE uploads ADD COLUMN expires TEXT;

-- from 0010_job_detail.sql
-- 0010: what DescribeJobs shows of a job as it was submitted: `depends_spec`, its dependsOn
-- entries with their types as JSON (`[{"jobId": …, "type": "N_TO_N"}, {"type": "SEQUENTIAL"}]`;
-- `depends_on` keeps the job ids the scheduler waits for), and `platform_capabilities`, its
-- definition's platformCapabilities.

ALTER TABLE jobs ADD COLUMN depends_spec TEXT;
ALTER TABLE jobs ADD COLUMN platform_capabilities TEXT NOT NULL DEFAULT '["EC2"]';

-- 0011: `batch_config_version`, one counter that every change to compute environments and
-- job queues moves on (by trigger, whoever writes), so the scheduler decodes them again
-- only when they changed instead of on each pass.

CREATE TABLE batch_config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO batch_config_version (id, version) VALUES (1, 0);

CREATE TRIGGER compute_environments_inserted AFTER INSERT ON compute_environments
BEGIN UPDATE batch_config_version SET version = version + 1; END;
CREATE TRIGGER compute_environments_updated AFTER UPDATE ON compute_environments
BEGIN UPDATE batch_config_version SET version = version + 1; END;
CREATE TRIGGER compute_environments_deleted AFTER DELETE ON compute_environments
BEGIN UPDATE batch_config_version SET version = version + 1; END;
CREATE TRIGGER job_queues_inserted AFTER INSERT ON job_queues
BEGIN UPDATE batch_config_version SET version = version + 1; END;
CREATE TRIGGER job_queues_updated AFTER UPDATE ON job_queues
BEGIN UPDATE batch_config_version SET version = version + 1; END;
CREATE TRIGGER job_queues_deleted AFTER DELETE ON job_queues
BEGIN UPDATE batch_config_version SET version = version + 1; END;
