"""``s3batch jobs list``: the newest jobs, at most ``--limit``, and how many more there are."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from s3batch.cli.admin import jobs
from s3batch.config import Settings
from s3batch.runtime import open_state


def test_jobs_list_shows_the_newest_and_counts_the_rest(tmp_path: Path) -> None:
    db, services = open_state(Settings.load(os.environ, data_dir=tmp_path))
    try:
        batch = services.batch
        batch.create_compute_environment(
            {
                "computeEnvironmentName": "ce",
                "type": "UNMANAGED",
                "unmanagedvCpus": 2,
                "state": "DISABLED",
            }
        )
        batch.create_job_queue(
            {
                "jobQueueName": "q",
                "priority": 1,
                "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ce"}],
            }
        )
        batch.register_job_definition(
            {
                "jobDefinitionName": "d",
                "type": "container",
                "containerProperties": {"command": ["true"]},
            }
        )
        ids = [
            batch.submit_job({"jobName": f"job-{i}", "jobQueue": "q", "jobDefinition": "d"}).id
            for i in range(7)
        ]
    finally:
        db.close()
    result = CliRunner().invoke(jobs, ["list", "--data-dir", str(tmp_path), "--limit", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ids[::-1][:3]  # the newest first
    assert lines[4] == "(4 older job(s) not shown: --limit 7 shows them all)"
    everything = CliRunner().invoke(jobs, ["list", "--data-dir", str(tmp_path), "--queue", "q"])
    assert [line.split()[0] for line in everything.output.splitlines()[1:]] == ids[::-1]
