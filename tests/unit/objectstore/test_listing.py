"""Bucket listings: UTF-8 binary order, prefixes, delimiter roll-ups, paging."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3batch.objectstore import store
from s3batch.objectstore.errors import InvalidArgument
from s3batch.objectstore.listing import MAX_KEYS, decode_token, encode_token, list_page, successor
from s3batch.objectstore.models import Attributes, Bucket, Listing, ObjectMeta
from s3batch.state.db import Database

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
BUCKET = "b"

Entry = tuple[str, str]  # (key or common prefix, "K" | "P")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    with database.transaction() as conn:
        store.insert_bucket(conn, Bucket(BUCKET, "us-east-1", T0))
        store.insert_bucket(conn, Bucket("other", "us-east-1", T0))
    yield database
    database.close()


def _fill(db: Database, keys: Iterable[str], bucket: str = BUCKET) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM objects WHERE bucket = ?", (bucket,))
        for key in keys:
            store.put_object(conn, ObjectMeta(bucket, key, 0, '"e"', T0, Attributes(), inline=b""))


def _utf8(entry: Entry) -> bytes:
    return entry[0].encode("utf-8")


def _entries(listing: Listing) -> list[Entry]:
    found = [(o.key, "K") for o in listing.contents] + [(p, "P") for p in listing.common_prefixes]
    return sorted(found, key=_utf8)


def _page(
    db: Database, prefix: str = "", delimiter: str = "", max_keys: int = 1000, **kw: str | None
) -> Listing:
    return list_page(db.conn, BUCKET, prefix, delimiter, max_keys, **kw)


def _walk_tokens(
    db: Database, prefix: str, delimiter: str, max_keys: int, after: str | None = None
) -> list[list[Entry]]:
    """Every page of a listing, following continuation tokens as a v2 client does."""
    pages: list[list[Entry]] = []
    token = None
    for _ in range(1000):
        listing = _page(db, prefix, delimiter, max_keys, after=after, token=token)
        pages.append(_entries(listing))
        if not listing.is_truncated:
            assert listing.next_token is None
            return pages
        assert listing.next_token, "a truncated page must say where to continue"
        token = listing.next_token
    raise AssertionError(f"listing did not end: last pages {pages[-3:]}")


def reference(
    keys: Iterable[str], prefix: str, delimiter: str, after: str | None = None
) -> list[Entry]:
    """The naive listing: sort by UTF-8 bytes, filter, roll up."""
    out: list[Entry] = []
    for key in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not key.startswith(prefix) or (after is not None and key.encode() <= after.encode()):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = (key[: cut + len(delimiter)], "P") if cut >= 0 else (key, "K")
        if entry not in out:
            out.append(entry)
    return out


# -- order, prefix, delimiter ------------------------------------------------------------

AWKWARD_KEYS = [
    "a",
    "A",
    "Z",
    "a b",
    "a+b",
    "a%2Bb",
    "a%b",
    "a//b",
    "a/./b",
    "../x",
    "./x",
    "/lead",
    "é",
    "e\u0301",
    "ÿ",
    "\u0100",
    "\ud7ff",
    "\ue000",
    "\uffff",
    "😀",
    "😀/x",
    "\U0010ffff",
]


def test_keys_come_back_in_utf8_binary_order(db: Database) -> None:
    _fill(db, reversed(AWKWARD_KEYS))
    keys = [o.key for o in _page(db).contents]
    assert keys == sorted(AWKWARD_KEYS, key=lambda k: k.encode("utf-8"))
    # UTF-8 order puts U+FFFF before U+1F600 (UTF-16 order would not).
    assert keys.index("\uffff") < keys.index("😀")
    assert keys[:3] == ["../x", "./x", "/lead"]


def test_listing_reads_only_its_bucket(db: Database) -> None:
    _fill(db, ["a", "c"])
    _fill(db, ["b"], bucket="other")
    assert [o.key for o in _page(db).contents] == ["a", "c"]


def test_listing_returns_object_descriptions_without_their_bytes(db: Database) -> None:
    with db.transaction() as conn:
        store.put_object(
            conn, ObjectMeta(BUCKET, "k", 3, '"x"', T0, Attributes("text/plain"), inline=b"abc")
        )
    (obj,) = _page(db).contents
    assert (obj.key, obj.size, obj.etag, obj.attributes.content_type) == (
        "k",
        3,
        '"x"',
        "text/plain",
    )
    assert obj.inline is None


def test_prefix_selects_keys_that_start_with_it(db: Database) -> None:
    _fill(db, ["a/1", "a/2", "a", "ab", "b/1", "a/../x"])
    assert [o.key for o in _page(db, prefix="a/").contents] == ["a/../x", "a/1", "a/2"]
    assert [o.key for o in _page(db, prefix="a").contents] == ["a", "a/../x", "a/1", "a/2", "ab"]
    assert _page(db, prefix="c").contents == []
    assert [o.key for o in _page(db, prefix="a/1").contents] == ["a/1"]


def test_delimiter_rolls_up_everything_after_its_first_occurrence(db: Database) -> None:
    _fill(
        db,
        [
            "photos/2024/jan/1.jpg",
            "photos/2024/feb/2.jpg",
            "photos/2023/x.jpg",
            "photos/top.jpg",
            "readme",
            "photos/",
        ],
    )
    page = _page(db, delimiter="/")
    assert [o.key for o in page.contents] == ["readme"]
    assert page.common_prefixes == ["photos/"]
    page = _page(db, prefix="photos/", delimiter="/")
    assert [o.key for o in page.contents] == ["photos/", "photos/top.jpg"]
    assert page.common_prefixes == ["photos/2023/", "photos/2024/"]
    page = _page(db, prefix="photos/2024/", delimiter="/")
    assert page.contents == [] and page.common_prefixes == ["photos/2024/feb/", "photos/2024/jan/"]


def test_double_slash_and_dot_segments_are_ordinary_characters(db: Database) -> None:
    _fill(db, ["a//b", "a/b", "a/../b", "a/./b", "../b"])
    page = _page(db, prefix="a/", delimiter="/")
    assert page.common_prefixes == ["a/../", "a/./", "a//"]  # '.' (0x2E) sorts before '/' (0x2F)
    assert [o.key for o in page.contents] == ["a/b"]
    assert _page(db, delimiter="/").common_prefixes == ["../", "a/"]


@pytest.mark.parametrize(
    ("delimiter", "prefixes", "contents"),
    [
        ("--", ["logs--", "x--"], ["lab", "logs-abc", "plain", "x-y", "x-éz"]),
        (
            "ab",
            ["lab", "logs-ab"],
            ["logs--2024--a", "logs--2024--b", "plain", "x--1", "x-y", "x-éz"],
        ),
        (
            "é",
            ["x-é"],
            ["lab", "logs--2024--a", "logs--2024--b", "logs-abc", "plain", "x--1", "x-y"],
        ),
        ("2024--", ["logs--2024--"], ["lab", "logs-abc", "plain", "x--1", "x-y", "x-éz"]),
    ],
)
def test_multi_character_delimiters(
    db: Database, delimiter: str, prefixes: list[str], contents: list[str]
) -> None:
    _fill(db, ["logs--2024--a", "logs--2024--b", "logs-abc", "lab", "x--1", "x-y", "x-éz", "plain"])
    page = _page(db, delimiter=delimiter)
    assert page.common_prefixes == prefixes
    assert [o.key for o in page.contents] == contents


def test_keys_made_of_the_highest_code_point_roll_up_once(db: Database) -> None:
    top = "\U0010ffff"
    _fill(db, [top, top * 2, top * 3 + "a", "a"])
    page = _page(db, delimiter=top)
    assert [o.key for o in page.contents] == ["a"]
    assert page.common_prefixes == [top]
    assert not page.is_truncated


def test_delimiter_is_searched_only_after_the_prefix(db: Database) -> None:
    _fill(db, ["a/b/c", "a/d"])
    page = _page(db, prefix="a/", delimiter="/")
    assert page.common_prefixes == ["a/b/"] and [o.key for o in page.contents] == ["a/d"]
    # A delimiter that only occurs inside the prefix rolls nothing up.
    page = _page(db, prefix="a/b", delimiter="a")
    assert page.common_prefixes == [] and [o.key for o in page.contents] == ["a/b/c"]


# -- max-keys and paging ------------------------------------------------------------------


def test_max_keys_counts_contents_and_common_prefixes_together(db: Database) -> None:
    _fill(db, ["a/1", "a/2", "b/1", "c", "d", "e/1"])
    page = _page(db, delimiter="/", max_keys=3)
    assert page.common_prefixes == ["a/", "b/"]
    assert [o.key for o in page.contents] == ["c"]
    assert page.is_truncated and page.next_token
    page = _page(db, delimiter="/", max_keys=3, token=page.next_token)
    assert [o.key for o in page.contents] == ["d"] and page.common_prefixes == ["e/"]
    assert not page.is_truncated and page.next_token is None


def test_a_page_that_ends_exactly_at_the_last_key_is_not_truncated(db: Database) -> None:
    _fill(db, ["a", "b", "c"])
    page = _page(db, max_keys=3)
    assert len(page.contents) == 3 and not page.is_truncated and page.next_token is None
    _fill(db, ["a", "b", "c", "zz"])
    page = _page(db, prefix="", max_keys=3)
    assert page.is_truncated
    # Keys outside the prefix after the page do not make it truncated.
    assert not _page(db, prefix="a", max_keys=1).is_truncated


def test_max_keys_is_capped_at_1000(db: Database) -> None:
    _fill(db, (f"k{i:05d}" for i in range(MAX_KEYS + 5)))
    page = _page(db, max_keys=5000)
    assert len(page.contents) == MAX_KEYS
    assert page.is_truncated
    rest = _page(db, max_keys=5000, token=page.next_token)
    assert [o.key for o in rest.contents] == [f"k{i:05d}" for i in range(MAX_KEYS, MAX_KEYS + 5)]


def test_max_keys_zero_returns_no_entries(db: Database) -> None:
    _fill(db, ["a", "b"])
    page = _page(db, max_keys=0)
    assert page.contents == [] and page.common_prefixes == []


def test_start_after_skips_keys_up_to_and_including_it(db: Database) -> None:
    _fill(db, ["a", "b", "b0", "c"])
    assert [o.key for o in _page(db, after="b").contents] == ["b0", "c"]
    assert [o.key for o in _page(db, after="bz").contents] == ["c"]
    assert [o.key for o in _page(db, after="").contents] == ["a", "b", "b0", "c"]
    # start-after before the prefix: the listing starts at the prefix.
    assert [o.key for o in _page(db, prefix="b", after="a").contents] == ["b", "b0"]
    # start-after beyond every key with the prefix: nothing.
    assert _page(db, prefix="b", after="c").contents == []


def test_continuation_token_wins_over_start_after(db: Database) -> None:
    _fill(db, ["a", "b", "c", "d"])
    first = _page(db, max_keys=1, after="a")
    assert [o.key for o in first.contents] == ["b"]
    second = _page(db, max_keys=1, after="a", token=first.next_token)
    assert [o.key for o in second.contents] == ["c"]


def test_many_pages_yield_every_key_exactly_once_in_order(db: Database) -> None:
    keys = [f"{d}/{i:03d}" for d in ("x", "y") for i in range(120)] + AWKWARD_KEYS
    _fill(db, keys)
    for size in (1, 7, 1000):
        pages = _walk_tokens(db, "", "", size)
        flat = [e for p in pages for e in p]
        assert flat == reference(keys, "", "")
        assert all(len(p) == size for p in pages[:-1])


def test_marker_equal_to_a_common_prefix_moves_past_that_prefix(db: Database) -> None:
    """ListObjects v1 pages with delimiter by passing the last entry (NextMarker) back as marker."""
    _fill(db, ["a/1", "a/2", "b"])
    first = _page(db, delimiter="/", max_keys=1)
    assert first.common_prefixes == ["a/"] and first.is_truncated
    second = _page(db, delimiter="/", max_keys=1, after="a/")
    assert second.common_prefixes == [], (
        "the prefix a/ was already returned: paging would never end"
    )
    assert [o.key for o in second.contents] == ["b"]


# -- tokens -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor", [("a/b", False), ("b0", True), ("é😀\U0010ffff+%2B", False), ("", True)]
)
def test_token_round_trip(cursor: tuple[str, bool]) -> None:
    token = encode_token(cursor)
    assert decode_token(token) == cursor
    assert token.isascii()


@pytest.mark.parametrize(
    "token",
    [
        "!!!not-base64!!!",
        "abc",  # bad padding
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b"42").decode(),
        base64.urlsafe_b64encode(json.dumps(["a", True, 3]).encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_bad_continuation_token_is_invalid_argument(db: Database, token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        _page(db, token=token)
    assert info.value.details == {"ArgumentName": "continuation-token"}
    assert "continuation token" in info.value.message


# -- successor -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a", "b"),
        ("a/", "a0"),
        ("é", "ê"),
        ("a\ud7ff", "a\ue000"),
        ("a\U0010ffff", "b"),
        ("x\uffff", "x\U00010000"),
    ],
)
def test_successor_examples(prefix: str, expected: str) -> None:
    assert successor(prefix) == expected


SUCCESSOR_CHARS = st.sampled_from(
    ["a", "z", "/", "\x7f", "é", "\ud7ff", "\ue000", "\uffff", "😀", "\U0010fffe", "\U0010ffff"]
)


@settings(max_examples=300, database=None, derandomize=True)
@given(
    prefix=st.lists(SUCCESSOR_CHARS, min_size=1, max_size=4).map("".join),
    rest=st.lists(SUCCESSOR_CHARS, max_size=4).map("".join),
)
def test_successor_sorts_after_every_string_with_the_prefix(prefix: str, rest: str) -> None:
    bound = successor(prefix)
    if bound is None:  # nothing sorts after a run of the largest code point
        assert set(prefix) == {"\U0010ffff"}
        return
    assert (prefix + rest).encode("utf-8") < bound.encode("utf-8")


# -- differential test against the naive reference -------------------------------------------------

KEY_TOKENS = [
    "a",
    "b",
    "/",
    "//",
    "../",
    "+",
    "%",
    "%2B",
    " ",
    "é",
    "ab",
    "\u00ff",
    "\ud7ff",
    "\ue000",
    "\uffff",
    "😀",
    "\U0010ffff",
]
DELIMITERS = ["", "/", "//", "ab", "+", "%", "é", "\ud7ff", "\uffff", "\U0010ffff", "a"]
keys_st = st.sets(
    st.lists(st.sampled_from(KEY_TOKENS), min_size=1, max_size=5).map("".join), max_size=30
)
prefix_st = st.lists(st.sampled_from(KEY_TOKENS), max_size=2).map("".join)


def test_paging_matches_the_naive_reference(tmp_path: Path) -> None:
    database = Database(tmp_path / "state.db")
    with database.transaction() as conn:
        store.insert_bucket(conn, Bucket(BUCKET, "us-east-1", T0))

    @settings(
        max_examples=250,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        keys=keys_st,
        prefix=prefix_st,
        delimiter=st.sampled_from(DELIMITERS),
        size=st.integers(1, 6),
    )
    def check(keys: set[str], prefix: str, delimiter: str, size: int) -> None:
        _fill(database, keys)
        pages = _walk_tokens(database, prefix, delimiter, size)
        assert [e for p in pages for e in p] == reference(keys, prefix, delimiter)
        assert all(len(p) == size for p in pages[:-1]), "every page but the last is full"
        assert len(pages[-1]) <= size

    try:
        check()
    finally:
        database.close()


def test_start_after_matches_the_naive_reference(tmp_path: Path) -> None:
    database = Database(tmp_path / "state.db")
    with database.transaction() as conn:
        store.insert_bucket(conn, Bucket(BUCKET, "us-east-1", T0))

    @settings(
        max_examples=150,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(keys=keys_st, prefix=prefix_st, after=prefix_st, size=st.integers(1, 6))
    def check(keys: set[str], prefix: str, after: str, size: int) -> None:
        _fill(database, keys)
        pages = _walk_tokens(database, prefix, "", size, after=after)
        assert [e for p in pages for e in p] == reference(keys, prefix, "", after=after)

    try:
        check()
    finally:
        database.close()
