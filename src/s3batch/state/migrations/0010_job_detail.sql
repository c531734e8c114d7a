-- 0010: what DescribeJobs shows of a job as it was submitted: `depends_spec`, its dependsOn
-- entries with their types as JSON (`[{"jobId": …, "type": "N_TO_N"}, {"type": "SEQUENTIAL"}]`;
-- `depends_on` keeps the job ids the scheduler waits for), and `platform_capabilities`, its
-- definition's platformCapabilities.

ALTER TABLE jobs ADD COLUMN depends_spec TEXT;
ALTER TABLE jobs ADD COLUMN platform_capabilities TEXT NOT NULL DEFAULT '["EC2"]';
