"""Declared partitions (``partitions: {field, values}``) end to end: the demo spec partitions ``deals`` by ``stage``.

GetTableLayout answers one row per declared stage the query admits plus a catch-all row (NULL: any other stage,
or none); GetSplits one split per row (paged); ReadRecords pushes ``stage = value`` and re-applies it, and the
catch-all keeps locally what no declared value covers. The union over all splits is the API's data exactly: no
row lost, none twice, also when records carry stages the spec does not declare.

The bundled demo spec declares its stages exhaustive (no catch-all); these tests read deals through a copy
that does not (``open_stages``), the shape of an API whose field can take other values, and check the
exhaustive declaration on its own.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from athena_connector.wire import (
    AllOrNoneValueSet,
    Constraints,
    EquatableValueSet,
    GetTableRequest,
    Range,
    SortedRangeSet,
    ValueSet,
)
from athena_connector.wire.arrow_types import ArrowType
from demo_api.server import DemoServer
from shared.splits import PARTITION_FIELD, PARTITION_OTHER, PARTITION_VALUE
from tests.athena.connector.harness import CATALOG, IDENTITY, Connector, table_name

STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
STRING = pa.string()


def ranges(*rngs: Range, null_allowed: bool = False) -> SortedRangeSet:
    return SortedRangeSet(ArrowType.from_pyarrow(STRING), rngs, null_allowed)


def on_stage(vs: ValueSet) -> Constraints:
    return Constraints(summary={"stage": vs})


def layout_values(connector: Connector, constraints: Constraints | None = None) -> list[Any]:
    block = connector.layout("deals", constraints)
    meta = {k.decode(): v.decode() for k, v in (block.schema.metadata or {}).items()}
    assert meta["saas.entity"] == "deals" and meta["saas.partition_field"] == "stage"
    assert block.schema.names == ["stage"] and block.schema.field("stage").type == STRING
    return block.batch.column("stage").to_pylist()


def ids(result_table: pa.Table) -> list[int]:
    return sorted(result_table.column("id").to_pylist())


def assert_exact(connector: Connector, result_table: pa.Table, keep: Any = None) -> None:
    """The rows read are the API's rows (those ``keep`` accepts), each exactly once."""
    got = result_table.column("id").to_pylist()
    assert len(got) == len(set(got)), "a row was read by two splits"
    want = sorted(r["id"] for r in connector.dump("deals") if keep is None or keep(r))
    assert sorted(got) == want


def partition_of(split_properties: dict[str, str]) -> str | None:
    assert split_properties[PARTITION_FIELD] == "stage"
    return split_properties.get(PARTITION_VALUE)


@contextmanager
def read_logs() -> Iterator[list[dict[str, Any]]]:
    """The connector's structured log lines written inside the block."""
    from athena_connector.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    old = handler.setStream(stream)  # type: ignore[attr-defined]
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        handler.setStream(old)  # type: ignore[attr-defined]
        lines += [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def open_stages(deals: dict[str, Any]) -> None:
    """The demo's deals as an API whose stage may be anything, or null: a catch-all partition is needed."""
    deals["partitions"].pop("exhaustive", None)
    deals["fields"]["stage"] = "string"


def spec_copy(tmp_path: Path, change: Any, *, exhaustive: bool = False) -> Path:
    from importlib import resources

    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    deals = next(e for e in data["entities"] if e["name"] == "deals")
    if not exhaustive:
        open_stages(deals)
    change(deals)
    path = tmp_path / "deals_spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def _open_stages(connector: Connector, tmp_path: Path) -> None:
    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, lambda deals: None)))


def test_exhaustive_partitions_have_no_catch_all_and_still_read_every_deal(
    connector: Connector, tmp_path: Path
) -> None:
    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, lambda deals: None, exhaustive=True)))
    assert layout_values(connector) == STAGES
    result = connector.query("deals", ["id", "stage"])
    assert [partition_of(s.properties) for s in result.splits] == STAGES
    assert_exact(connector, result.table)
    # A query admitting no declared stage still gets one (catch-all) split, which reads nothing.
    nothing = connector.query("deals", ["id", "stage"], on_stage(EquatableValueSet.of(["on_hold"], STRING)))
    assert nothing.table.num_rows == 0


