-- 0005: the Batch API: cancel/terminate requests and dependencies on jobs; resource tags.
-- `stop_request` is CANCEL or TERMINATE once asked for; the supervisor polls it for running jobs.

ALTER TABLE jobs ADD COLUMN stop_request TEXT CHECK (stop_request IN ('CANCEL', 'TERMINATE'));
ALTER TABLE jobs ADD COLUMN stop_reason TEXT;
ALTER TABLE jobs ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]';

CREATE TABLE batch_tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;
