"""S3's legacy SigV2 query-string auth (``AWSAccessKeyId``, ``Expires``, ``Signature``).

boto3 and ``aws s3 presign`` still produce these URLs by default in us-east-1. This module
only builds the string to sign and the signature; :func:`s3batch.api.sigv4.verify` does the
checks and raises the errors.
"""

from __future__ import annotations

import hashlib
import hmac
from base64 import b64encode
from collections.abc import Mapping
from urllib.parse import unquote

#: Query parameters that mark a SigV2 presigned URL.
QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")

#: Sub-resources that are part of the string to sign (botocore ``HmacV1Auth.QSAOfInterest``).
SUBRESOURCES = frozenset(
    "accelerate acl analytics cors defaultObjectAcl delete inventory lifecycle location logging "
    "metrics notification object-lock partNumber policy replication requestPayment "
    "response-cache-control response-content-disposition response-content-encoding "
    "response-content-language response-content-type response-expires restore select "
    "select-type storageClass tagging torrent uploadId uploads versionId versioning versions "
    "website".split()
)


def string_to_sign(
    method: str,
    raw_path: str,
    query_string: str,
    params: Mapping[str, str],
    headers: Mapping[str, str],
) -> str:
    """The SigV2 string to sign of a presigned request.

    ``params`` is the decoded query, ``headers`` have lower-case names. ``x-amz-*`` values
    come from the headers or, as botocore moves them there, from the query.
    """
    amz = {k.lower(): v for k, v in params.items() if k.lower().startswith("x-amz-")}
    amz.update({k: v for k, v in headers.items() if k.startswith("x-amz-")})
    lines = [
        method.upper(),
        headers.get("content-md5", params.get("content-md5", "")).strip(),
        headers.get("content-type", params.get("content-type", "")).strip(),
        params.get("Expires", ""),
        *(f"{k}:{v.strip()}" for k, v in sorted(amz.items())),
    ]
    return "\n".join(lines) + "\n" + raw_path + _subresources(query_string)


def signature(secret: str, to_sign: str) -> str:
    """Base64 HMAC-SHA1 of ``to_sign``, as it appears (decoded) in the ``Signature`` parameter."""
    return b64encode(hmac.new(secret.encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


def _subresources(query_string: str) -> str:
    items = []
    for item in query_string.split("&"):
        key, eq, value = item.partition("=")
        if key in SUBRESOURCES:
            items.append((key, f"{key}={unquote(value)}" if eq else key))
    items.sort(key=lambda pair: pair[0])
    return "?" + "&".join(text for _, text in items) if items else ""
