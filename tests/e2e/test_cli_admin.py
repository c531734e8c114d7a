"""The admin commands a user runs next to `s3batch up`: jobs, logs, stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from e2e_support import aws_cp

from s3batch.cli.child import ChildServer
from s3batch.cli.demo import sample_persons, wait_for_job


def s3batch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "s3batch", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_jobs_list_describe_and_logs(pipeline: ChildServer, tmp_path: Path) -> None:
    src = tmp_path / "cli.csv"
    src.write_bytes(sample_persons(3, seed=4242))
    before = {
        line.split()[0]
        for line in s3batch(
            "jobs", "list", "--data-dir", str(pipeline.data_dir)
        ).stdout.splitlines()[1:]
    }
    aws_cp(pipeline, src, "s3://s3-eventbridge-batch/cli.csv")
    wait_for_job(pipeline.data_dir, before, timeout=60)
    listed = s3batch("jobs", "list", "--data-dir", str(pipeline.data_dir), "--status", "SUCCEEDED")
    assert listed.returncode == 0, listed.stderr
    assert "load-persons" in listed.stdout
    described = None
    for line in listed.stdout.splitlines()[1:]:
        job_id = line.split()[0]
        out = s3batch("jobs", "describe", "--data-dir", str(pipeline.data_dir), job_id)
        assert out.returncode == 0, out.stderr
        detail = json.loads(out.stdout)
        if detail["parameters"].get("key") == "cli.csv":
            described = detail
    assert described is not None, "the job for cli.csv is not listed as SUCCEEDED"
    assert described["status"] == "SUCCEEDED" and described["jobName"] == "load-persons"
    assert described["container"]["command"][:2] == ["s3batch", "load"]
    assert described["trigger"]["source"] == "aws.s3"
    text = json.dumps(described)
    assert pipeline.credentials.secret_access_key not in text, (
        "a job description must not carry the secret key"
    )
    logs = s3batch("logs", "--data-dir", str(pipeline.data_dir), described["jobId"])
    assert logs.returncode == 0, logs.stderr
    assert "COPY 3" in logs.stdout and "Loaded 3 rows" in logs.stdout


def test_jobs_list_without_state_is_a_clear_error(tmp_path: Path) -> None:
    out = s3batch("jobs", "list", "--data-dir", str(tmp_path / "nothing"))
    assert out.returncode == 2
    assert "no s3batch state in" in out.stderr


def test_stack_show_is_a_valid_stack(tmp_path: Path) -> None:
    shown = s3batch("stack", "show")
    assert shown.returncode == 0
    doc = yaml.safe_load(shown.stdout)
    assert doc["rules"][0]["EventPattern"]["detail"]["eventName"] == [
        "PutObject",
        "CompleteMultipartUpload",
        "CopyObject",
    ]
    path = tmp_path / "stack.yaml"
    path.write_text(shown.stdout)
    valid = s3batch("stack", "validate", str(path))
    assert valid.returncode == 0 and "valid" in valid.stdout


def test_stack_validate_names_the_field(tmp_path: Path) -> None:
    doc = yaml.safe_load(s3batch("stack", "show").stdout)
    doc["jobDefinitions"][0]["containerProperties"]["comand"] = doc["jobDefinitions"][0][
        "containerProperties"
    ].pop("command")
    doc["jobQueues"][0]["state"] = "ENABLD"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = s3batch("stack", "validate", str(path))
    assert out.returncode == 2
    assert "jobQueues[0]" in out.stderr and "ENABLD" in out.stderr
    doc["jobQueues"][0]["state"] = "ENABLED"
    path.write_text(yaml.safe_dump(doc))
    out = s3batch("stack", "validate", str(path))
    assert out.returncode == 2
    assert "jobDefinitions[0]" in out.stderr and "comand" in out.stderr


def test_secret_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        'secrets:\n  - Name: db\n    SecretString: \'{"password": "${env:DB_PASSWORD}"}\'\n'
    )
    missing = s3batch("stack", "validate", str(path), env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 2 and "DB_PASSWORD is not set" in missing.stderr
    ok = s3batch(
        "stack", "validate", str(path), env={"PATH": "/usr/bin:/bin", "DB_PASSWORD": "hunter2"}
    )
    assert ok.returncode == 0 and "hunter2" not in ok.stdout + ok.stderr
