-- The whole current schema of the s3batch state database. New databases are created from
-- this file; existing ones are upgraded by migrations/NNNN_*.sql. A test checks both agree.

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
