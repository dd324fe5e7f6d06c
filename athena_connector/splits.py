"""GetSplits: the spec's split hints intersected with the query, one spill location and key per split.

* ``time_window`` / ``id_range`` hints: ``shared.splits.plan_splits`` clipped to the bounds the query puts
  on the split field (windows that cannot hold a matching row are not emitted), with the planning instant
  from GetTableLayout as ``now``, each window cut further until the API counts at most the target of records
  in it when the entity declares ``count`` (``athena_connector.sizing``). Pages of at most
  ``max_splits_per_response``, also ended early when the invocation's deadline nears; the continuation token
  holds the partition index and the edge the next page starts from, so pages cover the range exactly.
* ``parent`` hints: the parent keys come from the query (``contact_id IN (...)``) when it names them, else
  from reading the parent entity page by page; each GetSplits call turns as many parent pages into splits
  as fit in one response and returns the parent's page token as the continuation token.
* ``partitions``: one split per partition row of the layout (GetTableLayout already pruned them; the rows are
  checked against the query again here), with the partition's properties (``partition.field`` and
  ``partition.value``, or ``partition.other`` for the catch-all). With a ``time_window`` / ``id_range`` hint too,
  every partition gets every window (the loader refuses partitions with ``parent`` hints, and the same field for
  both); the grid pages like windows do.
* No hint and no partitions, or a passthrough query: one split.

Every split gets its own spill directory ``<spill_prefix>/<queryId>/<uuid>`` (the engine collects splits in
a set, so two identical splits would collapse) and a fresh key (see ``spill.py``). The split's properties
are the shared split properties (``split.kind``, ``split.field``, ``split.low``, ``split.high``,
``split.parents``), which ReadRecords turns back into predicates.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from typing import Any

from athena_connector.config import ConnectorConfig
from athena_connector.constraints_to_predicates import summary_to_predicates
from athena_connector.errors import InvalidInputException
from athena_connector.metadata import (
    META_PARTITION_FIELD,
    META_PLANNED_AT,
    check_constraint_columns,
    layout_state,
    resolve_table,
    surviving_partitions,
)
from athena_connector.runtime import Runtime
from athena_connector.schema import TableSchema
from athena_connector.sizing import NO_PARTITION, SizedPage
from athena_connector.spill import KeyFactory
from athena_connector.wire import GetSplitsRequest, GetSplitsResponse, S3SpillLocation, Split
from shared.deadline import Deadline
from shared.predicates import Op
from shared.records import Extractor
from shared.spec.model import EntitySpec
from shared.splits import KIND, PARENTS, plan_splits
from shared.values import parse_timestamp

TOKEN_VERSION = 2
PARENT_TIME_RESERVE_S = 2.0


def _encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps({"v": TOKEN_VERSION, **state}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, table: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep JSON
        raise InvalidInputException(f"continuationToken {token[:40]!r} is not one this connector issued") from None
    if not isinstance(state, dict) or state.get("v") != TOKEN_VERSION or state.get("t") != table:
        raise InvalidInputException(f"continuationToken {token[:40]!r} belongs to another table or version")
    return state


def _token_index(state: dict[str, Any], partitions: int, token: str | None) -> int:
    """Which partition a continuation token resumes in: one this plan has. Anything else (``1e20``, ``-3``, text)
    is refused; read as an index past the end it would end the query's splits as if there were no more."""
    start = state.get("pi", 0)
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < max(partitions, 1):
        shown = (token or "")[:40]
        at = repr(start) if isinstance(start, int | float | str) else type(start).__name__
        raise InvalidInputException(
            f"continuationToken {shown!r} resumes at partition {at[:40]}, which this query's {partitions} "
            "partition(s) do not have"
        )
    return start


def _token_edge(state: dict[str, Any], page: SizedPage, token: str | None) -> str | None:
    """The window edge a continuation token resumes at: a value of the split field, or None (the start)."""
    edge = state.get("e")
    if edge is None:
        return None
    shown = (token or "")[:40]
    if not isinstance(edge, str) or page.window is None:
        raise InvalidInputException(f"continuationToken {shown!r} resumes at an edge this table's splits do not have")
    try:
        page.window.parse_edge(edge)
    except (ValueError, TypeError, OverflowError):
        raise InvalidInputException(
            f"continuationToken {shown!r} resumes at {edge[:40]!r}, which is not a value of split field "
            f"'{page.window.field}'"
        ) from None
    return edge


def _token_planned_at(state: dict[str, Any]) -> dt.datetime | None:
    text = state.get("n")
    if not text:
        return None
    try:
        if not isinstance(text, str):
            raise TypeError
        return parse_timestamp(text)
    except (ValueError, TypeError, OverflowError):
        shown = text[:40] if isinstance(text, str) else type(text).__name__
        raise InvalidInputException(f"continuationToken: planning instant {shown!r} is not a timestamp") from None


def _planned_at(request: GetSplitsRequest) -> dt.datetime:
    text = layout_state(request.partitions).get(META_PLANNED_AT)
    if text:
        try:
            return parse_timestamp(text)
        except ValueError:
            pass
    return dt.datetime.now(dt.UTC)


