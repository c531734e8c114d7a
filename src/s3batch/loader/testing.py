"""Stand-ins for the boto3 calls the loader makes, for tests and local dry runs.

They answer like boto3 clients do: ``get_object`` returns a botocore ``StreamingBody``,
and a missing object or secret raises botocore's ``ClientError`` with AWS's error code.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from typing import Any, BinaryIO

from botocore.exceptions import ClientError
from botocore.response import StreamingBody


def _error(code: str, message: str, operation: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


class FakeS3:
    """Objects by (bucket, key)."""

    def __init__(self, objects: Mapping[tuple[str, str], bytes] | None = None) -> None:
        self.objects = dict(objects or {})
        #: Content-Encoding of objects stored with one, by (bucket, key).
        self.encodings: dict[tuple[str, str], str] = {}
        #: User metadata of objects stored with some, by (bucket, key).
        self.metadata: dict[tuple[str, str], dict[str, str]] = {}
        self._etags: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        encoding: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Store an object (with a Content-Encoding and user metadata, if given)."""
        self.objects[bucket, key] = data
        self.encodings.pop((bucket, key), None)
        self.metadata.pop((bucket, key), None)
        if encoding:
            self.encodings[bucket, key] = encoding
        if metadata:
            self.metadata[bucket, key] = dict(metadata)

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        """The object's body as a stream, with its ETag. Raises ClientError NoSuchKey."""
        data = self.objects.get((Bucket, Key))
        if data is None:
            raise _error("NoSuchKey", "The specified key does not exist.", "GetObject", 404)
        response = {
            "Body": StreamingBody(io.BytesIO(data), len(data)),
            "ContentLength": len(data),
            "ETag": self._etag(Bucket, Key, data),
        }
        if (Bucket, Key) in self.encodings:
            response["ContentEncoding"] = self.encodings[Bucket, Key]
        return response

    def _etag(self, bucket: str, key: str, data: bytes) -> str:
        """The object's ETag, computed once per object (S3 computes it at upload)."""
        known = self._etags.get((bucket, key))
        if known is None or known[0] is not data:
            known = self._etags[bucket, key] = (data, f'"{hashlib.md5(data).hexdigest()}"')
        return known[1]

    def put_object(  # boto3's names
        self,
        *,
        Bucket: str,  # noqa: N803
        Key: str,  # noqa: N803
        Body: bytes,  # noqa: N803
        Metadata: Mapping[str, str] | None = None,  # noqa: N803
        **_: object,
    ) -> dict[str, Any]:
        """Store an object, as PutObject does."""
        self.put(Bucket, Key, Body, metadata=Metadata)
        return {"ETag": f'"{hashlib.md5(Body).hexdigest()}"'}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        """The object's ETag and user metadata. Raises ClientError 404, as HeadObject does."""
        data = self.objects.get((Bucket, Key))
        if data is None:
            raise _error("404", "Not Found", "HeadObject", 404)  # a HEAD answer has no body
        return {
            "ETag": self._etag(Bucket, Key, data),
            "Metadata": self.metadata.get((Bucket, Key), {}),
        }

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        """Remove an object (none is fine), as DeleteObject does."""
        self.objects.pop((Bucket, Key), None)
        self.encodings.pop((Bucket, Key), None)
        self.metadata.pop((Bucket, Key), None)
        return {}


class FakeSecrets:
    """Secret strings by id."""

    def __init__(self, secrets: Mapping[str, object] | None = None) -> None:
        self.secrets: dict[str, str] = {}
        for secret_id, value in (secrets or {}).items():
            self.put(secret_id, value)

    def put(self, secret_id: str, value: object) -> None:
        """Store a secret; a mapping is stored as its JSON text."""
        self.secrets[secret_id] = value if isinstance(value, str) else json.dumps(value)

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        """The secret. Raises ClientError ResourceNotFoundException."""
        if SecretId not in self.secrets:
            raise _error(
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret.",
                "GetSecretValue",
                400,
            )
        return {"Name": SecretId, "SecretString": self.secrets[SecretId]}


#: Rows in one block of :func:`write_persons` (ids vary by block, the rest repeats).
PERSONS_BLOCK = 10_000


def write_persons(out: BinaryIO, rows: int) -> int:
    """Write ``rows`` rows of the tutorial's persons file (ids ``P00000000``, ...); the bytes.

    Fast enough for gigabytes: one block of rows is formatted once, then copied with each
    block's number put into its ids. At most 10**8 rows (ids are varchar(10)).
    """
    if not 0 <= rows <= 10**8:
        raise ValueError(f"rows must be from 0 to 100,000,000, not {rows}")
    template = "".join(
        f"P####{i:04d},person{i}@example.com,NY,{10000 + i},{i} Main Street\n"
        for i in range(PERSONS_BLOCK)
    ).encode()
    size = 0
    for block in range(-(-rows // PERSONS_BLOCK)):
        data = template.replace(b"####", b"%04d" % block)
        if (block + 1) * PERSONS_BLOCK > rows:
            data = b"".join(data.splitlines(keepends=True)[: rows - block * PERSONS_BLOCK])
        out.write(data)
        size += len(data)
    return size
