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
