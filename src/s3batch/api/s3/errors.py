"""Map the error tree to S3's HTTP statuses, found through each exception's MRO."""

from __future__ import annotations

import logging

from s3batch.api.http import Response
from s3batch.api.s3.xml import error_document
from s3batch.errors import AuthError, Conflict, InvalidRequest, NotFound, S3BatchError
from s3batch.objectstore.errors import (
    EntityTooLarge,
    InvalidPartNumber,
    InvalidRange,
    NotModified,
    PreconditionFailed,
)

logger = logging.getLogger(__name__)


class MethodNotAllowed(S3BatchError):
    """The specified method is not allowed against this resource."""

    code = "MethodNotAllowed"


class NotImplementedYet(S3BatchError):
    """A header or query you provided implies functionality that is not implemented."""

    code = "NotImplemented"


class MissingContentLength(S3BatchError):
    """You must provide the Content-Length HTTP header."""

    code = "MissingContentLength"


class InvalidURI(InvalidRequest):
    """Couldn't parse the specified URI."""

    code = "InvalidURI"


_STATUS: dict[type[S3BatchError], int] = {
    NotModified: 304,
    InvalidRequest: 400,
    EntityTooLarge: 400,
    AuthError: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    MissingContentLength: 411,
    PreconditionFailed: 412,
    InvalidRange: 416,
    InvalidPartNumber: 416,
    NotImplementedYet: 501,
}


def status_of(exc: S3BatchError) -> int:
    """The HTTP status S3 uses for this error."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_response(exc: S3BatchError, request_id: str, resource: str) -> Response:
    """An S3 error response (the body is dropped for HEAD by the caller)."""
    status = status_of(exc)
    if status >= 500:
        logger.error("internal error: %s", exc, extra={"action": "s3_error"})
    headers = [
        ("content-type", "application/xml"),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", request_id),
    ]
    if status == 304:  # with the validators a 200 would carry, as HTTP requires
        validators = [
            ("etag", exc.details.get("ETag")),
            ("last-modified", exc.details.get("LastModified")),
        ]
        return Response(304, headers[1:] + [(k, str(v)) for k, v in validators if v])
    return Response(status, headers, error_document(exc, request_id, resource))
