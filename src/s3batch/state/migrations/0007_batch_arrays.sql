-- 0007: array jobs. A parent has `array_size` and no `array_index`; a child `<parent>:<index>`
-- has both, plus `array_parent`. Job queues gain jobStateTimeLimitActions (kept in their spec);
-- `blocked_since` is when a RUNNABLE job began to block its queue's head (epoch ms).

ALTER TABLE jobs ADD COLUMN array_size INTEGER;
ALTER TABLE jobs ADD COLUMN array_index INTEGER;
ALTER TABLE jobs ADD COLUMN array_parent TEXT;
ALTER TABLE jobs ADD COLUMN blocked_since INTEGER;

CREATE INDEX jobs_by_array_parent ON jobs (array_parent, seq);
