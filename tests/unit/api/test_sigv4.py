"""SigV4 verification: the AWS documentation vectors and round trips with botocore's signers."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import botocore.session
import pytest
from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from s3batch.api.sigv4 import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidAccessKeyId,
    MissingSecurityHeader,
    RequestTimeTooSkewed,
    Scope,
    SignatureDoesNotMatch,
    SignedRequest,
    canonical_request,
    scope_of,
    verify,
)

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_TIME = datetime(2013, 5, 24, tzinfo=UTC)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ENDPOINT = "http://127.0.0.1:4566"


def secret_for(access_key_id: str) -> str | None:
    return {AKID: SECRET}.get(access_key_id)


def now() -> datetime:
    return datetime.now(UTC)


def doc_authorization(signed_headers: str, signature: str) -> str:
    # The AWS examples put no space after the commas.
    return (
        f"AWS4-HMAC-SHA256 Credential={AKID}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )


def doc_get_object(**changes: str) -> SignedRequest:
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "range": "bytes=0-9",
        "x-amz-content-sha256": EMPTY_SHA256,
        "x-amz-date": "20130524T000000Z",
        "authorization": doc_authorization(
            "host;range;x-amz-content-sha256;x-amz-date",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
    }
    headers.update(changes)
    return SignedRequest("GET", "/test.txt", "", headers)


def doc_bucket_get(query: str, signature: str) -> SignedRequest:
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "x-amz-content-sha256": EMPTY_SHA256,
        "x-amz-date": "20130524T000000Z",
        "authorization": doc_authorization("host;x-amz-content-sha256;x-amz-date", signature),
    }
    return SignedRequest("GET", "/", query, headers)


def doc_put_object() -> SignedRequest:
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
        "authorization": doc_authorization(
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
    }
    return SignedRequest("PUT", "/test$file.text", "", headers)


def doc_presigned_get(expires: str = "86400") -> SignedRequest:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20130524T000000Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    return SignedRequest("GET", "/test.txt", query, {"host": "examplebucket.s3.amazonaws.com"})


def doc_streaming_put(mode: str, signed_headers: str, seed: str) -> SignedRequest:
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": mode,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
        "authorization": doc_authorization(signed_headers, seed),
    }
    if mode.endswith("-TRAILER"):
        headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
    return SignedRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)


STREAMING_SEED = doc_streaming_put(
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    "x-amz-decoded-content-length;x-amz-storage-class",
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
)
TRAILER_SEED = doc_streaming_put(
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
    "x-amz-storage-class;x-amz-trailer",
    "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
)

DOC_VECTORS = {
    "get-object-range": doc_get_object(),
    "put-object-dollar": doc_put_object(),
    "get-lifecycle": doc_bucket_get(
        "lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
    ),
    "list-objects": doc_bucket_get(
        "max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    ),
    "presigned-get": doc_presigned_get(),
    "streaming-seed": STREAMING_SEED,
    "streaming-trailer-seed": TRAILER_SEED,
}


# --- AWS documentation vectors ---------------------------------------------------------


@pytest.mark.parametrize("request_", DOC_VECTORS.values(), ids=DOC_VECTORS.keys())
def test_aws_documentation_vector_verifies(request_: SignedRequest) -> None:
    verified = verify(request_, secret_for, DOC_TIME)
    assert verified.scope == Scope(AKID, "20130524", "us-east-1", "s3")
    assert verified.amz_date == "20130524T000000Z"
    assert verified.signature in (request_.headers.get("authorization", "") + request_.query_string)


def test_documented_canonical_request_is_rebuilt_exactly() -> None:
    expected = "\n".join(
        [
            "GET",
            "/test.txt",
            "",
            "host:examplebucket.s3.amazonaws.com",
            "range:bytes=0-9",
            f"x-amz-content-sha256:{EMPTY_SHA256}",
            "x-amz-date:20130524T000000Z",
            "",
            "host;range;x-amz-content-sha256;x-amz-date",
            EMPTY_SHA256,
        ]
    )
    signed = "host;range;x-amz-content-sha256;x-amz-date"
    assert canonical_request(doc_get_object(), "s3", signed, EMPTY_SHA256) == expected


def test_dollar_in_path_is_encoded_and_bare_query_key_gets_equals() -> None:
    put = canonical_request(doc_put_object(), "s3", "host", "x")
    assert put.splitlines()[1] == "/test%24file.text"
    lifecycle = DOC_VECTORS["get-lifecycle"]
    assert canonical_request(lifecycle, "s3", "host", "x").splitlines()[2] == "lifecycle="


def test_verified_carries_what_the_chunk_decoder_needs() -> None:
    verified = verify(STREAMING_SEED, secret_for, DOC_TIME)
    assert verified.payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    assert verified.presigned is False
    assert len(verified.signing_key) == 32
    presigned = verify(doc_presigned_get(), secret_for, DOC_TIME)
    assert presigned.presigned is True
    assert presigned.payload_hash == "UNSIGNED-PAYLOAD"


# --- failures ------------------------------------------------------------------------------


def test_wrong_secret_is_signature_does_not_match_with_debug_details() -> None:
    with pytest.raises(SignatureDoesNotMatch) as info:
        verify(doc_get_object(), lambda _: "not-the-secret", DOC_TIME)
    details = info.value.details
    assert details["AWSAccessKeyId"] == AKID
    assert details["SignatureProvided"].startswith("f0e8bdb8")
    assert details["CanonicalRequest"].startswith("GET\n/test.txt\n")
    assert details["StringToSign"].startswith("AWS4-HMAC-SHA256\n20130524T000000Z\n")
    assert info.value.code == "SignatureDoesNotMatch"


def test_tampered_signed_header_fails() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        verify(doc_get_object(range="bytes=0-10"), secret_for, DOC_TIME)


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    auth = doc_authorization("host;range;x-amz-content-sha256;x-amz-date", "é" * 64)
    with pytest.raises(SignatureDoesNotMatch):
        verify(doc_get_object(authorization=auth), secret_for, DOC_TIME)


def test_unknown_access_key() -> None:
    with pytest.raises(InvalidAccessKeyId) as info:
        verify(doc_get_object(), lambda _: None, DOC_TIME)
    assert info.value.details == {"AWSAccessKeyId": AKID}
    assert info.value.message.startswith("The AWS Access Key Id you provided does not exist")


@pytest.mark.parametrize("skew", [timedelta(minutes=16), timedelta(minutes=-16)])
def test_clock_skew_over_15_minutes_is_rejected(skew: timedelta) -> None:
    with pytest.raises(RequestTimeTooSkewed) as info:
        verify(doc_get_object(), secret_for, DOC_TIME + skew)
    assert info.value.details == {
        "RequestTime": "20130524T000000Z",
        "ServerTime": (DOC_TIME + skew).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "MaxAllowedSkewMilliseconds": "900000",
    }


def test_clock_skew_within_15_minutes_is_accepted() -> None:
    verify(doc_get_object(), secret_for, DOC_TIME + timedelta(minutes=14))
    verify(doc_get_object(), secret_for, DOC_TIME.replace(tzinfo=None) - timedelta(minutes=14))


def test_scope_date_must_be_the_request_day() -> None:
    auth = doc_get_object().headers["authorization"].replace("/20130524/", "/20130523/")
    with pytest.raises(AuthorizationHeaderMalformed, match="Invalid credential date"):
        verify(doc_get_object(authorization=auth), secret_for, DOC_TIME)


@pytest.mark.parametrize("date", ["2013-05-24T00:00:00Z", "2013524T00000Z", "20131324T000000Z"])
def test_malformed_amz_date_is_access_denied(date: str) -> None:
    with pytest.raises(AccessDenied, match="valid Date or x-amz-date"):
        verify(doc_get_object(**{"x-amz-date": date}), secret_for, DOC_TIME)


def test_unsigned_request_is_access_denied_and_has_no_scope() -> None:
    unsigned = SignedRequest("GET", "/bucket/key", "", {"host": "localhost"})
    assert scope_of(unsigned) is None
    with pytest.raises(AccessDenied) as info:
        verify(unsigned, secret_for, DOC_TIME)
    assert info.value.message == "Access Denied."


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
        "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3, SignedHeaders=host, Signature=ab",
        "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/s3/aws4_request, Signature=ab",
        "AWS4-HMAC-SHA256",
        "",
    ],
)
def test_malformed_authorization_header(authorization: str) -> None:
    request = doc_get_object(authorization=authorization)
    with pytest.raises(AuthorizationHeaderMalformed):
        scope_of(request)
    with pytest.raises(AuthorizationHeaderMalformed):
        verify(request, secret_for, DOC_TIME)


def test_s3_header_auth_requires_content_sha256() -> None:
    headers = {k: v for k, v in doc_get_object().headers.items() if k != "x-amz-content-sha256"}
    with pytest.raises(MissingSecurityHeader) as info:
        verify(SignedRequest("GET", "/test.txt", "", headers), secret_for, DOC_TIME)
    assert info.value.message == "Missing required header for this request: x-amz-content-sha256"
    assert info.value.code == "InvalidRequest"


def test_unsigned_amz_header_is_refused() -> None:
    request = doc_get_object(**{"x-amz-acl": "public-read"})
    with pytest.raises(AccessDenied) as info:
        verify(request, secret_for, DOC_TIME)
    assert info.value.details == {"HeadersNotSigned": "x-amz-acl"}


def test_header_and_query_auth_together_are_refused() -> None:
    both = replace(doc_get_object(), query_string=doc_presigned_get().query_string)
    with pytest.raises(AuthorizationQueryParametersError):
        verify(both, secret_for, DOC_TIME)


# --- presigned (query) SigV4 ------------------------------------------------------------


def test_presigned_url_expires() -> None:
    verify(doc_presigned_get(), secret_for, DOC_TIME + timedelta(seconds=86400))
    with pytest.raises(AccessDenied, match="Request has expired") as info:
        verify(doc_presigned_get(), secret_for, DOC_TIME + timedelta(seconds=86401))
    assert info.value.details["X-Amz-Expires"] == "86400"
    assert info.value.details["Expires"] == "2013-05-25T00:00:00Z"


def test_presigned_url_from_the_future_is_skewed() -> None:
    with pytest.raises(RequestTimeTooSkewed):
        verify(doc_presigned_get(), secret_for, DOC_TIME - timedelta(minutes=16))


@pytest.mark.parametrize("expires", ["0", "604801", "-1", "soon"])
def test_presigned_expires_must_be_one_second_to_a_week(expires: str) -> None:
    with pytest.raises(AuthorizationQueryParametersError):
        verify(doc_presigned_get(expires), secret_for, DOC_TIME)


def test_presigned_url_missing_a_parameter() -> None:
    request = doc_presigned_get()
    query = "&".join(p for p in request.query_string.split("&") if "SignedHeaders" not in p)
    with pytest.raises(AuthorizationQueryParametersError):
        verify(replace(request, query_string=query), secret_for, DOC_TIME)


def test_presigned_url_with_other_signature_fails() -> None:
    request = doc_presigned_get()
    tampered = request.query_string.replace("aeeed9bb", "aeeed9bc")
    with pytest.raises(SignatureDoesNotMatch):
        verify(replace(request, query_string=tampered), secret_for, DOC_TIME)


def test_scope_of_presigned_and_header_requests() -> None:
    expected = Scope(AKID, "20130524", "us-east-1", "s3")
    assert scope_of(doc_presigned_get()) == expected
    assert scope_of(doc_get_object()) == expected


# --- round trips with botocore: real clients ------------------------------------------------


class _Sent(Exception):
    """Raised from botocore's before-send hook, carrying the signed request."""

    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Sent(request)


