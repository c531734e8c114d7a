"""Server-side verification of AWS Signature Version 4 requests, header-signed or presigned.

Generic over services. S3 signs the path as sent; other services sign it normalised and
encoded twice, exactly as botocore's ``S3SigV4Auth`` and ``SigV4Auth`` do. S3's legacy
SigV2 presigned URLs are accepted too (string to sign in :mod:`s3batch.api.sigv2`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, unquote_to_bytes

from s3batch.api import sigv2
from s3batch.errors import AuthError, InvalidRequest

logger = logging.getLogger(__name__)

#: The only signing algorithm accepted.
ALGORITHM = "AWS4-HMAC-SHA256"
#: Payload hash of presigned S3 requests and of bodies the client chose not to hash.
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
#: Largest accepted distance between the request time and the server clock.
MAX_SKEW = timedelta(minutes=15)
#: Longest lifetime of a presigned URL, in seconds (one week).
MAX_EXPIRES = 604800
#: Format of ``x-amz-date`` and ``X-Amz-Date``.
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_QUERY_AUTH = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_QUERY_REQUIRED = (*_QUERY_AUTH, "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires")
_BAD_CREDENTIAL = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_BAD_DATE = "AWS authentication requires a valid Date or x-amz-date header"


class AccessDenied(AuthError):
    """Access Denied."""

    code = "AccessDenied"


class InvalidAccessKeyId(AuthError):
    """The AWS Access Key Id you provided does not exist in our records."""

    code = "InvalidAccessKeyId"


class SignatureDoesNotMatch(AuthError):
    """The request signature we calculated does not match the signature you provided. Check your key and signing method."""

    code = "SignatureDoesNotMatch"


class RequestTimeTooSkewed(AuthError):
    """The difference between the request time and the current time is too large."""

    code = "RequestTimeTooSkewed"


class AuthorizationHeaderMalformed(InvalidRequest):
    """The authorization header you provided is invalid."""

    code = "AuthorizationHeaderMalformed"


class AuthorizationQueryParametersError(InvalidRequest):
    """Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."""

    code = "AuthorizationQueryParametersError"


class MissingSecurityHeader(InvalidRequest):
    """Your request was missing a required header."""


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that a signature covers, as received on the wire."""

    method: str
    raw_path: str  # still percent-encoded, never normalised
    query_string: str  # raw, without '?'
    headers: Mapping[str, str]  # lower-case names, repeats joined with ',', latin-1 decoded


