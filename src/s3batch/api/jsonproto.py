"""AWS JSON 1.1: the protocol of services addressed by ``X-Amz-Target: <Prefix>.<Operation>``.

Secrets Manager (``secretsmanager``), EventBridge (``AWSEvents``), CloudWatch Logs
(``Logs_20140328``) and CloudTrail (``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101``)
all speak it: a POST to ``/`` whose JSON body is the operation's input, answered with the
output as JSON, or with ``{"__type": code, "message": text}`` and the code again in the
``x-amzn-ErrorType`` header. A service plugs in a table ``{operation: handler}``; handlers
are synchronous domain calls, run in the thread pool.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from s3batch.api.auth import Authenticator
from s3batch.api.http import Request, Response
from s3batch.api.sigv4 import (
    MAX_SKEW,
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from s3batch.errors import AuthError, InvalidRequest, S3BatchError
from s3batch.types import LONGS

logger = logging.getLogger(__name__)

#: A JSON object as the wire carries it.
JsonObject = dict[str, Any]
#: One operation: the request's JSON object in, the response's JSON object out.
Handler = Callable[[JsonObject], JsonObject]
T = TypeVar("T")

#: Content type of JSON 1.1 requests and responses.
CONTENT_TYPE = "application/x-amz-json-1.1"
#: Largest request body accepted (AWS's own limits are far lower, e.g. 1 MiB for PutEvents).
MAX_BODY = 16 * 1024 * 1024
_JSON_TYPES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "list",
    dict: "structure",
}


# -- the protocol's own errors -------------------------------------------------------------


class UnknownOperationException(InvalidRequest):
    """The operation is not supported by this endpoint."""

    code = "UnknownOperationException"


class SerializationException(InvalidRequest):
    """The request body is not a JSON object."""

    code = "SerializationException"


class ValidationException(InvalidRequest):
    """The request does not satisfy the operation's constraints."""

    code = "ValidationException"


class RequestEntityTooLarge(InvalidRequest):
    """Request body too large."""

    code = "RequestEntityTooLargeException"


class MissingAuthenticationToken(AuthError):
    """Missing Authentication Token"""

    code = "MissingAuthenticationTokenException"


class UnrecognizedClient(AuthError):
    """The security token included in the request is invalid."""

    code = "UnrecognizedClientException"


class InvalidSignature(AuthError):
    """The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."""

    code = "InvalidSignatureException"


class IncompleteSignature(AuthError):
    """The request signature does not conform to AWS standards."""

    code = "IncompleteSignatureException"


class AccessDeniedException(AuthError):
    """You do not have sufficient access to perform this action."""

    code = "AccessDeniedException"


class InternalFailure(S3BatchError):
    """The request processing has failed because of an unknown error, exception or failure."""

    code = "InternalFailure"


# -- parameters ----------------------------------------------------------------------------