def test_exhaustive_needs_a_non_nullable_field(tmp_path: Path) -> None:
    from shared.errors import SpecError
    from shared.spec import load_spec

    with pytest.raises(SpecError, match=r"partitions\.exhaustive: exhaustive partitions need the field 'stage'"):
        load_spec(str(spec_copy(tmp_path, lambda deals: deals["partitions"].update(exhaustive=True))))


# ------------------------------------------------------------------------------------------------ layout


def test_get_table_declares_no_partition_columns_and_layout_has_one_row_per_stage(connector: Connector) -> None:
    out = connector.invoke(GetTableRequest(IDENTITY, "q", CATALOG, table_name("deals")))
    # Athena would prune the catch-all row (NULL) itself for stage = 'x' if stage were a declared partition column.
    assert out["partitionColumns"] == []
    assert layout_values(connector) == [*STAGES, None]


@pytest.mark.parametrize(
    ("value_set", "expected"),
    [
        pytest.param(ranges(Range.equal("proposal", STRING)), ["proposal"], id="eq-declared"),
        pytest.param(ranges(Range.equal("on_hold", STRING)), [None], id="eq-undeclared"),
        pytest.param(
            EquatableValueSet.of(["closed_won", "proposal"], STRING), ["proposal", "closed_won"], id="in-declared"
        ),
        pytest.param(
            ranges(Range.equal("on_hold", STRING), Range.equal("proposal", STRING)),
            ["proposal", None],
            id="in-mixed",
        ),
        pytest.param(
            ranges(
                Range.between(STRING, high="proposal", high_inclusive=False),
                Range.between(STRING, low="proposal", low_inclusive=False),
            ),
            [s for s in STAGES if s != "proposal"] + [None],
            id="not-equal",
        ),
        pytest.param(
            ranges(Range.between(STRING, low="p")),
            ["prospecting", "qualification", "proposal", None],
            id="greater-than",
        ),
        pytest.param(ranges(null_allowed=True), [None], id="is-null"),
        pytest.param(
            EquatableValueSet.of(["proposal"], STRING, null_allowed=True), ["proposal", None], id="in-or-null"
        ),
        pytest.param(
            EquatableValueSet.of(["proposal", "negotiation"], STRING, white_list=False),
            ["prospecting", "qualification", "closed_won", "closed_lost", None],
            id="not-in",
        ),
        pytest.param(AllOrNoneValueSet(ArrowType.from_pyarrow(STRING), True, False), [*STAGES, None], id="not-null"),
        pytest.param(AllOrNoneValueSet(ArrowType.from_pyarrow(STRING), False, False), [None], id="nothing"),
    ],
)
def test_layout_prunes_partitions_by_the_constraint_on_the_partition_field(
    connector: Connector, value_set: ValueSet, expected: list[Any]
) -> None:
    assert layout_values(connector, on_stage(value_set)) == expected


def test_constraints_on_other_columns_keep_every_partition(connector: Connector) -> None:
    amount = SortedRangeSet(
        ArrowType.from_pyarrow(pa.decimal128(12, 2)), (Range.between(pa.decimal128(12, 2), low=5000),), False
    )
    assert layout_values(connector, Constraints(summary={"amount": amount})) == [*STAGES, None]


# ------------------------------------------------------------------------------------------------ splits


def test_one_split_per_partition_and_their_union_is_the_whole_entity(connector: Connector) -> None:
    result = connector.query("deals", ["id", "stage"])
    assert [partition_of(s.properties) for s in result.splits] == [*STAGES, None]
    catch_all = result.splits[-1].properties
    assert catch_all[PARTITION_OTHER].startswith("6:")  # a digest of the declared stages it excludes
    assert_exact(connector, result.table)
    # Each declared partition returned exactly its stage; the catch-all nothing (every demo deal has a stage).
    for split, response in zip(result.splits, result.responses, strict=True):
        rows = connector.decode_records(response, pa.schema([("id", pa.int64()), ("stage", STRING)]))
        assert set(rows.column("stage").to_pylist()) <= {partition_of(split.properties)}
    assert Counter(result.table.column("stage").to_pylist()) == Counter(r["stage"] for r in connector.dump("deals"))