@dataclass(frozen=True)
class Scope:
    """The credential scope: whose key, which day, region and service."""

    access_key_id: str
    date: str  # yyyymmdd
    region: str
    service: str  # "s3", "batch", "events", "logs", ...

    @property
    def credential_scope(self) -> str:
        """``date/region/service/aws4_request``, the scope line of a string to sign."""
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out, with what aws-chunked verification needs.

    For a SigV2 presigned URL, ``signing_key`` is empty and the date is the server's.
    """

    scope: Scope
    signature: str  # the request's (seed) signature
    signing_key: bytes
    amz_date: str  # yyyymmddThhmmssZ
    payload_hash: str  # hex, UNSIGNED-PAYLOAD or STREAMING-...
    presigned: bool


@dataclass(frozen=True)
class _Claim:
    """What a request says about its own signature, before any checking."""

    scope: Scope
    signed_headers: str
    signature: str
    amz_date: str
    presigned: bool


def scope_of(request: SignedRequest) -> Scope | None:
    """Parse the credential scope, verifying nothing; None if the request is unsigned.

    A SigV2 presigned URL gives ``Scope(key, "", "us-east-1", "s3")``.

    Raises:
        AuthorizationHeaderMalformed: an Authorization header is present but unparsable.
        AuthorizationQueryParametersError: X-Amz-Credential is present but unparsable.
    """
    if "authorization" in request.headers:
        return _parse_header(request.headers["authorization"])[0]
    params = _query_params(request.query_string)
    if "X-Amz-Credential" in params:
        return _parse_credential(params["X-Amz-Credential"], AuthorizationQueryParametersError)
    if "AWSAccessKeyId" in params:
        return Scope(params["AWSAccessKeyId"], "", "us-east-1", "s3")
    return None


def verify(
    request: SignedRequest,
    secret_for: Callable[[str], str | None],
    now: datetime,
    body_sha256: str | None = None,
) -> Verified:
    """Verify a header-signed or presigned request (SigV4, or SigV2 query auth for S3).

    ``body_sha256`` (hex) is needed only by non-S3 requests without ``x-amz-content-sha256``.
    Only headers are read, so call this before reading the body.

    Raises:
        ValueError: ``body_sha256`` was needed but is None.
        AuthError, InvalidRequest: the subclasses defined in this module.
    """
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    params = _query_params(request.query_string)
    query_v4 = any(name in params for name in _QUERY_AUTH)
    query_v2 = "AWSAccessKeyId" in params or "Signature" in params
    if "authorization" in request.headers:
        if query_v4 or query_v2:
            raise AuthorizationQueryParametersError("Only one auth mechanism allowed")
        claim = _header_claim(request, now)
    elif query_v4:
        claim = _query_claim(params, now)
    elif query_v2:
        return _verify_v2(request, params, secret_for, now)
    else:
        raise AccessDenied()
    secret = _secret(secret_for, claim.scope.access_key_id)
    _check_all_signed(request.headers, claim)
    payload = _payload_hash(request, claim, body_sha256)
    key = signing_key(secret, claim.scope)
    _check_signature(request, claim, payload, key)
    return Verified(claim.scope, claim.signature, key, claim.amz_date, payload, claim.presigned)


def signing_key(secret: str, scope: Scope) -> bytes:
    """Derive the SigV4 signing key for ``scope`` from a secret access key."""
    return _signing_key(secret, scope.date, scope.region, scope.service)


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    # The key changes once a day per region and service: derive it once, not per request.
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def hmac_hex(key: bytes, text: str) -> str:
    """Hex HMAC-SHA256 of ``text``: the signature of a string to sign."""
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def canonical_request(
    request: SignedRequest,
    service: str,
    signed_headers: str,
    payload: str,
    plus_is_space: bool = False,
) -> str:
    """The SigV4 canonical request of ``request``, as its client built it."""
    names = sorted(name.lower() for name in signed_headers.split(";"))
    headers = "".join(f"{n}:{' '.join(request.headers.get(n, '').split())}\n" for n in names)
    uri = _canonical_uri(request.raw_path or "/", service == "s3")
    query = _canonical_query(request.query_string, plus_is_space)
    return "\n".join([request.method.upper(), uri, query, headers, signed_headers, payload])


def _canonical_uri(raw_path: str, s3: bool) -> str:
    if s3:  # decoded and re-encoded once; '//', '.' and '..' stay as sent
        return quote(unquote_to_bytes(_wire_bytes(raw_path)), safe="/")
    return quote(_wire_bytes(_remove_dot_segments(raw_path)), safe="/~")


def _wire_bytes(text: str) -> bytes:
    # The HTTP layer decodes raw bytes as latin-1; undo that to percent-encode the real bytes.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


def _remove_dot_segments(path: str) -> str:
    # botocore.utils.remove_dot_segments, which also collapses repeated slashes.
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            out = out[:-1]
        elif segment not in ("", "."):
            out.append(segment)
    last = "/" if path.endswith("/") and out else ""
    return ("/" if path.startswith("/") else "") + "/".join(out) + last


def _canonical_query(query_string: str, plus_is_space: bool) -> str:
    pairs = []
    for item in filter(None, query_string.split("&")):
        key, _, value = item.partition("=")
        if key != "X-Amz-Signature":
            pairs.append((_recode(key, plus_is_space), _recode(value, plus_is_space)))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _recode(text: str, plus_is_space: bool) -> str:
    raw = _wire_bytes(text.replace("+", " ") if plus_is_space else text)
    return quote(unquote_to_bytes(raw), safe="")


def _query_params(query_string: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in filter(None, query_string.split("&")):
        key, _, value = item.partition("=")
        params.setdefault(unquote(key), unquote(value))
    return params


@functools.lru_cache(maxsize=64)
def _parse_header(value: str) -> tuple[Scope, str, str]:
    # Cached: routing reads the scope and verification reads it again, per request.
    algorithm, _, rest = value.strip().partition(" ")
    fields = dict(_field(part) for part in rest.split(","))
    if algorithm != ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise AuthorizationHeaderMalformed(
            f"The authorization header is malformed; expected '{ALGORITHM} Credential=..., "
            "SignedHeaders=..., Signature=...'"
        )
    scope = _parse_credential(fields["Credential"], AuthorizationHeaderMalformed)
    return scope, fields["SignedHeaders"], fields["Signature"]


def _field(text: str) -> tuple[str, str]:
    name, _, value = text.strip().partition("=")
    return name, value


def _parse_credential(text: str, error: type[InvalidRequest]) -> Scope:
    parts = text.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not re.fullmatch(r"\d{8}", parts[1]):
        where = (
            "authorization header" if error is AuthorizationHeaderMalformed else "X-Amz-Credential"
        )
        raise error(f"The {where} is malformed; {_BAD_CREDENTIAL}")
    return Scope(*parts[:4])


def _header_claim(request: SignedRequest, now: datetime) -> _Claim:
    scope, signed_headers, signature = _parse_header(request.headers["authorization"])
    amz_date, signed_at = _header_date(request.headers)
    if abs(signed_at - now) > MAX_SKEW:
        raise _skewed(amz_date, now)
    if scope.date != amz_date[:8]:
        raise AuthorizationHeaderMalformed(
            "The authorization header is malformed; Invalid credential date. "
            "Date is not the same as X-Amz-Date."
        )
    return _Claim(scope, signed_headers, signature, amz_date, presigned=False)


def _header_date(headers: Mapping[str, str]) -> tuple[str, datetime]:
    if "x-amz-date" in headers:
        signed_at = _amz_datetime(headers["x-amz-date"])
        if signed_at is None:
            raise AccessDenied(_BAD_DATE)
        return headers["x-amz-date"], signed_at
    try:  # botocore then signs the Date header's instant, in amz format
        signed_at = parsedate_to_datetime(headers["date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError) as exc:
        raise AccessDenied(_BAD_DATE) from exc
    return signed_at.strftime(AMZ_DATE_FORMAT), signed_at


def _query_claim(params: Mapping[str, str], now: datetime) -> _Claim:
    if not all(n in params for n in _QUERY_REQUIRED) or params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthorizationQueryParametersError()
    scope = _parse_credential(params["X-Amz-Credential"], AuthorizationQueryParametersError)
    amz_date, expires = params["X-Amz-Date"], params["X-Amz-Expires"]
    signed_at = _amz_datetime(amz_date)
    if signed_at is None:
        raise AuthorizationQueryParametersError("X-Amz-Date must be in the ISO8601 Long Format")
    if scope.date != amz_date[:8]:
        raise AuthorizationQueryParametersError(
            "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES:
        raise AuthorizationQueryParametersError(f"X-Amz-Expires must be 1 to {MAX_EXPIRES} seconds")
    if signed_at - now > MAX_SKEW:
        raise _skewed(amz_date, now)
    if now > signed_at + timedelta(seconds=int(expires)):
        expired_at = _iso(signed_at + timedelta(seconds=int(expires)))
        details = {"X-Amz-Expires": expires, "Expires": expired_at, "ServerTime": _iso(now)}
        raise AccessDenied("Request has expired", **details)
    return _Claim(scope, params["X-Amz-SignedHeaders"], params["X-Amz-Signature"], amz_date, True)


def _skewed(amz_date: str, now: datetime) -> RequestTimeTooSkewed:
    return RequestTimeTooSkewed(
        RequestTime=amz_date, ServerTime=_iso(now), MaxAllowedSkewMilliseconds="900000"
    )


def _secret(secret_for: Callable[[str], str | None], access_key_id: str) -> str:
    secret = secret_for(access_key_id)
    if secret is None:
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key_id)
    return secret


def _check_all_signed(headers: Mapping[str, str], claim: _Claim) -> None:
    # As AWS does: an unsigned x-amz-* header could change what the request means.
    signed = set(claim.signed_headers.lower().split(";"))
    if claim.presigned:  # clients may add it to a presigned request; it is then not used
        signed.add("x-amz-content-sha256")
    unsigned = sorted(n for n in headers if n.startswith("x-amz-") and n not in signed)
    if unsigned:
        raise AccessDenied(
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _payload_hash(request: SignedRequest, claim: _Claim, body_sha256: str | None) -> str:
    header = request.headers.get("x-amz-content-sha256")
    if claim.scope.service == "s3" and claim.presigned:
        signed = "x-amz-content-sha256" in claim.signed_headers.lower().split(";")
        return header if header is not None and signed else UNSIGNED_PAYLOAD
    if claim.scope.service == "s3" and header is None:
        raise MissingSecurityHeader(
            "Missing required header for this request: x-amz-content-sha256",
            MissingHeaderName="x-amz-content-sha256",
        )
    if header is None and body_sha256 is None:
        raise ValueError(f"body_sha256 is needed to verify this {claim.scope.service} request")
    return header if header is not None else str(body_sha256)


def _check_signature(request: SignedRequest, claim: _Claim, payload: str, key: bytes) -> None:
    canonical, to_sign = _string_to_sign(request, claim, payload, plus_is_space=False)
    if _same(hmac_hex(key, to_sign), claim.signature):
        return
    # A literal '+' in a query is ambiguous; AWS accepts it signed as '+' or as a space.
    if "+" in request.query_string:
        alternative = _string_to_sign(request, claim, payload, plus_is_space=True)[1]
        if _same(hmac_hex(key, alternative), claim.signature):
            return
    logger.debug("signature mismatch", extra={"action": "verify", "canonical": canonical})
    raise SignatureDoesNotMatch(
        AWSAccessKeyId=claim.scope.access_key_id,
        StringToSign=to_sign,
        SignatureProvided=claim.signature,
        CanonicalRequest=canonical,
    )


def _string_to_sign(
    request: SignedRequest, claim: _Claim, payload: str, plus_is_space: bool
) -> tuple[str, str]:
    scope = claim.scope
    canonical = canonical_request(
        request, scope.service, claim.signed_headers, payload, plus_is_space
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return canonical, f"{ALGORITHM}\n{claim.amz_date}\n{scope.credential_scope}\n{digest}"


def _verify_v2(
    request: SignedRequest,
    params: Mapping[str, str],
    secret_for: Callable[[str], str | None],
    now: datetime,
) -> Verified:
    if not all(name in params for name in sigv2.QUERY_PARAMS) or not params["Expires"].isdigit():
        raise AccessDenied(
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters"
        )
    akid, expires = params["AWSAccessKeyId"], int(params["Expires"])
    secret = _secret(secret_for, akid)
    if now.timestamp() > expires:
        expired_at = _iso(datetime.fromtimestamp(expires, UTC))
        raise AccessDenied("Request has expired", Expires=expired_at, ServerTime=_iso(now))
    to_sign = sigv2.string_to_sign(
        request.method, request.raw_path, request.query_string, params, request.headers
    )
    if not _same(sigv2.signature(secret, to_sign), params["Signature"]):
        raise SignatureDoesNotMatch(
            AWSAccessKeyId=akid, StringToSign=to_sign, SignatureProvided=params["Signature"]
        )
    scope = Scope(akid, now.strftime("%Y%m%d"), "us-east-1", "s3")
    amz_date = now.strftime(AMZ_DATE_FORMAT)
    return Verified(scope, params["Signature"], b"", amz_date, UNSIGNED_PAYLOAD, presigned=True)


def _same(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))


def _amz_datetime(amz_date: str) -> datetime | None:
    if not re.fullmatch(r"\d{8}T\d{6}Z", amz_date):  # strptime alone accepts one-digit fields
        return None
    try:
        d = amz_date
        return datetime(
            int(d[:4]),
            int(d[4:6]),
            int(d[6:8]),
            int(d[9:11]),
            int(d[11:13]),
            int(d[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
