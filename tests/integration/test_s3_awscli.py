"""The real aws CLI against ``s3batch up``: mb, cp around the multipart threshold, ls, rm, sync, s3api."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # only a type: a bare `import conftest` may find another directory's conftest
    from conftest import AwsCli

MiB = 1024 * 1024


def _file(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def cli_bucket(aws: AwsCli) -> str:
    name = f"cli-{uuid.uuid4().hex[:12]}"
    result = aws("s3", "mb", f"s3://{name}")
    assert f"make_bucket: {name}" in result.stdout
    return name


@pytest.mark.parametrize("size", [0, 1, 5 * 1024, 8 * MiB - 1, 8 * MiB, 21 * MiB + 7])
def test_cp_round_trip_is_byte_identical(
    aws: AwsCli, cli_bucket: str, tmp_path: Path, size: int
) -> None:
    src = _file(tmp_path / "up.bin", size)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/data/up.bin")
    down = tmp_path / "down.bin"
    aws("s3", "cp", f"s3://{cli_bucket}/data/up.bin", str(down))
    assert down.read_bytes() == src.read_bytes()


def test_ls_shows_buckets_prefixes_and_objects(
    aws: AwsCli, cli_bucket: str, tmp_path: Path
) -> None:
    src = _file(tmp_path / "f.txt", 10)
    for key in ("a/1.txt", "a/2.txt", "b/c/3.txt", "top.txt"):
        aws("s3", "cp", str(src), f"s3://{cli_bucket}/{key}")
    assert cli_bucket in aws("s3", "ls").stdout
    top = aws("s3", "ls", f"s3://{cli_bucket}").stdout.splitlines()
    assert [line.split()[-1] for line in top] == ["a/", "b/", "top.txt"]
    assert "PRE a/" in top[0]
    inner = aws("s3", "ls", f"s3://{cli_bucket}/a/").stdout
    assert "1.txt" in inner and "2.txt" in inner and "top.txt" not in inner
    recursive = aws("s3", "ls", "--recursive", f"s3://{cli_bucket}").stdout
    assert sorted(line.split()[-1] for line in recursive.splitlines()) == [
        "a/1.txt",
        "a/2.txt",
        "b/c/3.txt",
        "top.txt",
    ]


def test_rm_and_rm_recursive(aws: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    src = _file(tmp_path / "f.txt", 3)
    for key in ("keep.txt", "dir/1", "dir/2", "dir/sub/3"):
        aws("s3", "cp", str(src), f"s3://{cli_bucket}/{key}")
    aws("s3", "rm", f"s3://{cli_bucket}/keep.txt")
    removed = aws("s3", "rm", "--recursive", f"s3://{cli_bucket}/dir/").stdout
    assert removed.count("delete:") == 3
    assert aws("s3", "ls", "--recursive", f"s3://{cli_bucket}").stdout.strip() == ""
    aws("s3", "rb", f"s3://{cli_bucket}")
    assert cli_bucket not in aws("s3", "ls").stdout


def test_sync_up_and_down_and_idempotent(aws: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "tree"
    files = {"one.csv": 100, "sub/two.csv": 2000, "sub/deeper/three bin+1.dat": 9 * MiB}
    for name, size in files.items():
        _file(local / name, size)
    first = aws("s3", "sync", str(local), f"s3://{cli_bucket}/tree/").stdout
    assert first.count("upload:") == 3
    again = aws("s3", "sync", str(local), f"s3://{cli_bucket}/tree/").stdout
    assert again.strip() == ""
    back = tmp_path / "back"
    aws("s3", "sync", f"s3://{cli_bucket}/tree/", str(back))
    for name in files:
        assert (back / name).read_bytes() == (local / name).read_bytes()


def test_copy_between_keys_large_and_small(aws: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    for size in (1000, 9 * MiB):
        src = _file(tmp_path / f"s{size}", size)
        aws("s3", "cp", str(src), f"s3://{cli_bucket}/orig{size}")
        aws("s3", "cp", f"s3://{cli_bucket}/orig{size}", f"s3://{cli_bucket}/copy{size}")
        down = tmp_path / f"d{size}"
        aws("s3", "cp", f"s3://{cli_bucket}/copy{size}", str(down))
        assert down.read_bytes() == src.read_bytes()


def test_wrong_secret_is_refused(
    aws: AwsCli, cli_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _file(tmp_path / "f.txt", 3)
    original = aws.server.env
    monkeypatch.setattr(
        aws.server, "env", lambda: {**original(), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    )
    result = aws("s3", "cp", str(src), f"s3://{cli_bucket}/nope.txt", check=False)
    assert result.returncode != 0
    assert "SignatureDoesNotMatch" in result.stderr
    monkeypatch.undo()
    assert aws("s3", "ls", f"s3://{cli_bucket}").stdout.strip() == ""


def test_s3api_put_object_headers_show_in_head_object(
    aws: AwsCli, cli_bucket: str, tmp_path: Path
) -> None:
    src = _file(tmp_path / "persons.csv", 10)
    aws(
        "s3api", "put-object", "--bucket", cli_bucket, "--key", "persons.csv",
        "--body", str(src), "--cache-control", "max-age=60",
        "--content-disposition", "attachment", "--content-language", "en",
        "--expires", "2037-01-01T00:00:00Z",
    )  # fmt: skip
    head = json.loads(
        aws("s3api", "head-object", "--bucket", cli_bucket, "--key", "persons.csv").stdout
    )
    assert (head["CacheControl"], head["ContentDisposition"], head["ContentLanguage"]) == (
        "max-age=60",
        "attachment",
        "en",
    )
    assert head["ExpiresString"] == "Thu, 01 Jan 2037 00:00:00 GMT"
