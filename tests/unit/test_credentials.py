"""Access keys: configured ones win; otherwise one pair is generated once and kept (0600)."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3batch.credentials import CREDENTIALS_FILE, Credentials, generate, read, resolve
from s3batch.errors import ConfigError


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """A umask of 0, so a file is private only if the code asked for it explicitly."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_generated_keys_are_shaped_like_aws_keys() -> None:
    creds = generate()
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", creds.access_key_id)
    assert len(creds.secret_access_key) == 40
    assert re.fullmatch(r"[A-Za-z0-9_-]{40}", creds.secret_access_key)


def test_generated_keys_differ_each_time() -> None:
    pairs = {generate() for _ in range(20)}
    assert len(pairs) == 20
    assert len({p.secret_access_key for p in pairs}) == 20


def test_first_start_generates_a_pair_and_saves_it_private(
    tmp_path: Path, permissive_umask: None
) -> None:
    creds, generated = resolve(tmp_path, [])
    assert generated is True and len(creds) == 1
    path = tmp_path / CREDENTIALS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {
        "AccessKeyId": creds[0].access_key_id,
        "SecretAccessKey": creds[0].secret_access_key,
    }


def test_next_start_reuses_the_saved_pair(tmp_path: Path) -> None:
    first, _ = resolve(tmp_path, [])
    saved = (tmp_path / CREDENTIALS_FILE).read_bytes()
    again, generated = resolve(tmp_path, [])
    assert generated is False
    assert again == first
    assert (tmp_path / CREDENTIALS_FILE).read_bytes() == saved


def test_configured_credentials_win_and_nothing_is_written(tmp_path: Path) -> None:
    configured = [
        Credentials("AKIACONFIGURED000001", "s1"),
        Credentials("AKIACONFIGURED000002", "s2"),
    ]
    creds, generated = resolve(tmp_path, configured)
    assert creds == configured and generated is False
    assert not (tmp_path / CREDENTIALS_FILE).exists()


def test_configured_credentials_win_over_a_saved_pair(tmp_path: Path) -> None:
    resolve(tmp_path, [])
    configured = [Credentials("AKIACONFIGURED000001", "s1")]
    assert resolve(tmp_path, configured) == (configured, False)


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"AccessKeyId": "A"}', '"string"'])
def test_a_corrupt_credentials_file_is_a_config_error_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / CREDENTIALS_FILE
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        resolve(tmp_path, [])
    with pytest.raises(ConfigError, match="not a valid credentials file"):
        read(path)


def test_repr_hides_the_secret() -> None:
    creds = Credentials("AKIAEXAMPLE000000001", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds]), repr({"c": creds})):
        assert "wJalrXUtnFEMI" not in text
        assert "AKIAEXAMPLE000000001" in text
    assert (
        repr(creds) == "Credentials(access_key_id='AKIAEXAMPLE000000001', secret_access_key='***')"
    )
