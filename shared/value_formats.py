"""How a typed value is written into a query parameter, and which value the written text stands for.

One writer serves every pushed value (Athena constraints, AppFlow filter expressions, incremental windows,
split windows): :meth:`ValueFormat.write`, called by the planner (``shared/pushdown.py``). A format has a
*grid*, the values its text expresses exactly: whole seconds for ``iso8601_s``, days for ``date``, cents for
``%.2f``. A written value stands for its grid value at or below the value (``...T01:14:00Z`` is 01:14:00.000000),
which is how an API that parses the parameter reads it. A value between two grid points is *lossy*: the planner
then sends the grid point below a lower bound and the one above an upper bound (:meth:`floor`, :meth:`ceil`),
so the API can never exclude a record the exact filter keeps, and keeps the exact filter local.

A format is *coarse* when a field of its type can hold values between its grid points (``iso8601_s`` on a
timestamp, whose values have microseconds). An API may then compare either the instant the text stands for or
its whole unit (``created_at <= 2024-03-05`` read as "on or before that day"); the planner pushes forms that
are safe under both readings (:func:`shared.bounds.push_bound`).

``compare: text`` declares that the API compares the text it holds with the text it is sent (SQLite- and
document-store-backed APIs, many search APIs), holding values written the same way; a bound is then pushed only
if its text orders like its value (:meth:`orders_as_text`): fixed-width, big-endian forms (``iso8601_ms``,
``date``, ``%Y%m%d%H%M%S``, zero-padded numbers that are not negative), never variable-length ones.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
DAY_US = 86_400 * 10**6
TIMESTAMP_STYLES: dict[str, int] = {  # style -> grid unit in microseconds
    "auto": 1000,
    "iso8601": 1000,
    "iso8601_s": 10**6,
    "iso8601_ms": 1000,
    "iso8601_us": 1,
    "epoch_s": 10**6,
    "epoch_ms": 1000,
    "epoch_us": 1,
    "date": DAY_US,
}
DATE_STYLES = ("auto", "iso8601", "date", "epoch_s", "epoch_ms", "epoch_us")
EPOCH_DIVISORS = {"epoch_s": 10**6, "epoch_ms": 1000, "epoch_us": 1}
OFFSETS = ("Z", "+00:00")
COMPARES = ("value", "text")
STRFTIME_UNITS = {"f": 1, "S": 10**6, "M": 60 * 10**6, "H": 3600 * 10**6, "I": 3600 * 10**6}
_DIRECTIVE = re.compile(r"%(.)")
_PRINTF = re.compile(r"^%(0(?P<width>[1-9]\d?))?(\.(?P<places>\d{1,2}))?(?P<conv>[df])$")
_BIG_ENDIAN = "YmdHMSf"  # the order of fixed-width directives whose text sorts like the value
_CONSTANT = {"z", "Z", "%"}  # constant for UTC values (+0000, UTC) or a literal percent sign
_FIXED_TEXT = {"iso8601_s", "iso8601_ms", "iso8601_us", "date"}
_REFERENCE = dt.datetime(2000, 1, 1, tzinfo=UTC)


class FormatError(ValueError):
    """A format that does not exist or does not fit the field's type; the message says which and why."""