@functools.cache
def client(service: str, endpoint: str = ENDPOINT, **config: Any) -> Any:
    session = botocore.session.get_session()
    made = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        config=Config(**config),
    )
    made.meta.events.register("before-send", _capture)
    return made


def on_the_wire(method: str, url: str, headers: Any) -> SignedRequest:
    """What a server receives: raw path and query, lower-case headers, Host from the URL."""
    parts = urlsplit(url)
    lowered = {
        k.lower(): v.decode("latin-1") if isinstance(v, bytes) else v for k, v in headers.items()
    }
    lowered.setdefault("host", parts.netloc)
    return SignedRequest(method, parts.path, parts.query, lowered)


def sent_by(call: Any, **params: Any) -> tuple[SignedRequest, bytes]:
    with pytest.raises(_Sent) as info:
        call(**params)
    prepared = info.value.request
    body = prepared.body
    data = body.read() if hasattr(body, "read") else (body or b"")
    data = data.encode() if isinstance(data, str) else data
    return on_the_wire(prepared.method, prepared.url, prepared.headers), data


AWKWARD_KEYS = [
    "plain.txt",
    "a b.txt",
    "ü/日本語 ファイル.txt",
    "a+b=c&d",
    "100%.txt",
    "%2F-literal",
    "dir//double//slash",
    "../up/../../x",
    "./dot/./x",
    "~tilde~",
    "semi;colon,comma:colon@at",
    "question?hash#bang!star*(paren)'",
    "trailing/",
    "tab\tnewline\n",
]


