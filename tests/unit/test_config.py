"""Settings: S3BATCH_* environment variables, overridden by flags, validated once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from s3batch.config import DEFAULT_DATA_DIR, DEFAULT_PORT, Settings
from s3batch.errors import ConfigError


def test_defaults_when_nothing_is_set() -> None:
    settings = Settings.load({})
    assert settings == Settings()
    assert settings.data_dir == DEFAULT_DATA_DIR == Path(".s3batch")
    assert settings.port == DEFAULT_PORT == 4566
    assert (settings.host, settings.region, settings.account_id) == (
        "127.0.0.1",
        "us-east-1",
        "000000000000",
    )
    assert settings.stack_file is None
    assert settings.access_key_id is None and settings.secret_access_key is None


def test_every_field_is_read_from_its_s3batch_variable() -> None:
    environ = {
        "S3BATCH_DATA_DIR": "/var/lib/s3batch",
        "S3BATCH_HOST": "0.0.0.0",
        "S3BATCH_PORT": "8080",
        "S3BATCH_STACK_FILE": "stack.yaml",
        "S3BATCH_REGION": "eu-west-1",
        "S3BATCH_ACCOUNT_ID": "123456789012",
        "S3BATCH_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "S3BATCH_SECRET_ACCESS_KEY": "secret",
    }
    settings = Settings.load(environ)
    assert settings == Settings(
        Path("/var/lib/s3batch"),
        "0.0.0.0",
        8080,
        Path("stack.yaml"),
        "eu-west-1",
        "123456789012",
        "AKIAEXAMPLE",
        "secret",
    )
    assert isinstance(settings.port, int)
    assert isinstance(settings.data_dir, Path) and isinstance(settings.stack_file, Path)


def test_other_variables_are_ignored() -> None:
    environ = {"PORT": "1", "AWS_REGION": "ap-south-1", "S3BATCH_port": "2", "S3BATCH_UNKNOWN": "x"}
    assert Settings.load(environ) == Settings()


def test_empty_variables_count_as_unset() -> None:
    assert (
        Settings.load({"S3BATCH_PORT": "", "S3BATCH_STACK_FILE": "", "S3BATCH_REGION": ""})
        == Settings()
    )


def test_flags_override_the_environment_and_none_flags_do_not() -> None:
    environ = {"S3BATCH_PORT": "8080", "S3BATCH_HOST": "0.0.0.0", "S3BATCH_DATA_DIR": "/env"}
    settings = Settings.load(environ, port=9000, host=None, data_dir=Path("/flag"))
    assert settings.port == 9000
    assert settings.host == "0.0.0.0"
    assert settings.data_dir == Path("/flag")


def test_string_flags_are_coerced_like_variables() -> None:
    settings = Settings.load({}, port="1234", data_dir="rel/dir", stack_file="s.yml")
    assert settings.port == 1234
    assert settings.data_dir == Path("rel/dir") and settings.stack_file == Path("s.yml")


@pytest.mark.parametrize("port", ["0", "65535", " 80 "])
def test_ports_in_range(port: str) -> None:
    assert Settings.load({"S3BATCH_PORT": port}).port == int(port)


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("abc", "S3BATCH_PORT must be a number"),
        ("4566.5", "must be a number"),
        ("-1", "between 0 and 65535"),
        ("65536", "between 0 and 65535"),
    ],
)
def test_bad_ports_are_refused(port: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Settings.load({"S3BATCH_PORT": port})
    assert info.value.code == "InvalidConfiguration"


def test_bad_port_flag_is_refused() -> None:
    with pytest.raises(ConfigError, match="between 0 and 65535"):
        Settings.load({}, port=70000)


@pytest.mark.parametrize(
    "environ",
    [{"S3BATCH_ACCESS_KEY_ID": "AKIA"}, {"S3BATCH_SECRET_ACCESS_KEY": "s"}],
)
def test_access_key_and_secret_come_together(environ: dict[str, str]) -> None:
    with pytest.raises(
        ConfigError, match="set both S3BATCH_ACCESS_KEY_ID and S3BATCH_SECRET_ACCESS_KEY"
    ):
        Settings.load(environ)


def test_a_flag_can_complete_a_key_pair() -> None:
    settings = Settings.load({"S3BATCH_ACCESS_KEY_ID": "AKIA"}, secret_access_key="s")
    assert (settings.access_key_id, settings.secret_access_key) == ("AKIA", "s")


def test_settings_are_frozen() -> None:
    settings = Settings.load({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.port = 1  # type: ignore[misc]


def test_load_does_not_read_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3BATCH_PORT", "1111")
    assert Settings.load({}).port == DEFAULT_PORT


def test_min_timeout_seconds_defaults_to_aws_and_is_read_from_the_environment() -> None:
    assert Settings.load({}).min_timeout_seconds == 60
    assert Settings.load({"S3BATCH_MIN_TIMEOUT_SECONDS": "2"}).min_timeout_seconds == 2
    with pytest.raises(ConfigError, match="S3BATCH_MIN_TIMEOUT_SECONDS"):
        Settings.load({"S3BATCH_MIN_TIMEOUT_SECONDS": "soon"})
