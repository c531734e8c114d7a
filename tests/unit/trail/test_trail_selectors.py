"""Basic event selectors: which S3 object calls a trail logs (pure)."""

from __future__ import annotations

import pytest

from s3batch.trail.models import DataResource, EventSelector, Trail
from s3batch.trail.selectors import selects

ARN = "arn:aws:cloudtrail:us-east-1:123456789012:trail/t"
OBJECT = "AWS::S3::Object"


def trail(*values: str, rw: str = "All", type_: str = OBJECT) -> Trail:
    """A trail with one selector over ``values``."""
    request = {
        "Name": "t",
        "EventSelectors": [
            {"ReadWriteType": rw, "DataResources": [{"Type": type_, "Values": list(values)}]}
        ],
    }
    return Trail.from_request(request, ARN)


def writes(t: Trail, bucket: str, key: str) -> bool:
    return selects(t, bucket, key, read_only=False)


# -- values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["a.csv", "incoming/a.csv", "deep/er/still/x", "Q3 report+final (1).csv", "é/ü.txt"]
)
def test_bucket_with_trailing_slash_selects_every_key_of_that_bucket(key: str) -> None:
    assert writes(trail("arn:aws:s3:::data/"), "data", key)


@pytest.mark.parametrize("bucket", ["data2", "dat", "other", "data-archive"])
def test_bucket_value_does_not_select_other_buckets_even_with_a_shared_name_prefix(
    bucket: str,
) -> None:
    assert not writes(trail("arn:aws:s3:::data/"), bucket, "a.csv")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incoming/a.csv", True),
        ("incoming/sub/b.csv", True),
        ("incoming/", True),
        ("incoming", False),  # the prefix includes the slash
        ("outgoing/a.csv", False),
        ("a/incoming/x", False),  # a prefix, not a substring
        ("Incoming/a.csv", False),  # keys are case-sensitive
    ],
)
def test_a_longer_value_is_a_key_prefix(key: str, expected: bool) -> None:
    assert writes(trail("arn:aws:s3:::data/incoming/"), "data", key) is expected


def test_a_key_prefix_without_trailing_slash_matches_by_characters() -> None:
    t = trail("arn:aws:s3:::data/in")
    assert writes(t, "data", "in.csv")
    assert writes(t, "data", "incoming/a")
    assert not writes(t, "data", "out.csv")


@pytest.mark.parametrize("value", ["arn:aws:s3", "arn:aws:s3:::"])
@pytest.mark.parametrize("bucket", ["data", "other", "x-y.z"])
def test_all_buckets_value_selects_every_bucket(value: str, bucket: str) -> None:
    assert writes(trail(value), bucket, "any/key")


def test_any_of_several_values_selects() -> None:
    t = trail("arn:aws:s3:::a/logs/", "arn:aws:s3:::b/")
    assert writes(t, "a", "logs/x")
    assert writes(t, "b", "anything")
    assert not writes(t, "a", "other/x")
    assert not writes(t, "c", "logs/x")


@pytest.mark.parametrize("value", ["data/", "s3://data/", "arn:aws:s3::data/", "arn:aws:s3::"])
def test_values_that_are_not_s3_object_arns_select_nothing(value: str) -> None:
    assert not writes(trail(value), "data", "k")


def test_only_s3_object_resources_select() -> None:
    assert not writes(trail("arn:aws:s3:::data/", type_="AWS::Lambda::Function"), "data", "k")
    assert not writes(trail("arn:aws:s3:::data/", type_="AWS::S3::Bucket"), "data", "k")


def test_a_selector_without_data_resources_selects_nothing() -> None:
    t = Trail.from_request({"Name": "t", "EventSelectors": [{"ReadWriteType": "All"}]}, ARN)
    assert not writes(t, "data", "k")


def test_a_trail_without_selectors_selects_nothing() -> None:
    t = Trail.from_request({"Name": "t"}, ARN)
    assert t.selectors == ()
    assert not writes(t, "data", "k")


# -- read/write type ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rw", "read", "write"),
    [
        ("All", True, True),
        ("WriteOnly", False, True),
        ("ReadOnly", True, False),
        ("Bogus", False, False),
    ],
)
def test_read_write_type(rw: str, read: bool, write: bool) -> None:
    t = trail("arn:aws:s3:::data/", rw=rw)
    assert selects(t, "data", "k", read_only=True) is read
    assert selects(t, "data", "k", read_only=False) is write


def test_read_write_type_defaults_to_all() -> None:
    t = Trail.from_request(
        {
            "Name": "t",
            "EventSelectors": [{"DataResources": [{"Type": OBJECT, "Values": ["arn:aws:s3"]}]}],
        },
        ARN,
    )
    assert t.selectors[0].read_write_type == "All"
    assert selects(t, "b", "k", read_only=True) and selects(t, "b", "k", read_only=False)


def test_any_selector_of_a_trail_selects() -> None:
    t = Trail(
        "t",
        ARN,
        (
            EventSelector("ReadOnly", True, (DataResource(OBJECT, ("arn:aws:s3:::data/",)),)),
            EventSelector("WriteOnly", False, (DataResource(OBJECT, ("arn:aws:s3:::logs/",)),)),
        ),
    )
    assert not writes(t, "data", "k")  # the data selector logs reads only
    assert selects(t, "data", "k", read_only=True)
    assert writes(t, "logs", "k")
    assert not selects(t, "logs", "k", read_only=True)


# -- model ------------------------------------------------------------------------------------


def test_request_round_trips_through_the_model_with_defaults_filled_in() -> None:
    request = {
        "Name": "t",
        "EventSelectors": [
            {
                "DataResources": [
                    {"Type": OBJECT, "Values": ["arn:aws:s3:::a/", "arn:aws:s3:::b/p"]}
                ]
            },
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": False, "DataResources": []},
        ],
    }
    t = Trail.from_request(request, ARN)
    assert (t.name, t.arn) == ("t", ARN)
    assert t.to_request() == {
        "Name": "t",
        "EventSelectors": [
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [
                    {"Type": OBJECT, "Values": ["arn:aws:s3:::a/", "arn:aws:s3:::b/p"]}
                ],
            },
            {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": False, "DataResources": []},
        ],
    }
    assert Trail.from_request(t.to_request(), ARN) == t
