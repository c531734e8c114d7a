"""Field checks: canonical text out, or a reason naming the value and the type."""

from __future__ import annotations

import pytest

from s3batch.loader.tables import Column, parse_type
from s3batch.loader.values import checker


def _check(type_text: str, value: str, nullable: bool = True) -> str | None:
    return checker(Column("c", parse_type(type_text), nullable=nullable))(value)


@pytest.mark.parametrize(
    ("type_text", "value", "expected"),
    [
        ("varchar(5)", "abcde", "abcde"),
        ("varchar(5)", " a b ", " a b "),
        ("varchar(3)", "été", "été"),
        ("text", "x" * 1000, "x" * 1000),
        ("integer", " 42 ", "42"),
        ("integer", "+007", "7"),
        ("integer", "-2147483648", "-2147483648"),
        ("smallint", "32767", "32767"),
        ("bigint", "9223372036854775807", "9223372036854775807"),
        ("numeric(10)", "12345", "12345"),
        ("numeric(10)", "12345.000", "12345"),
        ("numeric(10)", "1e3", "1000"),
        ("numeric(10)", "-0", "0"),
        ("numeric(5,2)", "1.5", "1.50"),
        ("numeric(5,2)", "-.5", "-0.50"),
        (
            "numeric(38,10)",
            "1234567890123456789012345678.0123456789",
            "1234567890123456789012345678.0123456789",
        ),
        ("double precision", "0.1", "0.1"),
        ("double precision", "-1.5E3", "-1500.0"),
        ("real", "3.5", "3.5"),
        ("boolean", "TRUE", "true"),
        ("boolean", "n", "false"),
        ("boolean", "0", "false"),
        ("date", "2024-02-29", "2024-02-29"),
        ("timestamp", "2024-01-02T03:04", "2024-01-02 03:04:00"),
        ("timestamp", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.500000"),
    ],
)
def test_valid_values(type_text: str, value: str, expected: str) -> None:
    assert _check(type_text, value) == expected


@pytest.mark.parametrize(
    ("type_text", "value", "reason"),
    [
        ("varchar(3)", "abcd", '"abcd" is 4 characters, longer than varchar(3)'),
        ("text", "a\x00b", "contains a NUL character"),
        ("integer", "1.0", '"1.0" is not a valid integer'),
        ("integer", "2147483648", '"2147483648" is out of range for integer'),
        ("smallint", "-32769", "out of range for smallint"),
        ("numeric(10)", "12a45", '"12a45" is not a valid numeric(10)'),
        ("numeric(10)", "1_000", "is not a valid numeric(10)"),
        ("numeric(10)", "NaN", "is not a valid numeric(10)"),
        ("numeric(10)", "１２３", "is not a valid numeric(10)"),  # full-width digits
        ("numeric(10)", "١٢٣", "is not a valid numeric(10)"),  # Arabic-Indic digits
        ("integer", "１２", "is not a valid integer"),
        ("double precision", "١.٥", "is not a valid double precision"),
        ("date", "２０２４-01-01", "is not a valid date"),
        ("numeric(10)", "12345678901", '"12345678901" has too many digits for numeric(10)'),
        ("numeric(10)", "1.5", '"1.5" has more than 0 decimal places for numeric(10)'),
        ("numeric(5,2)", "1234.5", "has too many digits for numeric(5,2)"),
        ("numeric(5,2)", "1.234", "has more than 2 decimal places for numeric(5,2)"),
        ("numeric(10)", "1e999999999", "has too many digits"),
        ("real", "1e39", "out of range for real"),
        ("real", "1e-50", "out of range for real"),
        ("double precision", "1e400", "out of range for double precision"),
        ("double precision", "inf", "is not a valid double precision"),
        ("boolean", "maybe", '"maybe" is not a valid boolean'),
        ("date", "2023-02-29", '"2023-02-29" is not a valid date (YYYY-MM-DD)'),
        ("date", "20240101", "is not a valid date"),
        ("timestamp", "2024-01-01 10:00+02:00", "is not a valid timestamp"),
    ],
)
def test_invalid_values(type_text: str, value: str, reason: str) -> None:
    with pytest.raises(ValueError) as err:
        _check(type_text, value)
    assert reason in str(err.value)


def test_empty_is_null_or_missing() -> None:
    assert _check("varchar(5)", "") is None
    assert _check("integer", "   ") is None
    assert _check("text", " ") == " "
    with pytest.raises(ValueError, match=r"missing value \(the column is NOT NULL\)"):
        _check("varchar(5)", "", nullable=False)


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(ValueError) as err:
        _check("varchar(3)", "x" * 500)
    assert "x" * 37 + "..." in str(err.value) and "x" * 41 not in str(err.value)


@pytest.mark.parametrize(
    ("type_text", "value", "expected"),
    [
        ("numeric(10)", "0", "0"),
        ("numeric(10)", "007", "7"),
        ("numeric(10)", "9999999999", "9999999999"),
        ("numeric(10,2)", "12", "12.00"),
        ("numeric(10,2)", "0", "0.00"),
        ("numeric(4,2)", "99", "99.00"),
    ],
)
def test_whole_number_fast_path_matches_decimal(type_text: str, value: str, expected: str) -> None:
    assert _check(type_text, value) == expected
    assert _check(type_text, "+" + value) == expected  # the Decimal path


@pytest.mark.parametrize(
    ("type_text", "value"),
    [("numeric(10)", "10000000000"), ("numeric(4,2)", "100")],
)
def test_whole_number_fast_path_still_rejects(type_text: str, value: str) -> None:
    with pytest.raises(ValueError):
        _check(type_text, value)
