"""JSON and space-delimited FilterLogEvents patterns, with the examples of CloudWatch Logs'
"Filter pattern syntax" pages ("Using filter patterns to match terms in JSON log events",
"... in space-delimited log events")."""

from __future__ import annotations

import json

import pytest

from s3batch.logs.errors import InvalidParameterException
from s3batch.logs.filters import compile_pattern

#: The JSON log event the CloudWatch examples match against.
EVENT = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "123.123.123.123",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
        "ThatFlag": False,
        "bandwidth": 80,
        "latency": 1500,
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [{"id": 2, "email": "John.Doe@example.com"}],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 10], [20, 30]],
    }
)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', True),
        ("{ $.eventType = UpdateTrail }", True),  # quotes are optional for plain text
        ('{ $.eventType = "Update*" }', True),  # * is a wildcard
        ('{ $.eventType = "*Trail" }', True),
        ('{ $.eventType = "Update" }', False),  # text matches whole, not as a part
        ("{ $.sourceIPAddress != 123.123.* }", False),
        ("{ $.sourceIPAddress != 124.* }", True),
        ('{ $.arrayKey[0] = "value" }', True),
        ('{ $.arrayKey[1] = "value" }', False),
        ("{ $.objectList[1].id = 2 }", True),
        ("{ $.coordinates[1][0] = 20 }", True),
        ("{ $.SomeObject IS NULL }", True),
        ("{ $.ThisFlag IS NULL }", False),
        ("{ $.SomeOtherObject NOT EXISTS }", True),
        ("{ $.SomeObject NOT EXISTS }", False),  # null is a value: the key exists
        ("{ $.ThisFlag IS TRUE }", True),
        ("{ $.ThatFlag IS FALSE }", True),
        ("{ $.ThatFlag IS TRUE }", False),
        ("{ $.bandwidth > 75 }", True),
        ("{ $.bandwidth <= 75 }", False),
        ("{ $.latency >= 1e3 }", True),  # scientific notation
        ("{ $.latency < 1.5e3 }", False),
        ("{ $.bandwidth = 80.0 }", True),  # numbers compare as numbers
        ("{ $.bandwidth != 80 }", False),
        ("{ $.eventType > 1 }", False),  # text is never greater than a number
        ("{ $.nope = * }", False),  # a missing field matches no comparison...
        ("{ $.nope != x }", False),  # ...not even !=
        ("{ $.user = * }", False),  # objects are not compared
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ $.user.id = 2 && $.users[0].email = "nonmatch" || $.actions[2] = "DELETE" }', True),
        ('{ $.user.id = 2 && ($.users[0].email = "nonmatch" || $.actions[2] = "DELETE") }', False),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
            " && $.actions[2] = nonmatch }",
            False,
        ),
        ("{ $.user.email = %Stiles@% }", True),  # a regex is found anywhere in the value
        ("{ $.user.email = %^Stiles% }", False),
        ("{ $.user.email != %Doe% }", True),
    ],
)
def test_json_patterns(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(EVENT) is expected


def test_json_patterns_match_only_json_objects() -> None:
    pattern = compile_pattern("{ $.a = 1 }")
    assert pattern.matches('{"a": 1}')
    assert not pattern.matches("a = 1")
    assert not pattern.matches("[1, 2]")
    assert not pattern.matches('"a"')


#: An Apache access log line, the space-delimited examples' event.
APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 404 1534'


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[ip, user, username, timestamp, request, status_code, bytes]", True),
        ("[ip, user, username, timestamp, request, status_code]", False),  # field count differs
        ("[ip, user, username, timestamp, request, status_code = 404, bytes]", True),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes]", True),
        ("[ip, user, username, timestamp, request, status_code = 5*, bytes]", False),
        ('[ip, user, username, timestamp, request = "GET *", status_code, bytes]', True),
        ("[ip, user, username = frank, ...]", True),
        ("[..., status_code, bytes > 1000]", True),
        ("[..., status_code, bytes < 1000]", False),
        ("[ip, user, ..., status_code = 404, bytes]", True),
        ("[ip = 127.0.0.*, ...]", True),
        ("[..., timestamp = %Oct/2000%, ..., status_code = 404 || status_code = 410, bytes]", True),
        ("[..., status_code = 400 || status_code = 410, bytes]", False),
        ("[..., status_code >= 400 && status_code < 500, bytes]", True),
        ("[..., request = %\\.gif%, status_code, bytes]", True),
    ],
)
def test_space_delimited_patterns(pattern: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(APACHE) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        "{ $.a = 1",  # unclosed
        "{ a = 1 }",  # a selector starts with $
        "{ $ = 1 }",
        "{ $.a[x] = 1 }",
        "{ $.a > big }",  # > needs a number
        "{ $.a = }",
        "{ $.a IS MAYBE }",
        "{ $.a = 1 && }",
        "{ ($.a = 1 }",
        "{ $.a = %x% && $.b = %y% && $.c = %z% }",  # at most two regular expressions
        "{ $.a < %x% }",
        "[a, b",
        "[]",
        "[1a, b]",
        "[a, = 1]",
        "[a = %(x)%]",
    ],
)
def test_malformed_structured_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameterException):
        compile_pattern(pattern)
