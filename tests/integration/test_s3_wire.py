"""The S3 wire as raw clients see it: signatures, 100-continue, aws-chunked bodies, presigned URLs."""

from __future__ import annotations

import base64
import http.client
import socket
import urllib.error
import urllib.request
import zlib
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from s3batch.cli.child import ChildServer


def _signed(
    server: ChildServer,
    method: str,
    path: str,
    secret: str,
    when: datetime,
    key_id: str | None = None,
    body: bytes = b"",
) -> AWSRequest:
    """A request signed by botocore's own S3 signer, as if at time ``when``."""
    request = AWSRequest(method=method, url=server.endpoint + path, data=body)
    signer = S3SigV4Auth(
        Credentials(key_id or server.credentials.access_key_id, secret), "s3", "us-east-1"
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        signer.add_auth(request)
    request.headers["Host"] = urlsplit(request.url).netloc
    return request


def _send(request: AWSRequest) -> tuple[int, bytes]:
    req = urllib.request.Request(
        request.url, method=request.method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_signature_failures_get_403(server: ChildServer) -> None:
    now = datetime.now(UTC)
    secret = server.credentials.secret_access_key
    assert _send(_signed(server, "GET", "/", secret, now))[0] == 200
    status, body = _send(_signed(server, "GET", "/", "wrong-secret", now))
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, body = _send(_signed(server, "GET", "/", secret, now, key_id="AKIANOSUCHKEY0000000"))
    assert status == 403 and b"<Code>InvalidAccessKeyId</Code>" in body
    status, body = _send(_signed(server, "GET", "/", secret, now - timedelta(minutes=16)))
    assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body
    status, body = _send(AWSRequest(method="GET", url=server.endpoint + "/"))
    assert status == 403 and b"<Code>AccessDenied</Code>" in body


def test_expect_100_continue_is_answered_before_the_body(
    server: ChildServer, s3, bucket: str
) -> None:
    """A client that waits for 100 Continue gets it at once (botocore would stall 1 s otherwise)."""
    body = b"hello world"
    request = _signed(
        server,
        "PUT",
        f"/{bucket}/expect.txt",
        server.credentials.secret_access_key,
        datetime.now(UTC),
        body=body,
    )
    host, port = urlsplit(server.endpoint).hostname, urlsplit(server.endpoint).port
    signed = {**dict(request.headers.items()), "Content-Length": str(len(body))}
    with socket.create_connection((host, port), timeout=5) as sock:
        head = f"PUT /{bucket}/expect.txt HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in signed.items()
        )
        sock.sendall((head + "Expect: 100-continue\r\n\r\n").encode())
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(body)
        final = sock.recv(4096)
        assert final.startswith(b"HTTP/1.1 200"), final
    assert s3.get_object(Bucket=bucket, Key="expect.txt")["Body"].read() == body


def _aws_chunked(payload: bytes, chunk: int = 64 * 1024, crc: str | None = None) -> bytes:
    out = b""
    for i in range(0, len(payload), chunk):
        piece = payload[i : i + chunk]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    value = crc or base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    return out + b"0\r\n" + f"x-amz-checksum-crc32:{value}\r\n\r\n".encode()


def _put_chunked(
    server: ChildServer, bucket: str, key: str, payload: bytes, crc: str | None = None
) -> tuple[int, bytes]:
    """PUT with the framing botocore uses over HTTPS: HTTP chunked + aws-chunked + CRC32 trailer."""
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Decoded-Content-Length": str(len(payload)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
    }
    request = AWSRequest(method="PUT", url=f"{server.endpoint}/{bucket}/{key}", headers=headers)
    request.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32"}}
    creds = server.credentials
    S3SigV4Auth(
        Credentials(creds.access_key_id, creds.secret_access_key), "s3", "us-east-1"
    ).add_auth(request)
    body = _aws_chunked(payload, crc=crc)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("PUT", f"/{bucket}/{key}", skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        conn.putheader("Host", urlsplit(server.endpoint).netloc)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for i in range(0, len(body), 10_000):
            piece = body[i : i + 10_000]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_aws_chunked_upload_with_trailer_checksum(server: ChildServer, s3, bucket: str) -> None:
    payload = bytes(range(256)) * 1500
    status, _ = _put_chunked(server, bucket, "chunked.bin", payload)
    assert status == 200
    got = s3.get_object(Bucket=bucket, Key="chunked.bin")
    assert got["Body"].read() == payload
    assert "ContentEncoding" not in got, "aws-chunked is framing, not the object's encoding"
    status, body = _put_chunked(server, bucket, "bad.bin", payload, crc="AAAAAA==")
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["chunked.bin"]


def test_presigned_urls_v4_and_v2(server: ChildServer, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared report.csv", Body=b"id,email\n")
    v4 = boto3.client("s3", **server.client_kwargs(), config=Config(signature_version="s3v4"))
    for client in (s3, v4):
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "shared report.csv"}
        )
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.read() == b"id,email\n"
    tampered = url.replace("shared%20report", "other")
    try:
        urllib.request.urlopen(tampered, timeout=10)
        raise AssertionError("a tampered presigned URL was accepted")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
