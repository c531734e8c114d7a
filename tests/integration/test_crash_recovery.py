"""kill -9 in the middle of uploads: every acknowledged object survives, nothing half-written appears."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import boto3
from botocore.config import Config

from s3batch.cli.child import ChildServer

MiB = 1024 * 1024
#: Sizes cycled through: inline in the state DB, single blob, and multipart.
SIZES = (700, 40_000, 600_000, 11 * MiB)


def _body(key: str, size: int) -> bytes:
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def _client(server: ChildServer):  # type: ignore[no-untyped-def]
    config = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
    return boto3.client("s3", **server.client_kwargs(), config=config)


def _uploader(
    server: ChildServer,
    worker: int,
    acked: dict[str, str],
    attempted: dict[str, str],
    stop: threading.Event,
) -> None:
    s3 = _client(server)
    i = 0
    while not stop.is_set():
        key = f"w{worker}/obj-{i:05d}"
        size = SIZES[(worker + i) % len(SIZES)]
        body = _body(key, size)
        attempted[key] = hashlib.md5(body).hexdigest()
        try:
            if size > 8 * MiB:
                path = server.data_dir.parent / f"up-{worker}.bin"
                path.write_bytes(body)
                s3.upload_file(str(path), "crash", key)
            else:
                s3.put_object(Bucket="crash", Key=key, Body=body)
        except Exception:
            return
        acked[key] = attempted[key]
        i += 1


def test_kill_9_loses_no_acknowledged_object(tmp_path: Path) -> None:
    server = ChildServer(tmp_path / "data")
    server.start()
    _client(server).create_bucket(Bucket="crash")
    acked: dict[str, str] = {}
    attempted: dict[str, str] = {}
    stop = threading.Event()
    workers = [
        threading.Thread(target=_uploader, args=(server, w, acked, attempted, stop))
        for w in range(4)
    ]
    for w in workers:
        w.start()
    time.sleep(2.5)
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    stop.set()
    for w in workers:
        w.join(timeout=30)
    assert len(acked) > 10, "too few uploads were acknowledged before the kill to test anything"

    restarted = ChildServer(tmp_path / "data", credentials=server.credentials)
    restarted.start()
    try:
        s3 = _client(restarted)
        listed = {
            o["Key"]
            for p in s3.get_paginator("list_objects_v2").paginate(Bucket="crash")
            for o in p.get("Contents", [])
        }
        assert set(acked) <= listed, f"acknowledged but lost: {sorted(set(acked) - listed)[:5]}"
        for key in listed:
            data = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            assert hashlib.md5(data).hexdigest() == attempted[key], (
                f"{key} is not the complete object"
            )
        assert list((tmp_path / "data" / "blobs" / "tmp").iterdir()) == []
    finally:
        assert restarted.stop() == 0