def required(params: JsonObject, name: str, kind: type[T]) -> T:
    """The member ``name`` of a request. Raises ValidationException: absent or mistyped."""
    value = optional(params, name, kind)
    if value is None:
        raise ValidationException(
            f"1 validation error detected: Value null at '{_camel(name)}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def optional(params: JsonObject, name: str, kind: type[T]) -> T | None:
    """The member ``name`` of a request, or None. Raises ValidationException: mistyped."""
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        type_name = _JSON_TYPES.get(kind, kind.__name__)
        raise ValidationException(f"Value at '{_camel(name)}' must be a {type_name}.")
    if isinstance(value, int) and value not in LONGS:
        raise ValidationException(f"Value at '{_camel(name)}' must fit in a long (64 bits).")
    return value


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def epoch(moment: datetime) -> float:
    """A timestamp as JSON 1.1 carries it: seconds since the epoch."""
    return round(moment.timestamp(), 3)


# -- errors on the wire --------------------------------------------------------------------


def _skew_message(exc: S3BatchError) -> str:
    """AWS's wording for a request signed too long before (or after) the server's time."""
    fmt = "%Y%m%dT%H%M%SZ"
    signed_text = str(exc.details["RequestTime"])
    server = datetime.strptime(str(exc.details["ServerTime"]), "%Y-%m-%dT%H:%M:%SZ")
    now, minutes = server.strftime(fmt), int(MAX_SKEW.total_seconds() // 60)
    if datetime.strptime(signed_text, fmt) < server:
        limit = (server - MAX_SKEW).strftime(fmt)
        return (
            f"Signature expired: {signed_text} is now earlier than {limit} ({now} - {minutes} min.)"
        )
    limit = (server + MAX_SKEW).strftime(fmt)
    return f"Signature not yet current: {signed_text} is still later than {limit} ({now} + {minutes} min.)"


def json_auth_error(exc: S3BatchError) -> S3BatchError:
    """The JSON-protocol error for a SigV4 failure (which carries S3's codes)."""
    if isinstance(exc, InvalidAccessKeyId):
        return UnrecognizedClient()
    if isinstance(exc, SignatureDoesNotMatch):
        return InvalidSignature()
    if (
        isinstance(exc, RequestTimeTooSkewed)
        and {"RequestTime", "ServerTime"} <= exc.details.keys()
    ):
        return InvalidSignature(_skew_message(exc))
    if isinstance(exc, AuthorizationHeaderMalformed | AuthorizationQueryParametersError):
        return IncompleteSignature(exc.message)
    if isinstance(exc, AccessDenied):
        return AccessDeniedException(exc.message)
    return exc


_STATUS: dict[type[S3BatchError], int] = {
    RequestEntityTooLarge: 413,
    InternalFailure: 500,
}


def status_of(exc: S3BatchError) -> int:
    """The HTTP status of a JSON 1.1 error: 400 for the client's errors, 500 for ours."""
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500 if type(exc) is S3BatchError else 400


def error_response(
    exc: S3BatchError,
    request_id: str,
    status: int | None = None,
    content_type: str = CONTENT_TYPE,
) -> Response:
    """A JSON error response (JSON 1.1 and REST-JSON alike): ``__type`` + ``message``, code in ``x-amzn-ErrorType``."""
    if type(exc) is S3BatchError:
        exc = InternalFailure()
    body = {"__type": exc.code, "message": exc.message}
    headers = [
        ("content-type", content_type),
        ("x-amzn-requestid", request_id),
        ("x-amzn-errortype", exc.code),
    ]
    return Response(status or status_of(exc), headers, json.dumps(body).encode())


def ok_response(result: JsonObject, request_id: str, content_type: str = CONTENT_TYPE) -> Response:
    """A JSON success response."""
    body = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(200, [("content-type", content_type), ("x-amzn-requestid", request_id)], body)


def authenticate(auth: Authenticator, request: Request, body: bytes) -> None:
    """Check a JSON request's SigV4 signature over its body; failures become JSON-protocol errors."""
    if "authorization" not in request.headers and "X-Amz-Credential" not in request.query:
        raise MissingAuthenticationToken()
    try:
        auth.verify(request, body_sha256=hashlib.sha256(body).hexdigest())
    except (AuthError, InvalidRequest) as exc:
        raise json_auth_error(exc) from exc


# -- the protocol --------------------------------------------------------------------------


class JsonProtocol:
    """One JSON 1.1 service: authenticate, dispatch on X-Amz-Target, answer errors as AWS does.

    With ``sensitive``, a handler's unexpected exception is logged by type and place only,
    since its message might quote the request (Secrets Manager's values).
    """

    def __init__(
        self,
        target_prefix: str,
        handlers: Mapping[str, Handler],
        auth: Authenticator,
        sensitive: bool = False,
    ) -> None:
        self.target_prefix = target_prefix
        self.handlers = dict(handlers)
        self.auth = auth
        self.sensitive = sensitive

    async def __call__(self, request: Request) -> Response:
        """Answer one request (errors become JSON 1.1 error responses)."""
        operation = "-"
        try:
            body = await read_body(request)
            authenticate(self.auth, request, body)
            operation, handler = self._operation(request)
            result = await run_in_threadpool(handler, parse_body(body))
            return ok_response(result, request.request_id)
        except S3BatchError as exc:
            return error_response(exc, request.request_id)
        except Exception as exc:
            self._log_failure(operation, exc)
            return error_response(InternalFailure(), request.request_id)

    def _operation(self, request: Request) -> tuple[str, Handler]:
        target = request.headers.get("x-amz-target", "")
        prefix, _, operation = target.rpartition(".")
        handler = self.handlers.get(operation) if prefix == self.target_prefix else None
        if request.method != "POST" or handler is None:
            raise UnknownOperationException(
                f"s3batch does not support the operation '{target or request.method}' here."
            )
        return operation, handler

    def _log_failure(self, operation: str, exc: Exception) -> None:
        log_failure(operation, exc, self.sensitive)


def log_failure(operation: str, exc: Exception, sensitive: bool = False) -> None:
    """Log an operation's unexpected exception; when ``sensitive``, by type and place only."""
    extra = {"action": "json_internal_failure", "operation": operation}
    if not sensitive:
        logger.error("%s failed", operation, exc_info=exc, extra=extra)
        return
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f"{where.filename}:{where.lineno}" if where else "?"
    logger.error(
        "%s failed with %s at %s (message withheld)",
        operation,
        type(exc).__name__,
        place,
        extra=extra,
    )


async def read_body(request: Request) -> bytes:
    """The whole request body, at most MAX_BODY bytes. Raises RequestEntityTooLarge."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise RequestEntityTooLarge(f"Request body must be at most {MAX_BODY} bytes.")
    parts, size = [], 0
    async for chunk in request.chunks():
        size += len(chunk)
        if size > MAX_BODY:
            raise RequestEntityTooLarge(f"Request body must be at most {MAX_BODY} bytes.")
        parts.append(chunk)
    return b"".join(parts)


#: A JSON escape of a UTF-16 surrogate (``\\ud800``): text only as half of a pair.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_body(body: bytes) -> JsonObject:
    """A request body as a JSON object (empty → {}). Raises SerializationException."""
    if not body.strip():
        return {}
    try:
        params = json.loads(body)
        if _SURROGATE_ESCAPE.search(body):  # a pair is one character; a lone half is not text
            json.dumps(params, ensure_ascii=False).encode()
    except ValueError as exc:  # never quote the body: it may hold a secret
        raise SerializationException("The request body is not valid JSON.") from exc
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params
