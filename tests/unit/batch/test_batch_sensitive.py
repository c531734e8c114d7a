"""A job definition's secrets: valueFrom parsing, registration checks, resolution at launch."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from s3batch.batch import requests, sensitive
from s3batch.batch.docker import docker_argv
from s3batch.batch.errors import ClientException, ResourceInitializationError
from s3batch.batch.runner import JobEnvironment, Launch
from s3batch.batch.sensitive import SecretRef, parse, resolve
from s3batch.errors import NotFound

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:RDS-credentials-AbCdEf"
#: A value no assertion may find anywhere but in the resolved environment.
VALUE = "s3cr3t-Value-0nly-here"


@dataclass(frozen=True)
class Stored:
    secret_string: str


class Source:
    """Secrets by id: what a SecretSource returns, and what it was asked for."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[tuple[str, str | None, str | None]] = []

    def get_value(
        self, secret_id: str, version_id: str | None = None, version_stage: str | None = None
    ) -> Stored:
        self.asked.append((secret_id, version_id, version_stage))
        if secret_id not in self.values:
            raise NotFound("Secrets Manager can't find the specified secret.")
        return Stored(self.values[secret_id])


@pytest.mark.parametrize(
    ("value_from", "ref"),
    [
        ("RDS-credentials", SecretRef("RDS-credentials")),
        ("path/to/db@x", SecretRef("path/to/db@x")),
        (ARN, SecretRef(ARN)),
        (ARN.removesuffix("-AbCdEf"), SecretRef(ARN.removesuffix("-AbCdEf"))),
        (f"{ARN}:password::", SecretRef(ARN, "password")),
        (f"{ARN}:password:AWSCURRENT:", SecretRef(ARN, "password", "AWSCURRENT")),
        (f"{ARN}::AWSPREVIOUS:", SecretRef(ARN, None, "AWSPREVIOUS")),
        (f"{ARN}:::v-1", SecretRef(ARN, None, None, "v-1")),
        (f"{ARN}:k:AWSCURRENT:v-1", SecretRef(ARN, "k", "AWSCURRENT", "v-1")),
    ],
)
def test_value_from_forms(value_from: str, ref: SecretRef) -> None:
    assert parse(value_from) == ref


@pytest.mark.parametrize(
    ("value_from", "complaint"),
    [
        ("", "required"),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/db", "Systems Manager"),
        ("name:key", "neither a secret name nor a secret ARN"),
        (f"{ARN}:password", "optionally followed by"),
        (f"{ARN}:a:b:c:d", "optionally followed by"),
        ("arn:aws:s3:::bucket/key", "arn:aws:secretsmanager"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:key:x", "does not name a secret"),
    ],
)
def test_value_from_refused(value_from: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse(value_from)


def _definition(secrets: object, environment: object = None) -> dict[str, object]:
    props = {"command": ["true"], "secrets": secrets, "environment": environment}
    return {"jobDefinitionName": "d", "type": "container", "containerProperties": props}


def test_registration_keeps_secrets_and_checks_them_as_aws_does() -> None:
    secrets = [{"name": "DBPW", "valueFrom": "RDS-credentials"}, {"name": "K", "valueFrom": ARN}]
    definition = requests.job_definition(_definition(secrets), 0)
    assert definition.container.secrets == (("DBPW", "RDS-credentials"), ("K", ARN))
    for bad, complaint in [
        ([{"valueFrom": "x"}], "name is required"),
        ([{"name": "X"}], "valueFrom is required"),
        ([{"name": "X", "valueFrom": ""}], "valueFrom is required"),
        ("DBPW", "must be a list of objects"),
        ([{"name": "AWS_BATCH_X", "valueFrom": "x"}], "reserved"),
        ([{"name": "X", "valueFrom": "arn:aws:ssm:us-east-1:0:parameter/p"}], "Parameter Store"),
    ]:
        with pytest.raises(ClientException, match=complaint):
            requests.job_definition(_definition(bad), 0)


def test_resolve_whole_secret_json_key_and_version() -> None:
    source = Source({"plain": VALUE, ARN: json.dumps({"password": VALUE, "port": 5432})})
    found = resolve(
        [("A", "plain"), ("B", f"{ARN}:password::"), ("C", f"{ARN}:port:AWSCURRENT:v1")], source
    )
    assert found == {"A": VALUE, "B": VALUE, "C": "5432"}
    assert source.asked[-1] == (ARN, "v1", "AWSCURRENT")


@pytest.mark.parametrize(
    ("value_from", "stored", "complaint"),
    [
        (
            "missing",
            {},
            "failed to fetch secret missing from secrets manager: "
            "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        ),
        (f"{ARN}:user::", {ARN: json.dumps({"password": VALUE})}, "did not contain json key user"),
        (f"{ARN}:user::", {ARN: VALUE}, "is not a JSON object"),
        (f"{ARN}:user::", {ARN: json.dumps([VALUE])}, "is not a JSON object"),
    ],
)
def test_unresolved_secret_fails_the_start_naming_value_from_not_the_value(
    value_from: str, stored: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ResourceInitializationError) as raised:
        resolve([("DBPW", value_from)], Source(stored))
    message = raised.value.message
    assert message.startswith(sensitive.PULL_FAILED)
    assert complaint in message and value_from in message
    assert VALUE not in message and VALUE not in raised.value.status_reason


def test_with_secrets_sets_them_over_the_environment() -> None:
    env = JobEnvironment("http://127.0.0.1:1", "k", "s", "us-east-1", secrets=Source({"p": VALUE}))
    launch = Launch(
        "j", 1, ("true",), {"DBPW": "plain", "X": "1"}, "g", "s", secrets=(("DBPW", "p"),)
    )
    assert env.with_secrets(launch).env == {"DBPW": VALUE, "X": "1"}
    assert VALUE not in repr(launch)
    without = Launch("j", 1, ("true",), {"X": "1"}, "g", "s")
    assert (
        JobEnvironment("http://127.0.0.1:1", "k", "s", "us-east-1").with_secrets(without) is without
    )


def test_the_docker_executor_passes_a_secret_by_name_only() -> None:
    env = JobEnvironment("http://127.0.0.1:1", "k", "s", "us-east-1", secrets=Source({"p": VALUE}))
    launch = Launch("j", 1, ("true",), {}, "g", "s", image="alpine", secrets=(("DBPW", "p"),))
    argv = docker_argv(env.with_secrets(launch))
    assert "DBPW" in argv and argv[argv.index("DBPW") - 1] == "-e"
    assert not any(VALUE in arg for arg in argv)


def test_without_a_secret_source_a_job_with_secrets_cannot_start() -> None:
    with pytest.raises(ResourceInitializationError, match="no Secrets Manager here"):
        resolve([("DBPW", "p")], None)