def test_partition_splits_page_with_continuation_tokens(connector: Connector) -> None:
    all_at_once, calls = connector.splits("deals")
    assert calls == 1 and len(all_at_once) == 7
    connector.setenv("max_splits_per_response", "3")
    paged, calls = connector.splits("deals")
    assert calls == 3
    assert [s.properties for s in paged] == [s.properties for s in all_at_once]
    result = connector.query("deals", ["id"])
    assert result.split_calls == 3
    assert_exact(connector, result.table)


def test_a_query_on_the_partition_field_reads_only_the_partitions_it_needs(connector: Connector) -> None:
    wanted = EquatableValueSet.of(["proposal", "closed_won"], STRING)
    result = connector.query("deals", ["id", "stage"], on_stage(wanted))
    assert [partition_of(s.properties) for s in result.splits] == ["proposal", "closed_won"]
    assert_exact(connector, result.table, lambda r: r["stage"] in ("proposal", "closed_won"))
    not_proposal = ranges(
        Range.between(STRING, high="proposal", high_inclusive=False),
        Range.between(STRING, low="proposal", low_inclusive=False),
    )
    result = connector.query("deals", ["id"], on_stage(not_proposal))
    assert len(result.splits) == 6
    assert_exact(connector, result.table, lambda r: r["stage"] is not None and r["stage"] != "proposal")


def test_a_declared_partition_pushes_its_value_to_the_api(connector: Connector) -> None:
    splits, _ = connector.splits("deals")
    split = next(s for s in splits if partition_of(s.properties) == "proposal")
    schema = connector.table_schema("deals")
    with read_logs() as lines:
        table, _ = connector.read_split("deals", split, schema)
    dump = connector.dump("deals")
    proposals = sum(1 for r in dump if r["stage"] == "proposal")
    assert table.num_rows == proposals < len(dump)
    (read_line,) = [line for line in lines if line.get("message") == "split read"]
    assert read_line["rows_read"] == proposals  # the API filtered: stage=proposal was sent
    assert read_line["split"] == "partition stage = 'proposal'"


def test_count_star_over_partitions_counts_every_row_once(connector: Connector) -> None:
    splits, _ = connector.splits("deals")
    counts = [connector.read_split("deals", s, pa.schema([]))[0].num_rows for s in splits]
    dump = connector.dump("deals")
    assert counts == [sum(1 for r in dump if r["stage"] == stage) for stage in STAGES] + [0]


# ------------------------------------------------------------------------------------------- the catch-all


@pytest.fixture(scope="module")
def odd_server() -> Iterator[DemoServer]:
    """A private demo API whose deals include stages the spec does not declare, and a deal without a stage."""
    with DemoServer(port=0, scale=0.05, rows={"contacts": 120}) as srv:
        srv.mutate("deals", ids=[2, 3, 5], changes={"stage": "on_hold"})
        srv.mutate("deals", ids=[7], changes={"stage": "Proposal"})  # not 'proposal': equality is exact
        srv.mutate("deals", ids=[11, 13], changes={"stage": None})
        yield srv


@pytest.fixture
def odd(connector: Connector, odd_server: DemoServer) -> Connector:
    connector.setenv("SAAS_BASE_URL", odd_server.base_url)
    connector.setenv("SAAS_API_KEY", odd_server.api_key)
    return Connector(odd_server, connector.monkeypatch)


