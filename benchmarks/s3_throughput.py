"""S3 throughput of ``s3batch up`` against moto's standalone server, measured in the same run.

One boto3 client, sequential, default botocore config (SHA-256 and CRC32 computed by the
client, as users run it): 1,000 PutObject and 1,000 GetObject of 1 KiB, then one 100 MiB
``upload_file`` (multipart, 10 threads). Each figure is the median of ``--rounds`` rounds.

    python benchmarks/s3_throughput.py [--rounds 3] [--puts 1000] [--big-mib 100]

Targets (issue "Step 1"): PutObject >= 850/s with durable writes and >= 3x moto;
100 MiB upload >= 450 MB/s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from s3batch.cli.child import ChildServer, free_port

MB = 1_000_000


def start_moto(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto_server on a free port (the baseline)."""
    port = free_port()
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    with open(log, "ab") as out:
        proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def one_round(client, bucket: str, puts: int, big: Path) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Time the three workloads once."""
    body = os.urandom(1024)
    t = time.perf_counter()
    for i in range(puts):
        client.put_object(Bucket=bucket, Key=f"small/{i:05d}", Body=body)
    put_rate = puts / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(puts):
        client.get_object(Bucket=bucket, Key=f"small/{i:05d}")["Body"].read()
    get_rate = puts / (time.perf_counter() - t)
    t = time.perf_counter()
    client.upload_file(str(big), bucket, "big.bin", Config=TransferConfig())
    big_rate = big.stat().st_size / (time.perf_counter() - t) / MB
    return {"put": put_rate, "get": get_rate, "big": big_rate}


def measure(
    endpoint: str, key_id: str, secret: str, rounds: int, puts: int, big: Path
) -> dict[str, float]:
    """Median of each figure over the rounds."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=20),
    )
    results = []
    for r in range(rounds):
        bucket = f"bench-{r}-{os.getpid()}"
        client.create_bucket(Bucket=bucket)
        results.append(one_round(client, bucket, puts, big))
    return {k: statistics.median(res[k] for res in results) for k in results[0]}


def main() -> None:
    """Run both servers and print the figures with their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--puts", type=int, default=1000)
    parser.add_argument("--big-mib", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="s3bench-", dir=os.environ.get("S3BATCH_BENCH_DIR")))
    big = work / "big.bin"
    big.write_bytes(os.urandom(args.big_mib * 1024 * 1024))
    empty = work / "empty-stack.yaml"  # the S3 endpoint alone: no pipeline, no embedded databases
    empty.write_text("{}\n")
    server = ChildServer(work / "data", extra_args=("--stack", str(empty)))
    server.start()
    moto, moto_endpoint = start_moto(work / "moto.log")
    try:
        creds = server.credentials
        ours = measure(
            server.endpoint,
            creds.access_key_id,
            creds.secret_access_key,
            args.rounds,
            args.puts,
            big,
        )
        base = measure(moto_endpoint, "testing", "testing", args.rounds, args.puts, big)
    finally:
        server.stop()
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'workload':<28}{'s3batch':>12}{'moto':>12}{'ratio':>9}   target")
    rows = [
        ("PutObject 1 KiB (ops/s)", "put", ">= 850/s and >= 3x moto"),
        ("GetObject 1 KiB (ops/s)", "get", ""),
        (f"upload_file {args.big_mib} MiB (MB/s)", "big", ">= 450 MB/s"),
    ]
    for label, key, target in rows:
        print(
            f"{label:<28}{ours[key]:>12.0f}{base[key]:>12.0f}{ours[key] / base[key]:>8.2f}x   {target}"
        )


if __name__ == "__main__":
    main()
