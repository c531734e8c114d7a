"""aws-chunked decoding: AWS streaming vectors, botocore's encoder, arbitrary splits, bad framing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from s3batch.api.awschunked import (
    SIGNED,
    SIGNED_TRAILER,
    UNSIGNED_TRAILER,
    AwsChunkedDecoder,
    InvalidChunkEncoding,
)
from s3batch.api.sigv4 import (
    Scope,
    SignatureDoesNotMatch,
    SignedRequest,
    Verified,
    signing_key,
    verify,
)
from s3batch.objectstore.errors import IncompleteBody

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SCOPE = Scope("AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3")
AMZ_DATE = "20130524T000000Z"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
PAYLOAD = b"a" * 66560


def verified(mode: str, seed: str) -> Verified:
    return Verified(SCOPE, seed, signing_key(SECRET, SCOPE), AMZ_DATE, mode, presigned=False)


# The AWS "sigv4-streaming" example: 64 KiB + 1 KiB + 0 of 'a'.
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = [
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
]
# The AWS "sigv4-streaming-trailers" example: same data plus a signed CRC32C trailer.
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = [
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
]
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"


def framed(sizes: Iterable[int], signatures: Iterable[str], data: bytes = PAYLOAD) -> bytes:
    body, pos = b"", 0
    for size, signature in zip(sizes, signatures, strict=True):
        body += f"{size:x};chunk-signature={signature}\r\n".encode() + data[pos : pos + size]
        body += b"\r\n" if size else b""
        pos += size
    return body


DOC_BODY = framed([65536, 1024, 0], CHUNK_SIGNATURES) + b"\r\n"
DOC_TRAILER_BODY = (
    framed([65536, 1024, 0], TRAILER_CHUNK_SIGNATURES)
    + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    + f"x-amz-trailer-signature:{TRAILER_SIGNATURE}\r\n\r\n".encode()
)


def decode(
    body: bytes, mode: str, auth: Verified | None = None, step: int = 0
) -> tuple[bytes, dict[str, str]]:
    decoder = AwsChunkedDecoder(mode, auth)
    pieces = [body[i : i + step] for i in range(0, len(body), step)] if step else [body]
    out = b"".join(decoder.feed(piece) for piece in pieces)
    assert decoder.decoded_length == len(out)
    return out, decoder.finish()


# --- AWS vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [0, 1, 7, 86, 87, 88, 4096, 65536, 65625])
def test_aws_signed_streaming_example_at_any_split(step: int) -> None:
    out, trailers = decode(DOC_BODY, SIGNED, verified(SIGNED, SEED), step)
    assert out == PAYLOAD
    assert trailers == {}


@pytest.mark.parametrize("step", [0, 1, 13, 1000, 65536])
def test_aws_signed_trailer_example_at_any_split(step: int) -> None:
    auth = verified(SIGNED_TRAILER, TRAILER_SEED)
    out, trailers = decode(DOC_TRAILER_BODY, SIGNED_TRAILER, auth, step)
    assert out == PAYLOAD
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


def test_seed_from_verify_drives_the_chain() -> None:
    signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
    signed += "x-amz-decoded-content-length;x-amz-storage-class"
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": AMZ_DATE,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": SIGNED,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": str(len(DOC_BODY)),
        "authorization": f"AWS4-HMAC-SHA256 Credential={SCOPE.access_key_id}/{SCOPE.credential_scope},"
        f"SignedHeaders={signed},Signature={SEED}",
    }
    request = SignedRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)
    seed = verify(request, {SCOPE.access_key_id: SECRET}.get, datetime(2013, 5, 24, tzinfo=UTC))
    assert decode(DOC_BODY, seed.payload_hash, seed)[0] == PAYLOAD


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b"aaaa", b"baaa", 1),  # first chunk's data
        lambda b: b.replace(b"a\r\n400", b"b\r\n400", 1),  # last byte of the first chunk
        lambda b: b.replace(b"aa\r\n0;", b"ab\r\n0;", 1),  # second chunk's data
        lambda b: b.replace(CHUNK_SIGNATURES[1].encode(), CHUNK_SIGNATURES[0].encode()),
        lambda b: b.replace(CHUNK_SIGNATURES[2].encode(), b"0" * 64),
    ],
)
def test_tampered_signed_chunk_fails(tamper: Callable[[bytes], bytes]) -> None:
    body = tamper(DOC_BODY)
    with pytest.raises(SignatureDoesNotMatch):
        decode(body, SIGNED, verified(SIGNED, SEED))


def test_wrong_seed_fails_on_first_chunk() -> None:
    decoder = AwsChunkedDecoder(SIGNED, verified(SIGNED, TRAILER_SEED))
    with pytest.raises(SignatureDoesNotMatch) as info:
        decoder.feed(DOC_BODY)
    assert info.value.details["StringToSign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.replace(b"sOO8/Q==", b"sOO8/Q=A"),
        lambda b: b.replace(TRAILER_SIGNATURE.encode(), b"f" * 64),
        lambda b: b.replace(
            b"x-amz-checksum-crc32c:sOO8/Q==\r\n",
            b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-extra:1\r\n",
        ),
    ],
)
def test_tampered_signed_trailer_fails(tamper: Callable[[bytes], bytes]) -> None:
    body = tamper(DOC_TRAILER_BODY)
    with pytest.raises(SignatureDoesNotMatch):
        decode(body, SIGNED_TRAILER, verified(SIGNED_TRAILER, TRAILER_SEED))


def test_signed_trailer_without_trailer_signature_fails() -> None:
    body = (
        framed([65536, 1024, 0], TRAILER_CHUNK_SIGNATURES)
        + b"x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n"
    )
    with pytest.raises(SignatureDoesNotMatch, match="no x-amz-trailer-signature"):
        decode(body, SIGNED_TRAILER, verified(SIGNED_TRAILER, TRAILER_SEED))


# --- botocore's unsigned encoder (what boto3 sends over https) ----------------------------------


def botocore_body(data: bytes, chunk_size: int) -> bytes:
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    return wrapper.read()


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
@pytest.mark.parametrize("step", [0, 1, 3, 1024])
def test_botocore_unsigned_trailer_bodies_decode(size: int, step: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    out, trailers = decode(botocore_body(data, 1024), UNSIGNED_TRAILER, step=step)
    assert out == data
    assert trailers == {"x-amz-checksum-crc32": crc32_b64(data)}


def test_empty_object_body_as_botocore_sends_it() -> None:
    out, trailers = decode(b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", UNSIGNED_TRAILER)
    assert (out, trailers) == (b"", {"x-amz-checksum-crc32": "AAAAAA=="})


def test_non_streaming_hash_with_aws_chunked_encoding_decodes_unsigned() -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    assert decode(body, hashlib.sha256(b"abc").hexdigest()) == (b"abc", {})
    assert decode(body, "UNSIGNED-PAYLOAD") == (b"abc", {})


# --- random payloads, chunkings and split points ------------------------------------------------


def encode(data: bytes, sizes: list[int], mode: str, trailers: dict[str, str]) -> bytes:
    """An independent aws-chunked encoder, signing as the AWS docs describe."""
    key, previous = signing_key(SECRET, SCOPE), SEED
    prefix = f"{AMZ_DATE}\n{SCOPE.date}/{SCOPE.region}/{SCOPE.service}/aws4_request\n"
    out, pos = [], 0
    for size in [*sizes, 0]:
        chunk = data[pos : pos + size]
        pos += size
        line = f"{size:x}"
        if mode != UNSIGNED_TRAILER:
            to_sign = f"AWS4-HMAC-SHA256-PAYLOAD\n{prefix}{previous}\n{EMPTY_SHA256}\n"
            to_sign += hashlib.sha256(chunk).hexdigest()
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            line += f";chunk-signature={previous}"
        out.append(line.encode() + b"\r\n" + chunk + (b"\r\n" if size else b""))
    for name, value in trailers.items():
        out.append(f"{name}:{value}\r\n".encode())
    if mode == SIGNED_TRAILER:
        canonical = "".join(f"{n}:{v}\n" for n, v in sorted(trailers.items()))
        to_sign = f"AWS4-HMAC-SHA256-TRAILER\n{prefix}{previous}\n"
        to_sign += hashlib.sha256(canonical.encode()).hexdigest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        out.append(f"x-amz-trailer-signature:{signature}\r\n".encode())
    return b"".join(out) + b"\r\n"


@st.composite
def encoded_bodies(draw: st.DrawFn) -> tuple[bytes, str, bytes, dict[str, str], list[int]]:
    data = draw(st.binary(max_size=3000))
    chunk = draw(st.integers(min_value=1, max_value=700))
    sizes = [min(chunk, len(data) - i) for i in range(0, len(data), chunk)]
    mode = draw(st.sampled_from([UNSIGNED_TRAILER, SIGNED, SIGNED_TRAILER]))
    names = st.sampled_from(["x-amz-checksum-crc32", "x-amz-checksum-sha256", "x-amz-meta-a"])
    values = st.text(alphabet="ABCxyz019+/=", min_size=1, max_size=20)
    trailers = {} if mode == SIGNED else draw(st.dictionaries(names, values, max_size=3))
    body = encode(data, sizes, mode, trailers)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    return data, mode, body, trailers, cuts


@settings(max_examples=300, deadline=None)
@given(encoded_bodies())
def test_random_bodies_decode_identically_at_random_splits(
    case: tuple[bytes, str, bytes, dict[str, str], list[int]],
) -> None:
    data, mode, body, trailers, cuts = case
    decoder = AwsChunkedDecoder(mode, verified(mode, SEED))
    bounds = [0, *cuts, len(body)]
    out = b"".join(decoder.feed(body[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))
    assert out == data
    assert decoder.finish() == trailers


@settings(max_examples=100, deadline=None)
@given(encoded_bodies(), st.data())
def test_any_flipped_byte_in_a_signed_body_is_detected(
    case: tuple[bytes, str, bytes, dict[str, str], list[int]], more: st.DataObject
) -> None:
    data, mode, body, _, _ = case
    if mode == UNSIGNED_TRAILER:
        return
    index = more.draw(st.integers(0, len(body) - 1))
    flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    with pytest.raises((SignatureDoesNotMatch, InvalidChunkEncoding, IncompleteBody)):
        decode(flipped, mode, verified(mode, SEED))


def test_one_byte_at_a_time_matches_one_piece() -> None:
    body = encode(PAYLOAD[:5000], [1000] * 5, SIGNED_TRAILER, {"x-amz-checksum-crc32": "x=="})
    auth = verified(SIGNED_TRAILER, SEED)
    assert decode(body, SIGNED_TRAILER, auth, step=1) == decode(body, SIGNED_TRAILER, auth)


# --- streaming and speed --------------------------------------------------------------------------


def test_output_streams_before_a_huge_chunk_ends() -> None:
    decoder = AwsChunkedDecoder(UNSIGNED_TRAILER)
    assert decoder.feed(b"40000000\r\n") == b""  # a 1 GiB chunk is announced ...
    piece = b"x" * 65536
    assert decoder.feed(piece) is piece  # ... and its bytes pass straight through, uncopied
    with pytest.raises(IncompleteBody):
        decoder.finish()


def test_large_body_decodes_fast() -> None:
    mib = 1024 * 1024
    data = bytes(range(256)) * (4 * mib // 256)
    chunk_line = f"{mib:x}\r\n".encode()
    body = (chunk_line + data[:mib] + b"\r\n") * 32 + b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    decoder = AwsChunkedDecoder(UNSIGNED_TRAILER)
    started = time.perf_counter()
    total = sum(len(decoder.feed(body[i : i + 65536])) for i in range(0, len(body), 65536))
    decoder.finish()
    assert total == 32 * mib
    assert time.perf_counter() - started < 2.0  # about 0.05 s for 32 MiB on a 2-core box


# --- malformed framing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"x\r\nabc\r\n0\r\n\r\n",  # size is not hex
        b"0x3\r\nabc\r\n0\r\n\r\n",  # nor a Python literal
        b"1_0\r\n",
        b" 3\r\nabc\r\n0\r\n\r\n",
        b"\r\n",  # empty size line
        b"3\nabc\r\n0\r\n\r\n",  # bare LF
        b"3\r\nabcd\r\n0\r\n\r\n",  # more data than declared
        b"3\r\nab\r\n0\r\n\r\n",
        b"0\r\nno-colon\r\n\r\n",
        b"0\r\n:empty-name\r\n\r\n",
        b"0\r\n\r\nextra",  # bytes after the end
        b"1" * 5000,  # endless size line
        b"0\r\n"
        + b"x-amz-meta-a:"
        + b"v" * 4000
        + b"\r\n"
        + (b"x-amz-meta-b:" + b"v" * 4000 + b"\r\n") * 4,
    ],
)
def test_malformed_framing_is_invalid_chunk_encoding(body: bytes) -> None:
    with pytest.raises(InvalidChunkEncoding) as info:
        decode(body, UNSIGNED_TRAILER)
    assert info.value.code == "InvalidRequest"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"3\r\nab",
        b"3\r\nabc",
        b"3\r\nabc\r",
        b"3\r\nabc\r\n",
        b"0\r\n",
        b"0\r\nx:1\r\n",
        b"0\r\n\r",
    ],
)
def test_truncated_body_is_incomplete(body: bytes) -> None:
    with pytest.raises(IncompleteBody):
        decode(body, UNSIGNED_TRAILER)


def test_signed_modes_require_chunk_signatures_and_refuse_unsigned_trailers() -> None:
    auth = verified(SIGNED, SEED)
    with pytest.raises(InvalidChunkEncoding, match="chunk-signature"):
        decode(b"3\r\nabc\r\n0\r\n\r\n", SIGNED, auth)
    with pytest.raises(InvalidChunkEncoding, match="chunk-signature"):
        decode(b"3;chunk-signature=abc\r\nabc\r\n", SIGNED, auth)
    with pytest.raises(InvalidChunkEncoding, match="trailer"):
        decode(
            framed([65536, 1024, 0], CHUNK_SIGNATURES) + b"x-amz-checksum-crc32:AA==\r\n\r\n",
            SIGNED,
            auth,
        )


def test_unsupported_modes_and_missing_seed() -> None:
    with pytest.raises(InvalidChunkEncoding, match="Unsupported"):
        AwsChunkedDecoder("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
    with pytest.raises(ValueError, match="seed"):
        AwsChunkedDecoder(SIGNED)
