"""Secrets: ensure creates and versions, lookups by name and ARN, values never leak."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from s3batch.clock import FakeClock
from s3batch.secrets import (
    InvalidParameterException,
    ResourceNotFoundException,
    Secret,
    Secrets,
)
from s3batch.state.db import Database

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VALUE = '{"username": "s3batch", "password": "hunter2-top-secret"}'
ARN_PREFIX = "arn:aws:secretsmanager:eu-west-3:123456789012:secret:"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def secrets(tmp_path: Path, clock: FakeClock) -> Iterator[Secrets]:
    db = Database(tmp_path / "state.db")
    yield Secrets(db, clock, "eu-west-3", "123456789012")
    db.close()


def test_ensure_creates_a_secret_with_an_aws_shaped_arn_and_version(secrets: Secrets) -> None:
    secret = secrets.ensure("RDS-credentials", VALUE, "the database")
    assert re.fullmatch(re.escape(ARN_PREFIX) + r"RDS-credentials-[A-Za-z0-9]{6}", secret.arn)
    assert re.fullmatch(r"[0-9a-f-]{36}", secret.version_id)
    assert secret.created_at == secret.version_created_at == T0
    assert secret.description == "the database"
    got, value = secrets.get_value("RDS-credentials")
    assert (got, value) == (secret, VALUE)


def test_ensure_with_the_same_value_keeps_the_version(secrets: Secrets, clock: FakeClock) -> None:
    first = secrets.ensure("db", VALUE)
    clock.advance(60)
    assert secrets.ensure("db", VALUE) == first


def test_ensure_with_a_new_value_makes_a_new_version_and_keeps_the_arn(
    secrets: Secrets, clock: FakeClock
) -> None:
    first = secrets.ensure("db", VALUE, "kept")
    clock.advance(60)
    second = secrets.ensure("db", VALUE + " ")
    assert second.arn == first.arn
    assert second.created_at == T0
    assert second.version_id != first.version_id
    assert second.version_created_at == second.changed_at == clock.now()
    assert second.description == "kept"
    assert secrets.get_value("db").secret_string == VALUE + " "


def test_ensure_updates_the_description_alone(secrets: Secrets) -> None:
    first = secrets.ensure("db", VALUE, "old")
    second = secrets.ensure("db", VALUE, "new")
    assert second.description == "new"
    assert second.version_id == first.version_id


def test_get_value_by_full_arn(secrets: Secrets) -> None:
    secret = secrets.ensure("db", VALUE)
    assert secrets.get_value(secret.arn) == (secret, VALUE)


def test_get_value_by_partial_arn_without_the_suffix(secrets: Secrets) -> None:
    secret = secrets.ensure("team/db-prod", VALUE)
    assert secrets.get_value(ARN_PREFIX + "team/db-prod") == (secret, VALUE)


@pytest.mark.parametrize(
    "secret_id",
    [
        "nope",
        "DB",
        ARN_PREFIX + "db-AbCdEf",  # right name, wrong suffix
        ARN_PREFIX + "nope",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",  # another region
        "arn:aws:secretsmanager:eu-west-3:000000000000:secret:db",  # another account
        ARN_PREFIX,
    ],
)
def test_unknown_secret_is_resource_not_found(secrets: Secrets, secret_id: str) -> None:
    secrets.ensure("db", VALUE)
    with pytest.raises(ResourceNotFoundException) as info:
        secrets.get_value(secret_id)
    assert info.value.code == "ResourceNotFoundException"
    assert info.value.message == "Secrets Manager can't find the specified secret."
    with pytest.raises(ResourceNotFoundException):
        secrets.describe(secret_id)


def test_get_value_of_another_version_or_stage_is_not_found(secrets: Secrets) -> None:
    secret = secrets.ensure("db", VALUE)
    assert secrets.get_value("db", version_id=secret.version_id, version_stage="AWSCURRENT")
    with pytest.raises(ResourceNotFoundException, match="VersionId: 0000"):
        secrets.get_value("db", version_id="0000" * 8)
    with pytest.raises(ResourceNotFoundException, match="staging label: AWSPREVIOUS"):
        secrets.get_value("db", version_stage="AWSPREVIOUS")


def test_describe_and_list_never_carry_the_value(secrets: Secrets) -> None:
    secrets.ensure("b", VALUE)
    secrets.ensure("a", VALUE)
    assert [s.name for s in secrets.list_secrets()] == ["a", "b"]
    assert isinstance(secrets.describe("a"), Secret)
    assert "hunter2" not in repr(secrets.list_secrets()) + repr(secrets.describe("a"))


@pytest.mark.parametrize("name", ["", "with space", "x" * 513, "tab\t", "ü"])
def test_invalid_names_are_refused(secrets: Secrets, name: str) -> None:
    with pytest.raises(InvalidParameterException):
        secrets.ensure(name, VALUE)


def test_a_too_long_value_is_refused_without_echoing_it(secrets: Secrets) -> None:
    value = "hunter2" * 10000
    with pytest.raises(InvalidParameterException) as info:
        secrets.ensure("db", value)
    assert "hunter2" not in str(info.value) + repr(info.value)


def test_the_value_never_appears_in_reprs_or_logs(
    secrets: Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets.ensure("db", VALUE)
    secrets.ensure("db", VALUE.replace("hunter2", "hunter3"))
    found = secrets.get_value("db")
    secret, value = found
    assert "hunter3" in value
    for text in (repr(found), str(found), repr(secret), str(secret), caplog.text):
        assert "hunter" not in text
    assert "***" in repr(found)
