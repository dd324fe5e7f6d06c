"""Typed model of the ``constraints`` object (parse and emit); nothing here evaluates a predicate.

* ``summary``: column -> ValueSet (Presto TupleDomain semantics: a row passes when each column's value is
  in its set; NULL passes only when ``null_allowed``). Values live in single-column ``col1`` Arrow blocks
  and are decoded to Python values on access.
* V4+: ``expression`` (a list of expression trees, implicitly ANDed), ``orderByClause``, ``limit`` (-1 none).
* V5+: ``queryPassthroughArguments``; V6+: ``queryPlan`` (opaque Substrait, kept as sent).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from athena_connector.wire._fields import (
    as_int,
    bool_to_wire,
    expect_object,
    fail,
    get_bool,
    get_list,
    get_str,
    get_str_map,
    int_to_wire,
    json_kind,
    str_map_to_wire,
    str_to_wire,
)
from athena_connector.wire.arrow_types import ArrowType, arrow_type_from_wire
from athena_connector.wire.blocks import Block, block_from_wire, block_to_wire
from athena_connector.wire.values import VALUE_COLUMN, from_python, to_python, to_raw, value_column
from athena_connector.wire.versions import SERDE_VERSION, check_emit_version

NO_LIMIT = -1


class Bound(enum.StrEnum):
    BELOW = "BELOW"  # just below the value (exclusive upper bound)
    EXACTLY = "EXACTLY"  # the value itself (inclusive bound)
    ABOVE = "ABOVE"  # just above the value (exclusive lower bound)


class SortDirection(enum.StrEnum):
    ASC_NULLS_FIRST = "ASC_NULLS_FIRST"
    ASC_NULLS_LAST = "ASC_NULLS_LAST"
    DESC_NULLS_FIRST = "DESC_NULLS_FIRST"
    DESC_NULLS_LAST = "DESC_NULLS_LAST"

    @property
    def ascending(self) -> bool:
        return self.name.startswith("ASC")

    @property
    def nulls_first(self) -> bool:
        return self.name.endswith("NULLS_FIRST")


def _value_block(values: Iterable[Any], data_type: pa.DataType) -> Block:
    schema = pa.schema([pa.field(VALUE_COLUMN, data_type)])
    return Block(pa.RecordBatch.from_arrays([from_python(values, data_type)], schema=schema))


def _value_array(block: Block, path: str) -> pa.Array:
    try:
        return value_column(block.batch)
    except ValueError as exc:
        fail(path, str(exc))


def _block_values(block: Block, path: str = "valueBlock") -> list[Any]:
    """Values decoded on access, so one odd value (e.g. a timestamp literal the engine sent in
    microseconds, beyond datetime's range) fails only the caller that asks for it, not the whole request."""
    array = _value_array(block, path)
    try:
        return to_python(array)
    except (ValueError, OverflowError, pa.ArrowException) as exc:
        fail(path, f"cannot decode {array.type} value(s) {to_raw(array)[:5]}: {exc}")


# ----------------------------------------------------------------------------------------------- ValueSets


@dataclass(frozen=True)
class Marker:
    """One end of a Range. ``null_value`` means "no value": the range is unbounded on that side."""

    value_block: Block
    bound: Bound
    null_value: bool

    @property
    def is_unbounded(self) -> bool:
        return self.null_value

    @property
    def value(self) -> Any:
        """The bound value (row 0 of ``col1``), or None when unbounded."""
        if self.null_value or self.value_block.num_rows == 0:
            return None
        return _block_values(self.value_block)[0]

    @property
    def raw_value(self) -> Any:
        """The bound as stored (int64 for date64 and packed timestamp-tz), or None when unbounded."""
        if self.null_value or self.value_block.num_rows == 0:
            return None
        return to_raw(_value_array(self.value_block, "valueBlock"))[0]

    @property
    def arrow_type(self) -> pa.DataType:
        return value_column(self.value_block.batch).type

    @classmethod
    def of(cls, value: Any, data_type: pa.DataType, bound: Bound) -> Marker:
        return cls(_value_block([value], data_type), Bound(bound), False)

    @classmethod
    def lower_unbounded(cls, data_type: pa.DataType) -> Marker:
        return cls(_value_block([], data_type), Bound.ABOVE, True)

    @classmethod
    def upper_unbounded(cls, data_type: pa.DataType) -> Marker:
        return cls(_value_block([], data_type), Bound.BELOW, True)


@dataclass(frozen=True)
class Range:
    """low EXACTLY v: x >= v; low ABOVE v: x > v; high EXACTLY v: x <= v; high BELOW v: x < v."""

    low: Marker
    high: Marker

    @property
    def low_inclusive(self) -> bool:
        return not self.low.null_value and self.low.bound is Bound.EXACTLY

    @property
    def high_inclusive(self) -> bool:
        return not self.high.null_value and self.high.bound is Bound.EXACTLY

    @property
    def is_single_value(self) -> bool:
        return self.low_inclusive and self.high_inclusive and self.low.raw_value == self.high.raw_value

    @property
    def is_all(self) -> bool:
        return self.low.null_value and self.high.null_value

    @classmethod
    def equal(cls, value: Any, data_type: pa.DataType) -> Range:
        return cls(Marker.of(value, data_type, Bound.EXACTLY), Marker.of(value, data_type, Bound.EXACTLY))

    @classmethod
    def between(
        cls,
        data_type: pa.DataType,
        low: Any = None,
        high: Any = None,
        *,
        low_inclusive: bool = True,
        high_inclusive: bool = True,
    ) -> Range:
        """A range with optional ends (None = unbounded on that side)."""
        lo = (
            Marker.lower_unbounded(data_type)
            if low is None
            else Marker.of(low, data_type, Bound.EXACTLY if low_inclusive else Bound.ABOVE)
        )
        hi = (
            Marker.upper_unbounded(data_type)
            if high is None
            else Marker.of(high, data_type, Bound.EXACTLY if high_inclusive else Bound.BELOW)
        )
        return cls(lo, hi)


@dataclass(frozen=True)
class SortedRangeSet:
    """Union of disjoint sorted ranges; no ranges + ``null_allowed`` is ``IS NULL``."""

    type: ArrowType
    ranges: tuple[Range, ...]
    null_allowed: bool

    WIRE_TYPE: ClassVar[str] = "SortedRangeSet"


@dataclass(frozen=True)
class EquatableValueSet:
    """``white_list`` True: value must be one of ``values``; False: must be none of them."""

    value_block: Block
    white_list: bool
    null_allowed: bool

    WIRE_TYPE: ClassVar[str] = "EquatableValueSet"

    @property
    def values(self) -> list[Any]:
        return _block_values(self.value_block)

    @property
    def raw_values(self) -> list[Any]:
        return to_raw(_value_array(self.value_block, "valueBlock"))

    @property
    def arrow_type(self) -> pa.DataType:
        return value_column(self.value_block.batch).type

    @classmethod
    def of(
        cls,
        values: Iterable[Any],
        data_type: pa.DataType,
        *,
        white_list: bool = True,
        null_allowed: bool = False,
    ) -> EquatableValueSet:
        return cls(_value_block(values, data_type), white_list, null_allowed)


@dataclass(frozen=True)
class AllOrNoneValueSet:
    """all+null: no filter; all only: IS NOT NULL; null only: IS NULL; neither: no rows."""

    type: ArrowType
    all: bool
    null_allowed: bool

    WIRE_TYPE: ClassVar[str] = "AllOrNoneValueSet"


ValueSet = SortedRangeSet | EquatableValueSet | AllOrNoneValueSet

# V1 (Jackson annotations) used short type ids for the same classes.
_VALUE_SET_ALIASES = {
    "sortable": "SortedRangeSet",
    "equatable": "EquatableValueSet",
    "allOrNone": "AllOrNoneValueSet",
}


# --------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class VariableExpression:
    column_name: str
    type: ArrowType

    WIRE_TYPE: ClassVar[str] = "VariableExpression"


@dataclass(frozen=True)
class ConstantExpression:
    """A literal or a literal list (N rows in ``col1``)."""

    value_block: Block
    type: ArrowType

    WIRE_TYPE: ClassVar[str] = "ConstantExpression"

    @property
    def values(self) -> list[Any]:
        return _block_values(self.value_block)

    @property
    def raw_values(self) -> list[Any]:
        return to_raw(_value_array(self.value_block, "valueBlock"))


@dataclass(frozen=True)
class FunctionCallExpression:
    """``function_name`` is a Trino standard function name such as ``$greater_than`` or ``$in``."""

    type: ArrowType
    function_name: str
    arguments: tuple[Expression, ...]

    WIRE_TYPE: ClassVar[str] = "FunctionCallExpression"


Expression = FunctionCallExpression | VariableExpression | ConstantExpression


@dataclass(frozen=True)
class OrderByField:
    column_name: str
    direction: SortDirection


@dataclass(frozen=True)
class QueryPlan:
    """Substrait plan as sent (``substrait_plan`` is base64 protobuf on real traffic); not interpreted."""

    substrait_version: str | None
    substrait_plan: str | None


@dataclass(frozen=True)
class Constraints:
    summary: Mapping[str, ValueSet] = field(default_factory=dict)
    expression: tuple[Expression, ...] = ()
    order_by: tuple[OrderByField, ...] = ()
    limit: int = NO_LIMIT
    query_passthrough_arguments: Mapping[str, str] = field(default_factory=dict)
    query_plan: QueryPlan | None = None

    @property
    def has_limit(self) -> bool:
        return self.limit > NO_LIMIT

    @property
    def is_passthrough(self) -> bool:
        return bool(self.query_passthrough_arguments)


# ------------------------------------------------------------------------------------------------- parsing


def _bound(value: Any, path: str) -> Bound:
    try:
        return Bound(value)
    except ValueError:
        fail(path, f"expected one of BELOW, EXACTLY, ABOVE, got {value!r}")


def marker_from_wire(value: Any, path: str) -> Marker:
    obj = expect_object(value, path)
    if "valueBlock" not in obj:
        fail(path, "missing required key 'valueBlock'")
    block = block_from_wire(obj["valueBlock"], f"{path}.valueBlock")
    if "bound" not in obj:
        fail(path, "missing required key 'bound'")
    marker = Marker(block, _bound(obj["bound"], f"{path}.bound"), get_bool(obj, "nullValue", path))
    if not marker.null_value:
        if block.num_rows == 0:
            fail(f"{path}.valueBlock", "marker with nullValue false has no value row")
        _value_array(block, f"{path}.valueBlock")
    return marker


def value_set_from_wire(value: Any, path: str) -> ValueSet:
    obj = expect_object(value, path)
    kind = obj.get("@type")
    if kind is None:
        fail(path, "missing required key '@type'")
    kind = _VALUE_SET_ALIASES.get(kind, kind) if isinstance(kind, str) else kind
    if kind == SortedRangeSet.WIRE_TYPE:
        ranges = []
        for i, item in enumerate(get_list(obj, "ranges", path)):
            where = f"{path}.ranges[{i}]"
            item_obj = expect_object(item, where)
            for key in ("low", "high"):
                if key not in item_obj:
                    fail(where, f"missing required key '{key}'")
            low = marker_from_wire(item_obj["low"], f"{where}.low")
            ranges.append(Range(low, marker_from_wire(item_obj["high"], f"{where}.high")))
        return SortedRangeSet(
            arrow_type_from_wire(obj.get("type"), f"{path}.type"),
            tuple(ranges),
            get_bool(obj, "nullAllowed", path),
        )
    if kind == EquatableValueSet.WIRE_TYPE:
        if "valueBlock" not in obj:
            fail(path, "missing required key 'valueBlock'")
        block = block_from_wire(obj["valueBlock"], f"{path}.valueBlock")
        _value_array(block, f"{path}.valueBlock")
        return EquatableValueSet(block, get_bool(obj, "whiteList", path), get_bool(obj, "nullAllowed", path))
    if kind == AllOrNoneValueSet.WIRE_TYPE:
        return AllOrNoneValueSet(
            arrow_type_from_wire(obj.get("type"), f"{path}.type"),
            get_bool(obj, "all", path),
            get_bool(obj, "nullAllowed", path),
        )
    fail(path, f"unknown ValueSet @type {kind!r}")


def expression_from_wire(value: Any, path: str) -> Expression:
    obj = expect_object(value, path)
    kind = obj.get("@type")
    if kind is None:
        fail(path, "missing required key '@type'")
    if kind == VariableExpression.WIRE_TYPE:
        return VariableExpression(
            get_str(obj, "columnName", path), arrow_type_from_wire(obj.get("type"), f"{path}.type")
        )
    if kind == ConstantExpression.WIRE_TYPE:
        if "valueBlock" not in obj:
            fail(path, "missing required key 'valueBlock'")
        block = block_from_wire(obj["valueBlock"], f"{path}.valueBlock")
        _value_array(block, f"{path}.valueBlock")
        return ConstantExpression(block, arrow_type_from_wire(obj.get("type"), f"{path}.type"))
    if kind == FunctionCallExpression.WIRE_TYPE:
        name = obj.get("functionName")
        if isinstance(name, Mapping):
            name = get_str(name, "functionName", f"{path}.functionName")
        elif not isinstance(name, str):
            fail(f"{path}.functionName", f"expected an object with 'functionName', got {json_kind(name)}")
        args = tuple(
            expression_from_wire(item, f"{path}.arguments[{i}]")
            for i, item in enumerate(get_list(obj, "arguments", path))
        )
        return FunctionCallExpression(arrow_type_from_wire(obj.get("type"), f"{path}.type"), name, args)
    fail(f"{path}.@type", f"unknown expression @type {kind!r}")


def _order_by_from_wire(value: Any, path: str) -> OrderByField:
    obj = expect_object(value, path)
    direction = get_str(obj, "direction", path)
    try:
        parsed = SortDirection(direction)
    except ValueError:
        fail(f"{path}.direction", f"unknown sort direction {direction!r}")
    return OrderByField(get_str(obj, "columnName", path), parsed)


def _query_plan_from_wire(value: Any, path: str) -> QueryPlan | None:
    if value is None:
        return None
    obj = expect_object(value, path)
    version, plan = obj.get("substraitVersion"), obj.get("substraitPlan")
    for key, item in (("substraitVersion", version), ("substraitPlan", plan)):
        if item is not None and not isinstance(item, str):
            fail(f"{path}.{key}", f"expected a string or null, got {json_kind(item)}")
    return QueryPlan(version, plan)


def constraints_from_wire(value: Any, path: str) -> Constraints:
    """Any dialect V1..V6: keys that a dialect lacks get their empty defaults; ``null`` is no constraints."""
    if value is None:
        return Constraints()
    obj = expect_object(value, path)
    summary_obj = expect_object(obj.get("summary") or {}, f"{path}.summary")
    summary = {str(col): value_set_from_wire(vs, f"{path}.summary.{col}") for col, vs in summary_obj.items()}
    expression = tuple(
        expression_from_wire(item, f"{path}.expression[{i}]")
        for i, item in enumerate(get_list(obj, "expression", path, []))
    )
    order_by = tuple(
        _order_by_from_wire(item, f"{path}.orderByClause[{i}]")
        for i, item in enumerate(get_list(obj, "orderByClause", path, []))
    )
    limit = obj.get("limit")
    return Constraints(
        summary=summary,
        expression=expression,
        order_by=order_by,
        limit=NO_LIMIT if limit is None else as_int(limit, f"{path}.limit"),
        query_passthrough_arguments=get_str_map(obj, "queryPassthroughArguments", path, {}),
        query_plan=_query_plan_from_wire(obj.get("queryPlan"), f"{path}.queryPlan"),
    )


# ------------------------------------------------------------------------------------------------ emitting


def _marker_to_wire(marker: Marker, version: int, path: str) -> dict[str, Any]:
    return {
        "valueBlock": block_to_wire(marker.value_block, version, f"{path}.valueBlock"),
        "bound": Bound(marker.bound).value,
        "nullValue": bool_to_wire(marker.null_value, f"{path}.nullValue"),
    }


def value_set_to_wire(vs: ValueSet, version: int, path: str) -> dict[str, Any]:
    if isinstance(vs, SortedRangeSet):
        return {
            "@type": vs.WIRE_TYPE,
            "type": vs.type.to_wire(),
            "ranges": [
                {
                    "low": _marker_to_wire(r.low, version, f"{path}.ranges[{i}].low"),
                    "high": _marker_to_wire(r.high, version, f"{path}.ranges[{i}].high"),
                }
                for i, r in enumerate(vs.ranges)
            ],
            "nullAllowed": bool_to_wire(vs.null_allowed, f"{path}.nullAllowed"),
        }
    if isinstance(vs, EquatableValueSet):
        return {
            "@type": vs.WIRE_TYPE,
            "valueBlock": block_to_wire(vs.value_block, version, f"{path}.valueBlock"),
            "whiteList": bool_to_wire(vs.white_list, f"{path}.whiteList"),
            "nullAllowed": bool_to_wire(vs.null_allowed, f"{path}.nullAllowed"),
        }
    if isinstance(vs, AllOrNoneValueSet):
        return {
            "@type": vs.WIRE_TYPE,
            "type": vs.type.to_wire(),
            "all": bool_to_wire(vs.all, f"{path}.all"),
            "nullAllowed": bool_to_wire(vs.null_allowed, f"{path}.nullAllowed"),
        }
    fail(path, f"expected a ValueSet, got {type(vs).__name__}")


def expression_to_wire(expr: Expression, version: int, path: str) -> dict[str, Any]:
    if isinstance(expr, FunctionCallExpression):
        return {
            "@type": expr.WIRE_TYPE,
            "type": expr.type.to_wire(),
            "functionName": {"functionName": str_to_wire(expr.function_name, f"{path}.functionName")},
            "arguments": [
                expression_to_wire(arg, version, f"{path}.arguments[{i}]") for i, arg in enumerate(expr.arguments)
            ],
        }
    if isinstance(expr, VariableExpression):
        return {
            "@type": expr.WIRE_TYPE,
            "columnName": str_to_wire(expr.column_name, f"{path}.columnName"),
            "type": expr.type.to_wire(),
        }
    if isinstance(expr, ConstantExpression):
        return {
            "@type": expr.WIRE_TYPE,
            "valueBlock": block_to_wire(expr.value_block, version, f"{path}.valueBlock"),
            "type": expr.type.to_wire(),
        }
    fail(path, f"expected an expression, got {type(expr).__name__}")


def constraints_to_wire(
    constraints: Constraints, serde_version: int = SERDE_VERSION, path: str = "constraints"
) -> dict[str, Any]:
    """Keys of the given dialect only, in the SDK's order (summary; V4 expression, orderByClause, limit;
    V5 queryPassthroughArguments; V6 queryPlan)."""
    version = check_emit_version(serde_version)
    if not isinstance(constraints, Constraints):
        fail(path, f"expected Constraints, got {type(constraints).__name__}")
    out: dict[str, Any] = {
        "summary": {
            str_to_wire(col, f"{path}.summary"): value_set_to_wire(vs, version, f"{path}.summary.{col}")
            for col, vs in constraints.summary.items()
        }
    }
    if version >= 4:
        out["expression"] = [
            expression_to_wire(e, version, f"{path}.expression[{i}]") for i, e in enumerate(constraints.expression)
        ]
        out["orderByClause"] = [
            {
                "columnName": str_to_wire(o.column_name, f"{path}.orderByClause[{i}].columnName"),
                "direction": SortDirection(o.direction).value,
            }
            for i, o in enumerate(constraints.order_by)
        ]
        out["limit"] = int_to_wire(constraints.limit, f"{path}.limit")
    if version >= 5:
        out["queryPassthroughArguments"] = str_map_to_wire(
            constraints.query_passthrough_arguments, f"{path}.queryPassthroughArguments"
        )
    if version >= 6:
        plan = constraints.query_plan
        out["queryPlan"] = (
            None if plan is None else {"substraitVersion": plan.substrait_version, "substraitPlan": plan.substrait_plan}
        )
    return out
