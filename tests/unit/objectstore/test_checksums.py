"""ETags, the signed SHA-256 and S3's flexible checksums.

Expected values were computed outside Python (md5sum, openssl dgst, the CRC32 in gzip's
trailer), so these tests do not share code with what they check.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from s3batch.errors import InvalidRequest
from s3batch.objectstore.checksums import (
    BodyDigest,
    Digests,
    check,
    composite,
    header_name,
    multipart_etag,
    normalise_algorithm,
)
from s3batch.objectstore.errors import BadDigest, ContentSHA256Mismatch, InvalidDigest

CHECK_INPUT = b"123456789"  # the standard check string of CRC catalogues
CRC32_CHECK = "y/Q5Jg=="  # 0xCBF43926
SHA1_CHECK = "98O8HYCOBHMq32eZZczDTKeuNEE="
SHA256_CHECK = "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="
MD5_CHECK_HEX = "25f9e794323b453885f5181f1b624d0b"
HELLO_WORLD_MD5_B64 = "XrY7u+Ae7tCTyyK7j1rNww=="  # md5(b"hello world")
HELLO_WORLD_SHA256_HEX = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"


def _digest(
    data: bytes, *, sha256: bool = False, algorithm: str | None = None, pieces: int = 1
) -> Digests:
    body = BodyDigest(want_sha256=sha256, checksum_algorithm=algorithm)
    step = max(1, len(data) // pieces)
    for i in range(0, len(data), step):
        body.update(memoryview(data)[i : i + step])
    return body.result()


# -- ETags -------------------------------------------------------------------------


def test_single_part_etag_is_the_quoted_hex_md5() -> None:
    assert _digest(CHECK_INPUT).etag == f'"{MD5_CHECK_HEX}"'
    assert _digest(b"").etag == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_digests_do_not_depend_on_how_the_body_is_split() -> None:
    data = bytes(range(256)) * 41
    whole = _digest(data, sha256=True, algorithm="SHA1")
    split = _digest(data, sha256=True, algorithm="SHA1", pieces=17)
    assert whole == split
    assert whole.size == split.size == len(data)


def test_multipart_etag_is_md5_of_the_binary_part_md5s_then_part_count() -> None:
    part_md5s = [hashlib.md5(b"hello ").digest(), hashlib.md5(b"world").digest()]
    assert [m.hex() for m in part_md5s] == [
        "f814893777bcc2295fff05f00e508da6",
        "7d793037a0760186574b0282f2f435e7",
    ]
    assert multipart_etag(part_md5s) == '"e09e4fd6265b36115fe3db32df945d84-2"'


def test_multipart_etag_of_one_part_still_carries_the_count_and_differs_from_its_md5() -> None:
    md5 = hashlib.md5(b"hello world").digest()
    etag = multipart_etag([md5])
    assert etag.endswith('-1"')
    assert etag != f'"{md5.hex()}"'
    assert etag == f'"{hashlib.md5(md5).hexdigest()}-1"'


# -- flexible checksums --------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("CRC32", CRC32_CHECK),
        ("crc32", CRC32_CHECK),
        ("SHA1", SHA1_CHECK),
        ("sha256", SHA256_CHECK),
    ],
)
def test_flexible_checksum_values(algorithm: str, expected: str) -> None:
    digests = _digest(CHECK_INPUT, algorithm=algorithm, pieces=4)
    assert digests.checksum_algorithm == algorithm.upper()
    assert digests.checksum_value == expected


def test_no_checksum_algorithm_means_no_checksum_and_no_sha256_unless_asked() -> None:
    digests = _digest(CHECK_INPUT)
    assert digests.checksum_algorithm is None and digests.checksum_value is None
    assert digests.sha256_hex is None
    assert _digest(b"hello world", sha256=True).sha256_hex == HELLO_WORLD_SHA256_HEX


def test_composite_crc32_is_the_crc_of_the_part_crcs_then_part_count() -> None:
    # CRC32("hello ") = ed81f9f6, CRC32("world") = 3a771143, CRC32 of those 8 bytes = d45bb699
    assert _digest(b"hello ", algorithm="CRC32").checksum_value == "7YH59g=="
    assert _digest(b"world", algorithm="CRC32").checksum_value == "OncRQw=="
    assert composite("CRC32", ["7YH59g==", "OncRQw=="]) == "1Fu2mQ==-2"


def test_composite_sha256() -> None:
    parts = [
        _digest(b"hello ", algorithm="SHA256").checksum_value,
        _digest(b"world", algorithm="SHA256").checksum_value,
    ]
    assert parts == [
        "XjI1qDRuWkWF+MWFYvUFK4/iajuxIuHpbHZ4SWTfxGE=",
        "SG6kYiTRu0+2gPNPfJrZao8k7Ii+c+qOWmxlJg6cuKc=",
    ]
    assert (
        composite("SHA256", [p for p in parts if p])
        == "Zhie15keHg/OBlOZxcoF/BXCgYZaeimRvdZnwUZqkaQ=-2"
    )


@pytest.mark.parametrize("name", ["CRC32C", "crc32c", "CRC64NVME"])
def test_unsupported_algorithms_give_a_clear_invalid_request(name: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        normalise_algorithm(name)
    assert type(info.value) is InvalidRequest
    assert info.value.code == "InvalidRequest"
    assert name.upper() in info.value.message and "not supported" in info.value.message
    assert "CRC32, SHA1 or SHA256" in info.value.message
    with pytest.raises(InvalidRequest, match="not supported"):
        BodyDigest(want_sha256=False, checksum_algorithm=name)


@pytest.mark.parametrize("name", ["MD5", "crc", "sha512", ""])
def test_unknown_algorithms_are_invalid(name: str) -> None:
    with pytest.raises(InvalidRequest, match="x-amz-checksum-algorithm header is invalid"):
        normalise_algorithm(name)


def test_header_names() -> None:
    assert header_name("CRC32") == "x-amz-checksum-crc32"
    assert header_name("SHA256") == "x-amz-checksum-sha256"


# -- checking what the client declared -------------------------------------------------


def test_matching_declarations_pass() -> None:
    digests = _digest(b"hello world", sha256=True, algorithm="CRC32")
    check(
        digests,
        content_md5=HELLO_WORLD_MD5_B64,
        sha256_hex=HELLO_WORLD_SHA256_HEX.upper(),
        checksum=_digest(b"hello world", algorithm="CRC32").checksum_value,
    )
    check(digests)  # nothing declared: nothing to compare


def test_content_md5_mismatch_is_bad_digest() -> None:
    wrong = base64.b64encode(hashlib.md5(b"hello worlds").digest()).decode()
    with pytest.raises(BadDigest) as info:
        check(_digest(b"hello world"), content_md5=wrong)
    assert info.value.code == "BadDigest"
    assert "Content-MD5" in info.value.message


@pytest.mark.parametrize(
    "declared",
    [
        "not base64!",
        "XrY7u+Ae7tCTyyK7j1rNww",  # padding missing
        base64.b64encode(b"short").decode(),  # valid base64, not 16 bytes
        base64.b64encode(bytes(32)).decode(),
        "",
    ],
)
def test_malformed_content_md5_is_invalid_digest(declared: str) -> None:
    with pytest.raises(InvalidDigest) as info:
        check(_digest(b"hello world"), content_md5=declared)
    assert info.value.code == "InvalidDigest"


def test_content_md5_as_hex_instead_of_base64_is_refused() -> None:
    # 32 hex characters are valid base64, but decode to 24 bytes, not an MD5's 16.
    with pytest.raises(InvalidDigest):
        check(_digest(b"hello world"), content_md5="5eb63bbbe01eeed093cb22bb8f5acdc3")


def test_signed_sha256_mismatch_names_both_values() -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ContentSHA256Mismatch) as info:
        check(_digest(b"hello world", sha256=True), sha256_hex=wrong)
    assert info.value.code == "XAmzContentSHA256Mismatch"
    assert info.value.details == {
        "ClientComputedContentSHA256": wrong,
        "S3ComputedContentSHA256": HELLO_WORLD_SHA256_HEX,
    }


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_flexible_checksum_mismatch_is_bad_digest(algorithm: str) -> None:
    declared = _digest(b"hello worlD", algorithm=algorithm).checksum_value
    with pytest.raises(BadDigest, match=algorithm):
        check(_digest(b"hello world", algorithm=algorithm), checksum=declared)


def test_malformed_flexible_checksum_is_invalid_digest_naming_the_header() -> None:
    with pytest.raises(InvalidDigest, match="x-amz-checksum-crc32"):
        check(_digest(b"hello world", algorithm="CRC32"), checksum="%%%")


def test_content_md5_is_checked_before_the_body_is_trusted_even_when_a_checksum_matches() -> None:
    digests = _digest(b"hello world", algorithm="CRC32")
    wrong_md5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()
    with pytest.raises(BadDigest, match="Content-MD5"):
        check(digests, content_md5=wrong_md5, checksum=digests.checksum_value)