@pytest.mark.parametrize("key", AWKWARD_KEYS)
@pytest.mark.parametrize("endpoint", [ENDPOINT, "https://localhost:4566"])
def test_botocore_s3_object_requests_verify(key: str, endpoint: str) -> None:
    s3 = client("s3", endpoint)
    for call, params in [
        (s3.put_object, {"Body": b"payload"}),
        (s3.get_object, {"Range": "bytes=0-1", "VersionId": "v+1 2"}),
        (s3.head_object, {}),
        (s3.delete_object, {}),
    ]:
        request, body = sent_by(call, Bucket="bucket", Key=key, **params)
        verified = verify(request, secret_for, now())
        assert verified.scope.service == "s3"
        if len(verified.payload_hash) == 64:
            assert verified.payload_hash == hashlib.sha256(body).hexdigest()
        with pytest.raises(SignatureDoesNotMatch):
            verify(replace(request, raw_path=request.raw_path + "x"), secret_for, now())


def test_botocore_https_upload_signs_streaming_unsigned_trailer() -> None:
    request, body = sent_by(
        client("s3", "https://localhost:4566").put_object, Bucket="b", Key="k", Body=b"hello"
    )
    verified = verify(request, secret_for, now())
    assert verified.payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert body.startswith(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:")


@pytest.mark.parametrize(
    "params",
    [
        {"Prefix": "a+b=c d", "Delimiter": "/", "StartAfter": "x=y+z"},
        {"Prefix": "ü & ü", "MaxKeys": 2, "ContinuationToken": "abc+/=="},
        {"Prefix": "", "EncodingType": "url"},
    ],
)
def test_botocore_s3_list_with_awkward_query_values_verifies(params: dict[str, Any]) -> None:
    request, _ = sent_by(client("s3").list_objects_v2, Bucket="bucket", **params)
    verify(request, secret_for, now())


def test_botocore_s3_subresource_and_multipart_queries_verify() -> None:
    s3 = client("s3")
    for call, params in [
        (s3.create_multipart_upload, {"Key": "a b"}),
        (s3.upload_part, {"Key": "k", "UploadId": "u+p/=", "PartNumber": 3, "Body": b"x"}),
        (s3.get_bucket_lifecycle_configuration, {}),
        (s3.delete_objects, {"Delete": {"Objects": [{"Key": "a+b"}]}}),
        (s3.copy_object, {"Key": "dst", "CopySource": {"Bucket": "b", "Key": "s r+c"}}),
    ]:
        request, _ = sent_by(call, Bucket="bucket", **params)
        verify(request, secret_for, now())


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("batch", "describe_jobs", {"jobs": ["a"]}),
        ("batch", "submit_job", {"jobName": "j", "jobQueue": "q", "jobDefinition": "d"}),
        ("events", "put_events", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}),
        ("logs", "get_log_events", {"logGroupName": "/aws/batch/job", "logStreamName": "a/b c"}),
        ("secretsmanager", "get_secret_value", {"SecretId": "db/password"}),
        ("cloudtrail", "lookup_events", {}),
    ],
)
def test_botocore_json_service_requests_verify(
    service: str, operation: str, params: dict[str, Any]
) -> None:
    request, body = sent_by(getattr(client(service), operation), **params)
    assert scope_of(request) == Scope(AKID, now().strftime("%Y%m%d"), "us-east-1", service)
    verified = verify(request, secret_for, now(), body_sha256=hashlib.sha256(body).hexdigest())
    assert verified.payload_hash == hashlib.sha256(body).hexdigest()
    with pytest.raises(ValueError, match="body_sha256"):
        verify(request, secret_for, now())
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, secret_for, now(), body_sha256=hashlib.sha256(body + b" ").hexdigest())


