"""``s3batch demo``: the seed scenario on a throwaway data dir, driven the way a user would.

It starts ``s3batch up`` as a child process on a free port (:mod:`.child`), then uses boto3 over HTTP,
exactly as the tutorial's ``aws s3 cp`` does: create the bucket, upload the persons
file, list it, read it back and compare.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config

from s3batch.cli.child import ChildServer

#: The tutorial's bucket and object.
BUCKET, KEY = "s3-eventbridge-batch", "sample-data.txt"


def sample_persons(rows: int = 50, seed: int = 0) -> bytes:
    """A persons file in the tutorial's shape: id, email, state, postal, address (CSV, no header)."""
    first = ["ada", "grace", "alan", "edsger", "barbara", "donald", "frances", "ken", "radia", "tim"]
    states = ["CA", "NY", "TX", "WA", "MA", "IL", "OR", "CO"]
    streets = ["Main St", "Oak Ave", "Pine Rd", "Maple Dr", "Cedar Ln", "Elm St"]
    lines = []
    for i in range(rows):
        n = i + seed
        name = first[n % len(first)]
        postal = 10000 + (n * 7919) % 89999
        address = f"{100 + n} {streets[n % len(streets)]}, Springfield"
        lines.append(f"P{n:05d},{name}.{n}@example.com,{states[n % len(states)]},{postal},\"{address}\"")
    return ("\n".join(lines) + "\n").encode()


def run_demo(say: Callable[[str], None], keep: bool = False) -> None:
    """Start a server, upload the persons file, and check it round-trips."""
    data_dir = Path(tempfile.mkdtemp(prefix="s3batch-demo-"))
    server = ChildServer(data_dir)
    say(f"1. starting s3batch up on {server.endpoint} (data dir {data_dir})")
    server.start()
    try:
        s3 = boto3.client(
            "s3", **server.client_kwargs(), config=Config(retries={"max_attempts": 1})
        )
        body = sample_persons()
        say(f"2. aws s3 mb s3://{BUCKET}")
        s3.create_bucket(Bucket=BUCKET)
        say(f"3. aws s3 cp sample-data.txt s3://{BUCKET}/{KEY}  ({len(body)} bytes, 50 persons)")
        etag = s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)["ETag"]
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        say(f"4. aws s3 ls s3://{BUCKET}/  ->  {listed}")
        back = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
        same = back == body and etag.strip('"') == hashlib.md5(body).hexdigest()
        say(f"5. read back: {'identical' if same else 'DIFFERENT'} (ETag {etag})")
        if not same:
            raise RuntimeError("the object read back differs from what was uploaded")
        say(
            "The rest of the tutorial's pipeline (trail -> rule -> Batch job -> load into PostgreSQL"
        )
        say(
            "and the warehouse) is not built yet: it arrives with Step 2. The S3 endpoint above is real."
        )
    finally:
        server.stop()
        if keep:
            say(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
