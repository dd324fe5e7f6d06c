"""Type coercion: every type in the vocabulary, from the shapes APIs really send, and clear refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from shared.paths import compile_path, has_path
from shared.types import parse_type
from shared.values import CoercionError, coerce, to_jsonable

UTC = dt.UTC


@pytest.mark.parametrize(
    ("type_text", "raw", "expected"),
    [
        ("string", "x", "x"),
        ("string", 12, "12"),
        ("int32", "42", 42),
        ("int64", 2**40, 2**40),
        ("int64", 3.0, 3),
        ("number", "1.5", 1.5),
        ("number", 2, 2.0),
        ("decimal(6,2)", "1234.5", Decimal("1234.50")),
        ("decimal(6,2)", 12, Decimal("12.00")),
        ("boolean", "true", True),
        ("boolean", 0, False),
        ("date", "2024-02-29", dt.date(2024, 2, 29)),
        ("date", "2024-02-29T10:00:00Z", dt.date(2024, 2, 29)),
        ("timestamp", "2024-02-29T10:00:00Z", dt.datetime(2024, 2, 29, 10, tzinfo=UTC)),
        ("timestamp", "2024-02-29T12:00:00+02:00", dt.datetime(2024, 2, 29, 10, tzinfo=UTC)),
        ("timestamp", "2024-02-29T10:00:00", dt.datetime(2024, 2, 29, 10, tzinfo=UTC)),
        ("timestamp", 0, dt.datetime(1970, 1, 1, tzinfo=UTC)),
        ("json", {"b": 1, "a": [1]}, '{"a":[1],"b":1}'),
        ("list<int32>", ["1", 2], [1, 2]),
        ("string", None, None),
    ],
)
def test_coerce(type_text: str, raw: object, expected: object) -> None:
    assert coerce(raw, parse_type(type_text)) == expected


@pytest.mark.parametrize(
    ("type_text", "raw", "fragment"),
    [
        ("int32", 2**31, "out of range for int32"),
        ("int64", "lots", "expected an integer"),
        ("int64", True, "expected an integer"),
        ("int64", 1.5, "expected an integer"),
        ("number", "NaN-ish", "expected a number"),
        ("decimal(4,2)", "123.45", r"does not fit decimal\(4,2\)"),
        ("decimal(6,2)", "1.234", "more than 2 decimal places"),
        ("boolean", "yes", "expected a boolean"),
        ("date", "29/02/2024", "expected a date"),
        ("timestamp", "yesterday", "expected an ISO-8601 timestamp"),
        ("list<string>", "a,b", "expected a list"),
        ("string", {"a": 1}, "expected a string"),
    ],
)
def test_refusals_name_the_value_and_type(type_text: str, raw: object, fragment: str) -> None:
    with pytest.raises(CoercionError, match=fragment):
        coerce(raw, parse_type(type_text))


def test_objects_keep_declared_keys_only() -> None:
    ftype = parse_type({"type": "object", "fields": {"city": "string", "zip": "int32"}})
    assert coerce({"city": "Oslo", "zip": "150", "extra": 1}, ftype) == {"city": "Oslo", "zip": 150}


def test_to_jsonable_is_zone_aware() -> None:
    value = {"t": dt.datetime(2024, 1, 1, 12, 30, tzinfo=UTC), "d": dt.date(2024, 1, 1), "x": Decimal("1.50")}
    assert to_jsonable(value) == {"t": "2024-01-01T12:30:00Z", "d": "2024-01-01", "x": "1.50"}


def test_paths() -> None:
    doc = {"a": {"b": [{"c": 1}, {"c": 2}]}, "n": None}
    assert compile_path("a.b[1].c")(doc) == 2
    assert compile_path("a.b.*.c")(doc) == [1, 2]
    assert compile_path("a.x.y")(doc) is None
    assert compile_path("")(doc) is doc
    assert has_path(doc, "n") and not has_path(doc, "m")