class SplitMaker:
    def __init__(self, config: ConnectorConfig, query_id: str, keys: KeyFactory) -> None:
        self.config = config
        self.query_id = query_id
        self.keys = keys

    def make(self, properties: dict[str, str]) -> Split:
        key = f"{self.config.spill_prefix}/{self.query_id}/{uuid.uuid4()}"
        location = S3SpillLocation(self.config.spill_bucket, key, True)
        return Split(location, self.keys.new_key(), dict(properties))


def get_splits(
    runtime: Runtime, request: GetSplitsRequest, keys: KeyFactory, deadline: Deadline, config: ConnectorConfig
) -> GetSplitsResponse:
    table = resolve_table(runtime, request.table_name, request.constraints)
    check_constraint_columns(table, request.constraints)
    maker = SplitMaker(config, request.query_id, keys)
    catalog = request.catalog_name
    if request.partitions.num_rows == 0:
        return GetSplitsResponse(catalog, [], None)
    entity = table.entity
    if request.constraints.is_passthrough or (entity.splits is None and entity.partitions is None):
        return GetSplitsResponse(catalog, [maker.make({})], None)
    translation = summary_to_predicates(request.constraints.summary, entity)
    if translation.unsatisfiable:
        return GetSplitsResponse(catalog, [maker.make({})], None)  # the read returns nothing, cheaply
    token_table = f"{request.table_name.schema_name}.{request.table_name.table_name}"
    state = _decode_token(request.continuation_token, token_table) if request.continuation_token else {}
    predicates = list(translation.predicates)
    per_page = config.max_splits_per_response
    if entity.splits is not None and entity.splits.by == "parent":
        keys_from_query = _query_parent_keys(entity, predicates)
        if keys_from_query is None:
            return _parent_listing_page(runtime, entity, state, maker, catalog, token_table, deadline, per_page)
        planned = [s.properties for s in plan_splits(entity, predicates, parent_keys=lambda: keys_from_query)]
        return GetSplitsResponse(catalog, [maker.make(props) for props in planned], None)
    planned_at = _token_planned_at(state) or _planned_at(request)
    parts: list[Any] = _partitions(table, request) if entity.partitions is not None else [NO_PARTITION]
    page = SizedPage(runtime, entity, predicates, config, deadline, planned_at)
    first = _token_index(state, len(parts), request.continuation_token)
    edge = _token_edge(state, page, request.continuation_token)
    props, resume = page.plan(parts, first, edge, per_page)
    token = None
    if resume is not None:
        token = _encode_token({"t": token_table, "n": planned_at.isoformat(), "pi": resume[0], "e": resume[1]})
    return GetSplitsResponse(catalog, [maker.make(p) for p in props], token)


def _partitions(table: TableSchema, request: GetSplitsRequest) -> list[Any]:
    """The partition values of the request's partition rows (None = the catch-all) that the query still needs.

    The rows are ours from GetTableLayout; a row whose value is not (or no longer) a declared value is dropped,
    so each partition's split reads exactly what the spec's declared values say. A block without the partition
    column (not from a partitioned layout) stands for every partition the query needs.
    """
    spec = table.entity.partitions
    assert spec is not None
    needed = surviving_partitions(table, request.constraints.summary)
    block = request.partitions
    if layout_state(block).get(META_PARTITION_FIELD) != spec.field or spec.field not in block.schema.names:
        return needed
    rows = block.batch.column(spec.field).to_pylist()
    return [v for v in needed if v in rows]


def _query_parent_keys(entity: EntitySpec, predicates: list[Any]) -> list[dict[str, Any]] | None:
    """Parent keys the query itself names (``child_field = v`` or ``IN (...)``), or None."""
    assert entity.parent is not None
    mapping = entity.parent.fields
    if len(mapping) != 1:
        return None
    ((child_field, parent_field),) = mapping.items()
    for p in predicates:
        if p.field == child_field and p.op in (Op.EQ, Op.IN):
            values = (p.value,) if p.op is Op.EQ else p.value
            return [{parent_field: v} for v in sorted(set(values), key=repr)]
    return None


def _parent_listing_page(
    runtime: Runtime,
    entity: EntitySpec,
    state: dict[str, Any],
    maker: SplitMaker,
    catalog: str,
    token_table: str,
    deadline: Deadline,
    per_page: int,
) -> GetSplitsResponse:
    """Splits for as many pages of parent keys as fit in one response; the parent token continues."""
    assert entity.parent is not None and entity.splits is not None
    parent = runtime.client.entity(entity.parent.entity)
    wanted = sorted(set(entity.parent.fields.values()))
    plan = runtime.client.plan(parent.name, (), wanted)
    extractor = Extractor(parent, wanted)
    page_size = runtime.client.page_size(parent, entity.splits.max_ids_per_split)
    token: str | None = state.get("p")
    splits: list[Split] = []
    first = not state
    while True:
        page = runtime.client.fetch_page(plan, token, page_size, deadline)
        keys = [extractor.raw_row(r) for r in page.records]
        if keys:
            splits.extend(maker.make(s.properties) for s in plan_splits(entity, parent_keys=lambda k=keys: k))
        token = page.next_token
        if token is None or len(splits) >= per_page or deadline.remaining() < PARENT_TIME_RESERVE_S:
            break
    if not splits and token is None and first:
        splits.append(maker.make({KIND: "parent", PARENTS: "[]"}))
    next_token = _encode_token({"t": token_table, "p": token}) if token is not None else None
    return GetSplitsResponse(catalog, splits, next_token)
