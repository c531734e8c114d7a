"""FilterLogEvents patterns: terms, phrases, ``?`` alternatives, ``-`` exclusions, errors."""

from __future__ import annotations

import pytest

from s3batch.logs.errors import InvalidParameterException
from s3batch.logs.filters import MATCH_ALL, FilterPattern, compile_pattern

LINES = [
    "ERROR 401 unauthorized request",
    "[ERROR] Exception in thread main",
    "WARN disk almost full",
    "INFO loaded 3 rows",
    "DEBUG ERROR-ish but debug",
    'said "hello world" twice',
    "error in lower case",
]


def matching(pattern: str | None) -> list[str]:
    compiled = compile_pattern(pattern)
    return [line for line in LINES if compiled.matches(line)]


@pytest.mark.parametrize("pattern", [None, "", "   ", "\t\n"])
def test_the_empty_pattern_matches_everything(pattern: str | None) -> None:
    assert compile_pattern(pattern) == MATCH_ALL
    assert matching(pattern) == LINES


def test_a_term_must_appear_and_is_case_sensitive() -> None:
    assert matching("ERROR") == [LINES[0], LINES[1], LINES[4]]
    assert matching("error") == [LINES[6]]
    assert matching("Error") == []


def test_every_term_must_appear() -> None:
    assert matching("ERROR Exception") == [LINES[1]]
    assert matching("  ERROR   401  ") == [LINES[0]]
    assert matching("ERROR WARN") == []


def test_a_quoted_phrase_must_appear_exactly() -> None:
    assert matching('"ERROR 401"') == [LINES[0]]
    assert matching('"401 ERROR"') == []
    assert matching('"[ERROR]"') == [LINES[1]]
    assert matching('"ERROR 401" unauthorized') == [LINES[0]]


def test_escaped_quotes_and_backslashes_in_a_phrase() -> None:
    assert compile_pattern(r'"\"hello world\""') == FilterPattern(required=('"hello world"',))
    assert compile_pattern(r'"a\\b"').required == ("a\\b",)
    assert matching(r'"\"hello world\""') == [LINES[5]]


def test_any_of_the_question_mark_terms() -> None:
    assert matching("?WARN ?INFO") == [LINES[2], LINES[3]]
    assert matching('?"ERROR 401" ?WARN') == [LINES[0], LINES[2]]
    assert matching("?NOPE") == []


def test_minus_excludes() -> None:
    assert matching("-ERROR") == [LINES[2], LINES[3], LINES[5], LINES[6]]
    assert matching("ERROR -DEBUG -Exception") == [LINES[0]]
    assert matching('-"ERROR 401" ERROR') == [LINES[1], LINES[4]]


def test_kinds_combine_with_and() -> None:
    assert compile_pattern("job ?ERROR ?WARN -retry") == FilterPattern(
        required=("job",), any_of=("ERROR", "WARN"), excluded=("retry",)
    )
    assert matching("ERROR ?401 ?Exception -DEBUG") == [LINES[0], LINES[1]]


def test_operators_only_count_at_the_start_of_a_term() -> None:
    assert compile_pattern("ERROR-ish a?b").required == ("ERROR-ish", "a?b")
    assert matching("ERROR-ish") == [LINES[4]]


@pytest.mark.parametrize(
    "pattern",
    [
        '"ERROR 401',  # unterminated
        '"trailing\\"',  # the closing quote is escaped
        'ab"cd"',  # a quote inside a bare term
        '"ab"cd',  # no space after the phrase
        '""',  # empty phrase
        "?",
        "ERROR -",
        '? "x"',
        "x" * 1025,
    ],
)
def test_malformed_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameterException):
        compile_pattern(pattern)


def test_regex_terms_are_found_anywhere() -> None:
    # "Supported regular expressions (regex) syntax": enclose the expression in %.
    assert matching("%ERROR [0-9]{3}%") == [LINES[0]]
    assert matching("%^[A-Z]{4} %") == [LINES[2], LINES[3]]
    assert matching("?%^WARN% ?%rows$%") == [LINES[2], LINES[3]]
    assert matching("ERROR -%[0-9]%") == [LINES[1], LINES[4]]


@pytest.mark.parametrize(
    "pattern",
    [
        "%(ERROR)%",  # parentheses are not supported
        "%ERROR!%",  # nor is "!"
        "%é%",  # nor multi-byte characters
        "%a% %b% %c%",  # at most two regular expressions
        "%unterminated",
    ],
)
def test_unsupported_regexes_are_refused(pattern: str) -> None:
    with pytest.raises(InvalidParameterException):
        compile_pattern(pattern)


def test_the_longest_pattern_is_accepted() -> None:
    assert compile_pattern("x" * 1024).required == ("x" * 1024,)