# --- round trips with botocore: signers on hand-made requests -------------------------------


def signed_by(signer: Any, method: str, url: str, **request: Any) -> SignedRequest:
    aws_request = AWSRequest(method=method, url=url, **request)
    signer.add_auth(aws_request)
    prepared = aws_request.prepare()
    return on_the_wire(prepared.method, prepared.url, prepared.headers)


CREDENTIALS = Credentials(AKID, SECRET)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/submitjob",
        "/",
        "",
        "/a//b///c",
        "/a/./b/../c/",
        "/../../x",
        "/a%20b/c%2Fd/%7Etilde~/%C3%BC",
        "/semi;colon/100%25/plus+sign",
        "/trailing/..",
    ],
)
def test_non_s3_paths_are_normalised_and_double_encoded_like_botocore(path: str) -> None:
    signer = SigV4Auth(CREDENTIALS, "batch", "us-east-1")
    request = signed_by(signer, "POST", f"https://batch.localhost{path}", data=b"{}")
    body_sha256 = hashlib.sha256(b"{}").hexdigest()
    verify(request, secret_for, now(), body_sha256=body_sha256)
    with pytest.raises(SignatureDoesNotMatch):
        verify(replace(request, raw_path=request.raw_path + "/x"), secret_for, now(), body_sha256)


