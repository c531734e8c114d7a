"""The one error tree: every failure s3batch reports is an :class:`S3BatchError`.

Each class carries the AWS error ``code`` it maps to; the class docstring is the default
message. Protocol adapters in :mod:`s3batch.api` turn these into wire errors (status,
XML or JSON envelope); nothing below ``api`` knows about HTTP.
"""

from __future__ import annotations

from typing import Any


class S3BatchError(Exception):
    """An internal error occurred."""

    #: AWS error code reported on the wire.
    code: str = "InternalError"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip().splitlines()[0]
        #: Extra fields the wire error carries (S3 adds them as XML elements).
        self.details = details
        super().__init__(self.message)


class NotFound(S3BatchError):
    """The resource does not exist."""

    code = "ResourceNotFoundException"


class Conflict(S3BatchError):
    """The request conflicts with the current state of the resource."""

    code = "ConflictException"


class InvalidRequest(S3BatchError):
    """The request is not valid."""

    code = "InvalidRequest"


class AuthError(S3BatchError):
    """The request could not be authenticated."""

    code = "AccessDenied"


class ConfigError(S3BatchError):
    """The configuration is not valid."""

    code = "InvalidConfiguration"
