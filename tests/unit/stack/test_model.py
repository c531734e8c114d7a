"""Stack files: AWS request shapes, validated; every error names the file, the section index and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s3batch.credentials import Credentials
from s3batch.errors import ConfigError
from s3batch.stack.model import (
    SECTIONS,
    BucketSpec,
    SecretSpec,
    Stack,
    default,
    load,
    parse,
    read_text,
)

SRC = "stack.yaml"
NO_ENV: dict[str, str] = {}


def _error(doc: object, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        parse(doc, SRC, environ or NO_ENV)
    assert info.value.code == "InvalidConfiguration"
    return info.value.message


def test_an_empty_document_is_an_empty_stack() -> None:
    assert parse(None, SRC, NO_ENV) == Stack()
    assert parse({}, SRC, NO_ENV) == Stack([], [])
    assert parse({"buckets": None, "credentials": []}, SRC, NO_ENV) == Stack()


def test_a_full_document() -> None:
    doc = {
        "buckets": [
            {"Bucket": "s3-eventbridge-batch", "EventBridgeEnabled": True},
            {"Bucket": "plain"},
        ],
        "credentials": [{"AccessKeyId": "AKIA1", "SecretAccessKey": "s1"}],
    }
    assert parse(doc, SRC, NO_ENV) == Stack(
        [BucketSpec("s3-eventbridge-batch", True), BucketSpec("plain", False)],
        [Credentials("AKIA1", "s1")],
    )


@pytest.mark.parametrize("doc", [[], "buckets", 3])
def test_the_top_level_must_be_a_mapping(doc: object) -> None:
    message = _error(doc)
    assert message.startswith(f"{SRC}: ") and "mapping at the top level" in message


def test_unknown_sections_are_named_with_the_known_ones() -> None:
    message = _error({"buckets": [], "jobQueue": [], "Rules": []})
    assert message == f"{SRC}: unknown section(s) Rules, jobQueue; known: {', '.join(SECTIONS)}"
    assert "jobQueues" in message


@pytest.mark.parametrize("value", ["b", {"Bucket": "b"}, [{"Bucket": "b"}, "c"], [["Bucket", "b"]]])
def test_a_section_must_be_a_list_of_mappings(value: object) -> None:
    assert _error({"buckets": value}) == f"{SRC}: 'buckets' must be a list of mappings"
    assert _error({"credentials": value}) == f"{SRC}: 'credentials' must be a list of mappings"


@pytest.mark.parametrize(
    "bucket", [{}, {"Bucket": ""}, {"Bucket": None}, {"Bucket": 42}, {"EventBridgeEnabled": True}]
)
def test_a_bucket_needs_a_name_and_the_error_gives_its_index(bucket: dict[str, object]) -> None:
    message = _error({"buckets": [{"Bucket": "ok"}, {"Bucket": "ok2"}, bucket]})
    assert message == f"{SRC}: buckets[2]: 'Bucket' is required and must be a non-empty string"


def test_unknown_bucket_fields_are_named() -> None:
    message = _error(
        {"buckets": [{"Bucket": "ok"}, {"Bucket": "b", "Versioning": True, "ACL": "private"}]}
    )
    assert message.startswith(f"{SRC}: buckets[1]: unknown field(s) ACL, Versioning")


@pytest.mark.parametrize("value", ["yes", "true", 1, None])
def test_eventbridge_enabled_must_be_a_boolean(value: object) -> None:
    message = _error({"buckets": [{"Bucket": "b", "EventBridgeEnabled": value}]})
    assert message == f"{SRC}: buckets[0].EventBridgeEnabled: must be true or false"


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ({"SecretAccessKey": "s"}, "AccessKeyId"),
        ({"AccessKeyId": "A"}, "SecretAccessKey"),
        ({"AccessKeyId": "A", "SecretAccessKey": ""}, "SecretAccessKey"),
    ],
)
def test_credentials_need_both_halves_and_the_error_gives_the_index(
    entry: dict[str, str], field: str
) -> None:
    message = _error({"credentials": [{"AccessKeyId": "A0", "SecretAccessKey": "s0"}, entry]})
    assert message == f"{SRC}: credentials[1]: '{field}' is required and must be a non-empty string"


def test_unknown_credentials_fields_are_named() -> None:
    message = _error({"credentials": [{"AccessKeyId": "A", "SecretAccessKey": "s", "Token": "t"}]})
    assert message.startswith(f"{SRC}: credentials[0]: unknown field(s) Token")


# -- secrets ---------------------------------------------------------------------------------


def test_secrets_are_literal_or_embedded() -> None:
    doc = {
        "secrets": [
            {"Name": "RDS-credentials", "Description": "pg", "embedded": "postgres"},
            {"Name": "Redshift-credentials", "embedded": "duckdb"},
            {"Name": "api-key", "SecretString": '{"k": "v"}'},
        ]
    }
    assert parse(doc, SRC, NO_ENV).secrets == [
        SecretSpec("RDS-credentials", None, "postgres", "pg"),
        SecretSpec("Redshift-credentials", None, "duckdb"),
        SecretSpec("api-key", '{"k": "v"}'),
    ]


def test_secret_values_are_expanded_from_the_given_environment_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FROM_PROCESS", "leak")
    doc = {"secrets": [{"Name": "s", "SecretString": "user=${env:DB_USER};pw=${env:DB_PW}"}]}
    (secret,) = parse(doc, SRC, {"DB_USER": "app", "DB_PW": "hunter2"}).secrets
    assert secret.secret_string == "user=app;pw=hunter2"
    message = _error({"secrets": [{"Name": "s", "SecretString": "${env:FROM_PROCESS}"}]})
    assert (
        message == f"{SRC}: secrets[0].SecretString: environment variable FROM_PROCESS is not set"
    )


def test_secret_values_do_not_appear_in_reprs() -> None:
    stack = parse({"secrets": [{"Name": "s", "SecretString": "hunter2"}]}, SRC, NO_ENV)
    assert "hunter2" not in repr(stack)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ({"Name": "s"}, "secrets[1]: give exactly one of SecretString and embedded"),
        (
            {"Name": "s", "SecretString": "x", "embedded": "duckdb"},
            "secrets[1]: give exactly one of SecretString and embedded",
        ),
        (
            {"Name": "s", "embedded": "mysql"},
            "secrets[1].embedded: must be one of postgres, duckdb, not 'mysql'",
        ),
        ({"Name": "s", "SecretString": 42}, "secrets[1]: Invalid type for parameter SecretString"),
        ({"SecretString": "x"}, 'secrets[1]: Missing required parameter in input: "Name"'),
        (
            {"Name": "s", "SecretString": "x", "Colour": "red"},
            'secrets[1]: Unknown parameter in input: "Colour"',
        ),
    ],
)
def test_secret_errors_name_the_index_and_field(secret: dict[str, object], message: str) -> None:
    assert _error({"secrets": [{"Name": "ok", "embedded": "duckdb"}, secret]}).startswith(
        f"{SRC}: {message}"
    )


# -- sections checked against botocore's request shapes --------------------------------------------


JOB_QUEUE = {
    "jobQueueName": "q",
    "priority": 1,
    "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "local"}],
}
COMPUTE_ENV = {
    "computeEnvironmentName": "local",
    "type": "MANAGED",
    "computeResources": {"type": "FARGATE", "maxvCpus": 4},
}
RULE = {"Name": "r", "EventPattern": '{"source": ["aws.s3"]}', "Targets": [{"Id": "t", "Arn": "q"}]}


def test_aws_request_sections_are_kept_as_written() -> None:
    doc = {"jobQueues": [JOB_QUEUE], "computeEnvironments": [COMPUTE_ENV], "rules": [RULE]}
    stack = parse(doc, SRC, NO_ENV)
    assert stack.job_queues == [JOB_QUEUE]
    assert stack.compute_environments == [COMPUTE_ENV]  # subnets are waived locally
    assert stack.rules == [RULE]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"jobQueues": [JOB_QUEUE, {**JOB_QUEUE, "priority": "high"}]},
            "jobQueues[1]: Invalid type for parameter priority",
        ),
        (
            {"jobQueues": [JOB_QUEUE, {**JOB_QUEUE, "bogus": 1}]},
            'jobQueues[1]: Unknown parameter in input: "bogus"',
        ),
        (
            {"jobQueues": [{k: v for k, v in JOB_QUEUE.items() if k != "jobQueueName"}]},
            'jobQueues[0]: Missing required parameter in input: "jobQueueName"',
        ),
        (
            {"computeEnvironments": [{**COMPUTE_ENV, "computeResources": {"type": "FARGATE"}}]},
            "computeEnvironments[0]: Missing required parameter in computeResources",
        ),
        (
            {"jobDefinitions": [{"jobDefinitionName": "d"}]},
            'jobDefinitions[0]: Missing required parameter in input: "type"',
        ),
        (
            {"rules": [RULE, {"Name": "r2", "Targets": []}]},
            "rules[1]: 'EventPattern' or 'ScheduleExpression' is required",
        ),
        (
            {"rules": [{**RULE, "Targets": [{"Id": "t"}]}]},
            'rules[0]: Missing required parameter in Targets[0]: "Arn"',
        ),
    ],
)
def test_aws_request_errors_name_the_index_and_field(doc: dict[str, object], message: str) -> None:
    assert _error(doc).startswith(f"{SRC}: {message}")


def test_a_scheduled_rule_needs_no_pattern() -> None:
    scheduled = {
        "Name": "nightly",
        "ScheduleExpression": "cron(0 2 * * ? *)",
        "Targets": RULE["Targets"],
    }
    assert parse({"rules": [scheduled]}, SRC, NO_ENV).rules == [scheduled]


def test_an_enum_typo_is_refused_naming_the_field() -> None:
    """The shapes module promises enum checks; a misspelt state must not pass validation."""
    message = _error({"jobQueues": [{**JOB_QUEUE, "state": "ENABLD"}]})
    assert message.startswith(f"{SRC}: jobQueues[0]") and "state" in message


def test_table_errors_name_the_table_column_and_field() -> None:
    doc = {
        "tables": [
            {
                "tableName": "t",
                "columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "varchr(10)"}],
            }
        ]
    }
    assert _error(doc) == f"{SRC}: tables[0].columns[1].type: unsupported type 'varchr(10)'"


def test_the_default_stack_is_valid() -> None:
    stack = default(NO_ENV)
    assert [b.name for b in stack.buckets] == ["s3-eventbridge-batch"]
    assert stack.buckets[0].eventbridge_enabled
    assert {s.name for s in stack.secrets} == {"RDS-credentials", "Redshift-credentials"}
    assert len(stack.rules) == 1 and len(stack.job_queues) == 1 and len(stack.job_definitions) == 1
    assert [t.name for t in stack.tables] == ["persons"]
    # the definition runs on the platform of its queue's compute environment (AWS places
    # a job only on a compute environment of the definition's platform)
    [ce], [definition] = stack.compute_environments, stack.job_definitions
    assert definition["platformCapabilities"] == [ce["computeResources"]["type"]] == ["FARGATE"]


# -- reading files -----------------------------------------------------------------------------------


def test_read_text_names_its_source() -> None:
    with pytest.raises(ConfigError, match=re.escape("inline: buckets[0]: 'Bucket' is required")):
        read_text("buckets:\n  - EventBridgeEnabled: true\n", "inline", NO_ENV)
    with pytest.raises(ConfigError, match="inline: not valid YAML"):
        read_text("buckets: [\n", "inline", NO_ENV)


def test_load_reads_yaml(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text(
        "buckets:\n"
        "  - Bucket: s3-eventbridge-batch\n"
        "    EventBridgeEnabled: true\n"
        "credentials:\n"
        "  - {AccessKeyId: AKIA1, SecretAccessKey: s1}\n",
        encoding="utf-8",
    )
    stack = load(path, NO_ENV)
    assert stack.buckets == [BucketSpec("s3-eventbridge-batch", True)]
    assert stack.credentials == [Credentials("AKIA1", "s1")]


def test_load_of_an_empty_file_is_an_empty_stack(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load(path, NO_ENV) == Stack()


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("buckets:\n  - Bucket: b\n    Bogus: 1\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: buckets[0]: unknown field(s) Bogus")):
        load(path, NO_ENV)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=re.escape(f"cannot read stack file {path}")):
        load(path, NO_ENV)


def test_invalid_yaml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("buckets: [unclosed\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not valid YAML")):
        load(path, NO_ENV)


def test_a_file_that_is_not_utf8_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("buckets:\n  - Bucket: café\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load(path, NO_ENV)