def test_the_catch_all_reads_undeclared_and_null_stages_exactly_once(odd: Connector) -> None:
    result = odd.query("deals", ["id", "stage"])
    assert_exact(odd, result.table)
    catch_all = [
        r
        for s, resp in zip(result.splits, result.responses, strict=True)
        if partition_of(s.properties) is None
        for r in odd.decode_records(resp, pa.schema([("id", pa.int64()), ("stage", STRING)])).to_pylist()
    ]
    assert sorted((r["id"], r["stage"]) for r in catch_all) == [
        (2, "on_hold"), (3, "on_hold"), (5, "on_hold"), (7, "Proposal"), (11, None), (13, None)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("value_set", "keep"),
    [
        pytest.param(ranges(Range.equal("on_hold", STRING)), lambda s: s == "on_hold", id="eq-undeclared"),
        pytest.param(ranges(null_allowed=True), lambda s: s is None, id="is-null"),
        pytest.param(
            EquatableValueSet.of(["proposal", "on_hold"], STRING), lambda s: s in ("proposal", "on_hold"), id="in-mixed"
        ),
        pytest.param(
            ranges(
                Range.between(STRING, high="proposal", high_inclusive=False),
                Range.between(STRING, low="proposal", low_inclusive=False),
            ),
            lambda s: s is not None and s != "proposal",
            id="not-equal",
        ),
        pytest.param(ranges(Range.between(STRING, low="p")), lambda s: s is not None and s >= "p", id="greater-than"),
        pytest.param(
            EquatableValueSet.of(["closed_won"], STRING, white_list=False, null_allowed=True),
            lambda s: s != "closed_won",
            id="not-in-or-null",
        ),
    ],
)
def test_queries_keep_the_catch_all_whenever_they_admit_other_stages(
    odd: Connector, value_set: ValueSet, keep: Any
) -> None:
    result = odd.query("deals", ["id", "stage"], on_stage(value_set))
    assert None in [partition_of(s.properties) for s in result.splits]
    assert_exact(odd, result.table, lambda r: keep(r["stage"]))


def test_a_shorter_value_list_leaves_real_stages_to_the_catch_all(connector: Connector, tmp_path: Path) -> None:
    def shorten(deals: dict[str, Any]) -> None:
        deals["partitions"]["values"] = ["prospecting", "proposal"]

    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, shorten)))
    assert layout_values(connector) == ["prospecting", "proposal", None]
    result = connector.query("deals", ["id", "stage"])
    assert_exact(connector, result.table)
    (catch_all,) = [
        resp for s, resp in zip(result.splits, result.responses, strict=True) if partition_of(s.properties) is None
    ]
    rows = connector.decode_records(catch_all, pa.schema([("id", pa.int64()), ("stage", STRING)]))
    others = sorted(r["id"] for r in connector.dump("deals") if r["stage"] not in ("prospecting", "proposal"))
    assert sorted(rows.column("id").to_pylist()) == others and others
    result = connector.query("deals", ["id"], on_stage(ranges(Range.equal("closed_won", STRING))))
    assert [partition_of(s.properties) for s in result.splits] == [None]
    assert_exact(connector, result.table, lambda r: r["stage"] == "closed_won")


def test_partitions_combine_with_split_windows_into_an_exact_grid(connector: Connector, tmp_path: Path) -> None:
    def add_windows(deals: dict[str, Any]) -> None:
        deals["filters"]["id"] = {"ge": {"param": "id_min"}, "le": {"param": "id_max"}}
        deals["splits"] = {"by": "id_range", "field": "id", "start": 1, "end": 500, "count": 3}

    connector.setenv("SAAS_SPEC", str(spec_copy(tmp_path, add_windows)))
    connector.setenv("max_splits_per_response", "5")
    result = connector.query("deals", ["id", "stage"])
    assert len(result.splits) == 7 * 3 and result.split_calls == 5
    cells = {
        (partition_of(s.properties), s.properties.get("split.low"), s.properties.get("split.high"))
        for s in result.splits
    }
    assert len(cells) == 21
    assert_exact(connector, result.table)
    proposal = on_stage(ranges(Range.equal("proposal", STRING)))
    result = connector.query("deals", ["id"], proposal)
    assert len(result.splits) == 3
    assert_exact(connector, result.table, lambda r: r["stage"] == "proposal")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({PARTITION_OTHER: "6:0000000000000000"}, "the spec changed while the query ran"),
        ({PARTITION_FIELD: "colour"}, "name field 'colour' that 'deals' does not have"),
        ({PARTITION_OTHER: None, PARTITION_VALUE: "x", PARTITION_FIELD: "amount"}, "are not valid for 'deals'"),
    ],
)
def test_tampered_partition_properties_are_refused(connector: Connector, change: dict[str, Any], fragment: str) -> None:
    from dataclasses import replace

    splits, _ = connector.splits("deals")
    properties = {**splits[-1].properties, **change}
    split = replace(splits[-1], properties={k: v for k, v in properties.items() if v is not None})
    with pytest.raises(Exception, match="ReadRecordsRequest demo_crm.deals") as info:
        connector.read_split("deals", split, connector.table_schema("deals"))
    assert type(info.value).__name__ == "InvalidInputException"
    assert fragment in str(info.value)
