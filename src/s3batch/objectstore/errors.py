"""Object store errors, each carrying the S3 error code it is reported as."""

from __future__ import annotations

from s3batch.errors import Conflict, InvalidRequest, NotFound, S3BatchError


class NoSuchBucket(NotFound):
    """The specified bucket does not exist."""

    code = "NoSuchBucket"


class NoSuchKey(NotFound):
    """The specified key does not exist."""

    code = "NoSuchKey"


class NoSuchUpload(NotFound):
    """The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."""

    code = "NoSuchUpload"


class BucketAlreadyOwnedByYou(Conflict):
    """Your previous request to create the named bucket succeeded and you already own it."""

    code = "BucketAlreadyOwnedByYou"


class BucketNotEmpty(Conflict):
    """The bucket you tried to delete is not empty."""

    code = "BucketNotEmpty"


class InvalidBucketName(InvalidRequest):
    """The specified bucket is not valid."""

    code = "InvalidBucketName"


class KeyTooLongError(InvalidRequest):
    """Your key is too long."""

    code = "KeyTooLongError"


class BadDigest(InvalidRequest):
    """The Content-MD5 or checksum value that you specified did not match what the server received."""

    code = "BadDigest"


class InvalidDigest(InvalidRequest):
    """The Content-MD5 or checksum value that you specified is not valid."""

    code = "InvalidDigest"


class ContentSHA256Mismatch(InvalidRequest):
    """The provided 'x-amz-content-sha256' header does not match what was computed."""

    code = "XAmzContentSHA256Mismatch"


class IncompleteBody(InvalidRequest):
    """You did not provide the number of bytes specified by the Content-Length HTTP header."""

    code = "IncompleteBody"


class EntityTooSmall(InvalidRequest):
    """Your proposed upload is smaller than the minimum allowed object size."""

    code = "EntityTooSmall"


class EntityTooLarge(InvalidRequest):
    """Your proposed upload exceeds the maximum allowed size."""

    code = "EntityTooLarge"


class InvalidPart(InvalidRequest):
    """One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."""

    code = "InvalidPart"


class InvalidPartOrder(InvalidRequest):
    """The list of parts was not in ascending order. Parts must be ordered by part number."""

    code = "InvalidPartOrder"


class InvalidArgument(InvalidRequest):
    """Invalid Argument."""

    code = "InvalidArgument"


class InvalidLocationConstraint(InvalidRequest):
    """The specified location-constraint is not valid"""

    code = "InvalidLocationConstraint"


class MetadataTooLarge(InvalidRequest):
    """Your metadata headers exceed the maximum allowed metadata size."""

    code = "MetadataTooLarge"


class InvalidPartNumber(S3BatchError):
    """The requested partnumber is not satisfiable"""

    code = "InvalidPartNumber"


class InvalidRange(S3BatchError):
    """The requested range is not satisfiable."""

    code = "InvalidRange"


class PreconditionFailed(S3BatchError):
    """At least one of the pre-conditions you specified did not hold."""

    code = "PreconditionFailed"


class NotModified(S3BatchError):
    """Not Modified."""

    code = "NotModified"
