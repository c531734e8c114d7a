"""Which S3 operation a path-style request is, and the protocol's entry point."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.s3 import buckets, objects, uploads
from s3batch.api.s3.call import Call, S3Services, split_path
from s3batch.api.s3.errors import MethodNotAllowed, NotImplementedYet, error_response
from s3batch.errors import S3BatchError

logger = logging.getLogger(__name__)

Handler = Callable[[Call], Awaitable[Response]]

#: Bucket sub-resources s3batch does not implement; asking for one gets a clear 501.
_UNSUPPORTED = (
    "acl",
    "policy",
    "cors",
    "lifecycle",
    "tagging",
    "website",
    "versioning",
    "versions",
    "notification",
    "replication",
    "encryption",
    "logging",
    "object-lock",
    "retention",
    "legal-hold",
    "torrent",
    "restore",
    "select",
    "attributes",
    "accelerate",
    "requestPayment",
    "ownershipControls",
    "publicAccessBlock",
)


def _service_op(method: str) -> Handler:
    if method == "GET":
        return buckets.list_buckets
    raise MethodNotAllowed(Method=method, ResourceType="SERVICE")


def _bucket_op(method: str, query: dict[str, str]) -> Handler:
    table: dict[tuple[str, str], Handler] = {
        ("GET", "uploads"): buckets.list_multipart_uploads,
        ("GET", "location"): buckets.get_bucket_location,
        ("POST", "delete"): objects.delete_objects,
    }
    for (verb, flag), handler in table.items():
        if method == verb and flag in query:
            return handler
    plain: dict[str, Handler] = {
        "PUT": buckets.create_bucket,
        "HEAD": buckets.head_bucket,
        "DELETE": buckets.delete_bucket,
        "GET": partial(buckets.list_objects, v2=query.get("list-type") == "2"),
    }
    if method in plain:
        return plain[method]
    raise MethodNotAllowed(Method=method, ResourceType="BUCKET")


def _object_op(method: str, query: dict[str, str], headers: dict[str, str]) -> Handler:
    upload = "uploadId" in query
    copy = "x-amz-copy-source" in headers
    if method == "PUT" and upload:
        return uploads.upload_part_copy if copy else uploads.upload_part
    if method == "PUT":
        return objects.copy_object if copy else objects.put_object
    table: dict[tuple[str, bool], Handler] = {
        ("GET", True): uploads.list_parts,
        ("GET", False): objects.get_object,
        ("HEAD", False): partial(objects.get_object, head=True),
        ("DELETE", True): uploads.abort_multipart_upload,
        ("DELETE", False): objects.delete_object,
        ("POST", True): uploads.complete_multipart_upload,
    }
    if method == "POST" and "uploads" in query:
        return uploads.create_multipart_upload
    if (method, upload) in table:
        return table[(method, upload)]
    raise MethodNotAllowed(Method=method, ResourceType="OBJECT")


def operation(
    method: str, bucket: str, key: str, query: dict[str, str], headers: dict[str, str]
) -> Handler:
    """The handler for a request. Raises MethodNotAllowed, NotImplementedYet."""
    unsupported = [q for q in _UNSUPPORTED if q in query]
    if unsupported:
        raise NotImplementedYet(
            f"s3batch does not implement the ?{unsupported[0]} sub-resource yet."
        )
    if not bucket:
        return _service_op(method)
    if not key:
        return _bucket_op(method, query)
    return _object_op(method, query, headers)


class S3Protocol:
    """The S3 REST-XML protocol: authenticate, route, run, and answer errors as S3 does."""

    def __init__(self, services: S3Services, auth: Authenticator) -> None:
        self.services = services
        self.auth = auth

    async def __call__(self, request: Request) -> Response:
        """Answer one request (errors become S3 error responses)."""
        resource = request.raw_path
        try:
            verified = self.auth.verify(request)
            bucket, key = split_path(request.raw_path)
            handler = operation(request.method, bucket, key, request.query, request.headers)
            return await handler(Call(request, verified, self.services, bucket, key))
        except S3BatchError as exc:
            return error_response(exc, request.request_id, resource)