@dataclass(frozen=True)
class ValueFormat:
    """How values of one field kind are written for one filter parameter (built by :func:`make_format`)."""

    kind: str  # the field's kind: timestamp, date, boolean, int32, int64, number, decimal, string
    style: str = "auto"  # a TIMESTAMP_STYLES / DATE_STYLES name, "strftime", "printf" or "literals"
    pattern: str = ""  # the strftime or printf pattern
    offset: str = "Z"  # ISO 8601 forms: how UTC is written
    literals: tuple[str, str] = ("true", "false")
    compare: str = "value"  # value | text: how the API compares what it is sent
    scale: int | None = None  # a decimal field's scale (its values' own grid)

    # -- the grid ---------------------------------------------------------------------------------------
    @property
    def unit_us(self) -> int:
        """A timestamp format's grid unit in microseconds."""
        if self.style == "strftime":
            found = [STRFTIME_UNITS[d] for d in _DIRECTIVE.findall(self.pattern) if d in STRFTIME_UNITS]
            return min(found, default=DAY_US)
        return TIMESTAMP_STYLES.get(self.style, 1000)

    @property
    def places(self) -> int | None:
        """Fixed fraction digits of a number format (None: as many as the value has)."""
        if self.style != "printf":
            return None
        m = _PRINTF.match(self.pattern)
        assert m is not None
        return 0 if m["conv"] == "d" else int(m["places"] or 6)

    @property
    def width(self) -> int | None:
        m = _PRINTF.match(self.pattern) if self.style == "printf" else None
        return int(m["width"]) if m and m["width"] else None

    @property
    def coarse(self) -> bool:
        """Whether a field of this kind can hold values between this format's grid points."""
        if self.kind == "timestamp":
            return self.unit_us > 1
        if self.kind == "decimal":
            return self.places is not None and self.places < (self.scale or 0)
        if self.kind == "number":
            return self.places is not None
        return False

    def floor(self, value: Any) -> Any:
        """The grid value at or below ``value``: what the written text of ``value`` stands for."""
        kind = self.kind
        if kind == "timestamp":
            micros = _micros(_as_datetime(value))
            return EPOCH + dt.timedelta(microseconds=micros - micros % self.unit_us)
        if kind in ("number", "decimal"):
            dec = _as_decimal(value)
            places = self.places
            return dec if places is None else dec.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)
        return value

    def ceil(self, value: Any) -> Any:
        """The grid value at or above ``value``."""
        low = self.floor(value)
        if self.kind in ("number", "decimal") and self.places is not None:
            return _as_decimal(value).quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_CEILING)
        return low if self.lossless(value) else self.step(low, 1)

    def lossless(self, value: Any) -> bool:
        """Whether the written text stands for ``value`` itself."""
        if self.kind == "timestamp":
            return self.floor(value) == _as_datetime(value)
        if self.kind in ("number", "decimal"):
            return self.floor(value) == _as_decimal(value)
        return True

    def step(self, value: Any, n: int) -> Any | None:
        """The grid value ``n`` steps from the grid value ``value``; None where the grid is continuous."""
        kind = self.kind
        if kind == "timestamp":
            try:
                return _as_datetime(value) + dt.timedelta(microseconds=n * self.unit_us)
            except OverflowError:
                return None
        if kind == "date" and isinstance(value, dt.date):
            try:
                return value + dt.timedelta(days=n)
            except OverflowError:
                return None
        if kind in ("int32", "int64") and isinstance(value, int):
            return value + n
        places = self.places if self.places is not None else (self.scale if kind == "decimal" else None)
        if kind in ("number", "decimal") and places is not None:
            unit = Decimal(1).scaleb(-places)
            dec = _as_decimal(value)
            return dec + n * unit if dec.quantize(unit, rounding=ROUND_FLOOR) == dec else None
        return None

    # -- writing ----------------------------------------------------------------------------------------
    def write(self, value: Any) -> str:
        """The text sent for ``value`` (for a lossy value: the text of its floor)."""
        kind = self.kind
        if kind == "boolean":
            return self.literals[0] if value else self.literals[1]
        if kind == "timestamp":
            return self._write_timestamp(self.floor(value))
        if kind == "date":
            return self._write_date(value.date() if isinstance(value, dt.datetime) else value)
        if kind in ("int32", "int64", "number", "decimal"):
            return self._write_number(value)
        return str(value)

    def _write_timestamp(self, t: dt.datetime) -> str:
        style = self.style
        if style == "strftime":
            return t.strftime(self.pattern)
        if style == "date":
            return t.date().isoformat()
        if style in EPOCH_DIVISORS:
            return str(_micros(t) // EPOCH_DIVISORS[style])
        if style in ("auto", "iso8601"):
            text = t.isoformat(timespec="milliseconds" if t.microsecond else "seconds")
        else:
            text = t.isoformat(
                timespec={"iso8601_s": "seconds", "iso8601_ms": "milliseconds"}.get(style, "microseconds")
            )
        return text.replace("+00:00", self.offset)

    def _write_date(self, d: dt.date) -> str:
        if self.style == "strftime":
            return d.strftime(self.pattern)
        if self.style in EPOCH_DIVISORS:
            return str(_micros(dt.datetime.combine(d, dt.time(), tzinfo=UTC)) // EPOCH_DIVISORS[self.style])
        return d.isoformat()

    def _write_number(self, value: Any) -> str:
        if self.style != "printf":
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            return _plain(_as_decimal(value))
        dec = self.floor(value)
        text = _plain(abs(dec)) if self.places else str(abs(int(dec)))
        sign = "-" if dec < 0 else ""
        width = self.width
        return sign + (text.zfill(width - len(sign)) if width else text)

    def orders_as_text(self, value: Any) -> bool:
        """Whether the text written for ``value`` sorts among this format's texts as the value sorts."""
        kind = self.kind
        if kind == "string":
            return True
        if kind in ("timestamp", "date"):
            fixed = self.style in _FIXED_TEXT or (kind == "date" and self.style in ("auto", "iso8601"))
            if not fixed and (self.style != "strftime" or not big_endian(self.pattern)):
                return False
            return len(self.write(value)) == len(self.write(_REFERENCE if kind == "timestamp" else _REFERENCE.date()))
        if kind in ("int32", "int64", "number", "decimal"):
            width = self.width
            return width is not None and self.floor(value) >= 0 and len(self.write(value)) == width
        return False


def big_endian(pattern: str) -> bool:
    """Whether a strftime pattern is fixed-width and most significant first (Y, m, d, H, M, S, f; j for m d)."""
    directives = [d for d in _DIRECTIVE.findall(pattern) if d not in _CONSTANT]
    order = "".join("md" if d == "j" else d for d in directives)
    return len(order) >= 3 and _BIG_ENDIAN.startswith(order)


def make_format(
    kind: str, declared: Any = "auto", *, offset: str | None = None, compare: str = "value", scale: int | None = None
) -> ValueFormat:
    """The format a filter declares for a field of ``kind``; :class:`FormatError` says what does not fit."""
    if compare not in COMPARES:
        raise FormatError(f"compare must be 'value' or 'text', got {compare!r}")
    base = ValueFormat(kind, compare=compare, scale=scale)
    if isinstance(declared, dict):
        if kind != "boolean":
            raise FormatError(f"a {{true: ..., false: ...}} pair of literals is for boolean fields, not {kind}")
        style = "literals"
    elif declared in ("auto", "raw", None):
        style = "auto"
    elif not isinstance(declared, str) or not declared:
        raise FormatError(f"must be a format name or pattern, got {declared!r}")
    else:
        style = declared
    if offset is not None and offset not in OFFSETS:
        raise FormatError(f"offset must be 'Z' or '+00:00', got {offset!r}")
    if offset is not None and not (
        kind == "timestamp" and (style in ("auto", "iso8601") or style.startswith("iso8601_"))
    ):
        raise FormatError(f"'offset' applies to an ISO 8601 timestamp format, not {style!r} on a {kind} field")
    if isinstance(declared, dict):
        return ValueFormat(kind, "literals", literals=_literals(declared), compare=compare)
    if kind == "timestamp":
        if style in TIMESTAMP_STYLES:
            return ValueFormat(kind, style, offset=offset or "Z", compare=compare)
        if "%" in style:
            fmt = ValueFormat(kind, "strftime", pattern=style, compare=compare)
            _check_strftime(fmt)
            return fmt
        raise FormatError(_unknown(style, kind, [*TIMESTAMP_STYLES, "a strftime pattern such as '%Y-%m-%d %H:%M:%S'"]))
    if kind == "date":
        if style in DATE_STYLES:
            return ValueFormat(kind, style, compare=compare)
        if "%" in style:
            fmt = ValueFormat(kind, "strftime", pattern=style, compare=compare)
            _check_strftime(fmt)
            return fmt
        raise FormatError(_unknown(style, kind, [*DATE_STYLES, "a strftime pattern such as '%d/%m/%Y'"]))
    if kind in ("int32", "int64", "number", "decimal"):
        if style == "auto":
            return base
        m = _PRINTF.match(style)
        if m is None or (kind in ("int32", "int64") and m["conv"] != "d"):
            forms = "'%d' or '%010d' (zero-padded)" if kind.startswith("int") else "'%.2f', '%012.2f' or '%d'"
            raise FormatError(f"unknown format {style!r} for a {kind} field; use auto or a pattern like {forms}")
        if m["conv"] == "d" and m["places"]:
            raise FormatError(f"'%d' has no fraction digits: use '%.{m['places']}f'")
        return ValueFormat(kind, "printf", pattern=style, compare=compare, scale=scale)
    if kind == "boolean":
        if style == "auto":
            return base
        raise FormatError(
            f"format {style!r} does not apply to a boolean field; booleans are written as true/false or as "
            "declared literals, e.g. format: {true: '1', false: '0'}"
        )
    if style == "auto":
        return base
    raise FormatError(f"format {style!r} does not apply to a {kind} field (its text is sent as it is)")


def _literals(declared: dict[Any, Any]) -> tuple[str, str]:
    keys = {str(k).lower(): v for k, v in declared.items()}
    if set(keys) != {"true", "false"}:
        raise FormatError(f"boolean literals need exactly the keys true and false, got {sorted(keys)}")
    pair = []
    for name in ("true", "false"):
        v = keys[name]
        if isinstance(v, bool):
            raise FormatError(f"the literal for {name} reads as the YAML boolean {v!r}: quote it, e.g. 'yes'")
        if not isinstance(v, str | int) or str(v) == "":
            raise FormatError(f"the literal for {name} must be a non-empty string or number, got {v!r}")
        pair.append(str(v))
    if pair[0] == pair[1]:
        raise FormatError(f"true and false must be written differently, both are {pair[0]!r}")
    return pair[0], pair[1]


def _check_strftime(fmt: ValueFormat) -> None:
    """A pattern must name the value: reading the text back gives the value at the pattern's unit."""
    bad = [d for d in _DIRECTIVE.findall(fmt.pattern) if d not in "YmdjHIpMSfzZbBaAUWwyeuVGc%xX"]
    if bad:
        raise FormatError(f"pattern {fmt.pattern!r} uses unknown directive %{bad[0]}")
    samples = [
        dt.datetime(2024, 3, 5, 13, 7, 9, 123456, tzinfo=UTC),
        dt.datetime(1950, 12, 31, 23, 59, 58, 999999, tzinfo=UTC),
        dt.datetime(2075, 7, 14, 0, 0, 0, tzinfo=UTC),
    ]
    for sample in samples:
        value: Any = sample if fmt.kind == "timestamp" else sample.date()
        text = fmt.write(value)
        want = fmt.floor(value)
        try:
            got: Any = dt.datetime.strptime(text, fmt.pattern)
        except ValueError:
            got = None
        if isinstance(got, dt.datetime):
            got = got.replace(tzinfo=UTC) if got.tzinfo is None else got.astimezone(UTC)
            got = got if fmt.kind == "timestamp" else got.date()
        if got != want:
            raise FormatError(
                f"pattern {fmt.pattern!r} does not identify a {fmt.kind}: {want} is written {text!r}, which reads "
                "back differently; include the four-digit year (%Y), the month and day (%m %d, or %j)"
                + (" and the time down to the unit the API needs" if fmt.kind == "timestamp" else "")
            )


def _unknown(style: str, kind: str, options: list[str]) -> str:
    return f"format {style!r} does not apply to a {kind} field; use one of: {', '.join(options)}"


def default_format(kind: str, scale: int | None = None) -> ValueFormat:
    """What a filter without a format writes (``auto``)."""
    return ValueFormat(kind, scale=scale)


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=UTC)
    raise FormatError(f"expected a timestamp, got {value!r}")


def _micros(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def _as_decimal(value: Any) -> Decimal:
    """A number as the exact decimal it stands for (a float's shortest round-tripping digits)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def _plain(dec: Decimal) -> str:
    """Digits without an exponent (``1E+2`` is ``100``, ``1E-5`` is ``0.00001``)."""
    return format(dec, "f")