def test_non_s3_query_params_with_plus_equals_and_spaces_verify() -> None:
    # AWSRequest sends params urlencoded ('+' for space) but signs them with %20.
    params = {"q": "a b", "eq": "x=y", "plus": "c+d", "uni": "ü", "empty": ""}
    signer = SigV4Auth(CREDENTIALS, "logs", "us-east-1")
    request = signed_by(signer, "GET", "https://logs.localhost/", params=params)
    assert "+" in request.query_string
    verify(request, secret_for, now(), body_sha256=EMPTY_SHA256)


def test_s3_query_with_literal_plus_signed_as_space_or_plus_verifies() -> None:
    signer = S3SigV4Auth(CREDENTIALS, "s3", "us-east-1")
    request = signed_by(signer, "GET", "http://localhost/bucket", params={"prefix": "a b+c"})
    verify(request, secret_for, now())


def test_date_header_instead_of_x_amz_date_verifies() -> None:
    signer = S3SigV4Auth(CREDENTIALS, "s3", "us-east-1")
    request = signed_by(signer, "GET", "http://localhost/b/k", headers={"Date": "now"})
    assert "x-amz-date" not in request.headers
    verify(request, secret_for, now())


def test_repeated_spaces_in_header_values_are_collapsed() -> None:
    signer = S3SigV4Auth(CREDENTIALS, "s3", "us-east-1")
    headers = {"x-amz-meta-note": "  two   spaces  here "}
    verify(signed_by(signer, "GET", "http://localhost/b/k", headers=headers), secret_for, now())


