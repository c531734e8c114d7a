-- 0004: Secrets Manager secrets, one row per secret holding its current (AWSCURRENT) version.

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