def test_secret_with_special_characters() -> None:
    odd = "a+b/c=d ü"
    signer = S3SigV4Auth(Credentials("OTHER", odd), "s3", "eu-west-3")
    request = signed_by(signer, "GET", "http://localhost/b/k")
    verified = verify(request, {"OTHER": odd}.get, now())
    assert verified.scope.region == "eu-west-3"


@settings(max_examples=60, deadline=None)
@given(key=st.text(min_size=1, max_size=40), service=st.sampled_from(["s3", "batch"]))
def test_any_key_signed_by_botocore_verifies(key: str, service: str) -> None:
    signer_class = S3SigV4Auth if service == "s3" else SigV4Auth
    signer = signer_class(CREDENTIALS, service, "us-east-1")
    path = "/bucket/" + quote(key.encode("utf-8", "surrogatepass"), safe="/~")
    request = signed_by(signer, "PUT", f"http://localhost{path}", data=b"x")
    verify(request, secret_for, now(), body_sha256=hashlib.sha256(b"x").hexdigest())
    with pytest.raises(SignatureDoesNotMatch):
        verify(replace(request, method="POST"), secret_for, now(), body_sha256="0" * 64)


# --- presigned URLs from botocore ------------------------------------------------------------


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_botocore_sigv4_presigned_urls_verify(key: str) -> None:
    s3 = client("s3", signature_version="s3v4")
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": "bucket", "Key": key, "ResponseContentDisposition": 'inline; a="b+c"'},
        ExpiresIn=600,
    )
    request = on_the_wire("GET", url, {})
    verified = verify(request, secret_for, now())
    assert verified.presigned
    assert verified.payload_hash == "UNSIGNED-PAYLOAD"
    with pytest.raises(AccessDenied, match="expired"):
        verify(request, secret_for, now() + timedelta(seconds=601))


def test_presigned_put_with_client_added_content_sha256_verifies() -> None:
    signer = S3SigV4QueryAuth(CREDENTIALS, "s3", "us-east-1", expires=60)
    request = signed_by(signer, "PUT", "http://localhost/b/k")
    with_header = replace(request, headers={**request.headers, "x-amz-content-sha256": "abc"})
    assert verify(with_header, secret_for, now()).payload_hash == "UNSIGNED-PAYLOAD"


# --- SigV2 presigned URLs (boto3's default in us-east-1) --------------------------------------


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_botocore_default_sigv2_presigned_urls_verify(key: str) -> None:
    url = client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": key, "VersionId": "v 1"}, ExpiresIn=600
    )
    request = on_the_wire("GET", url, {})
    assert "AWSAccessKeyId=" in request.query_string
    assert scope_of(request) == Scope(AKID, "", "us-east-1", "s3")
    verified = verify(request, secret_for, now())
    assert verified.presigned and verified.scope.service == "s3"


def test_sigv2_presigned_put_with_content_type_verifies() -> None:
    url = client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": "b", "Key": "k", "ContentType": "text/plain"}
    )
    request = on_the_wire("PUT", url, {"content-type": "text/plain"})
    verify(request, secret_for, now())
    with pytest.raises(SignatureDoesNotMatch):
        verify(
            replace(request, headers={**request.headers, "content-type": "x/y"}), secret_for, now()
        )


def test_sigv2_presigned_failures() -> None:
    signer = HmacV1QueryAuth(CREDENTIALS, expires=60)
    request = signed_by(signer, "GET", "http://localhost/bucket/key?versionId=3")
    verify(request, secret_for, now())
    with pytest.raises(AccessDenied, match="expired"):
        verify(request, secret_for, now() + timedelta(seconds=120))
    with pytest.raises(InvalidAccessKeyId):
        verify(request, lambda _: None, now())
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, lambda _: "wrong", now())
    with pytest.raises(SignatureDoesNotMatch):
        verify(replace(request, raw_path="/bucket/other"), secret_for, now())
    with pytest.raises(AccessDenied, match="requires the Signature"):
        verify(replace(request, query_string="AWSAccessKeyId=x"), secret_for, now())
