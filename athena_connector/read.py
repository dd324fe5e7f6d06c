"""ReadRecords: one split's rows, from SaaS pages to an inline block or encrypted S3 blocks.

Per page: JSON (decoded by the client) -> the needed fields straight into Arrow with the declared types
(``arrow_build``) -> the exact filter (``filtering.RowFilter``: the query's summary ValueSets and the split's own
bounds) -> the requested columns in the requested order -> ``spill.ResultWriter``. Nothing goes back to
Python objects after the Arrow build.

What is pushed to the API: the summary translated to the shared predicates (``constraints_to_predicates``)
plus the split's bounds and its partition's ``field = value``, through the spec's declared filters
(``shared.pushdown``). The catch-all partition keeps, locally, the rows whose partition field is none of the
declared values, or NULL, and pushes ``not_in`` only where the API's filter keeps NULLs (``shared.splits``).
What the API ignores or applies loosely does not matter: every row is filtered again. If the API refuses the
pushed parameters on the first page (HTTP 400/422, e.g. a value outside what it accepts), the split is read
again without the query's parameters and filtered locally, so the answer is still exact.

LIMIT (advertised as ``supports_limit_pushdown``) applies without ORDER BY; the read stops once that many rows
have passed the exact filter (complex expressions included: they are applied exactly). ORDER BY ... LIMIT
(``supports_top_n_pushdown``) keeps each split's true top N (``top_n``), asks the API for the order where
the spec declares it, and stops early only where that order is trusted (``order_search``). LIKE
(``supports_complex_expression_pushdown``) is applied to every row and sent as a search term where the spec
declares one (always a superset).

Early stop: between pages the read asks, at most every ``query_status_interval_seconds``, whether the Athena
query is still running (``query_status``); once it is not, the read answers with what it has, without error.

count(*) (a request schema with no columns) reads only the columns the filter needs and answers the row count.

Pages are fetched ahead of this loop (``SaaSClient.iter_pages`` with the spec's ``pagination.concurrency``):
up to K at once for offset and page-number entities whose API reports the total, the next one while this page
is built and written otherwise; the pages and their order are those of the one-at-a-time read.

The Lambda's remaining time bounds everything: requests, retries and rate-limit waits may use the time up to the
configured margin (``deadline_margin_seconds`` before the Lambda timeout), and no page is taken after it. A split
that cannot finish by then fails with a timeout error that says how far it got and what to do; the blocks it
spilled are deleted, and no partial result is ever returned.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from athena_connector import passthrough
from athena_connector.arrow_build import ArrowBuilder
from athena_connector.config import ConnectorConfig
from athena_connector.constraints_to_predicates import summary_to_predicates
from athena_connector.errors import InvalidInputException
from athena_connector.filtering import RowFilter
from athena_connector.metadata import check_constraint_columns
from athena_connector.order_search import order_search
from athena_connector.query_status import STATUS
from athena_connector.requested_types import check_requested_type, convert_column
from athena_connector.runtime import Runtime
from athena_connector.schema import TableSchema
from athena_connector.spill import BlockStore, ResultWriter, key_factory
from athena_connector.top_n import TopN
from athena_connector.wire import ReadRecordsRequest, ReadRecordsResponse, RemoteReadRecordsResponse
from shared.client import Page
from shared.deadline import Deadline
from shared.duplicates import DuplicateCheck, SeenKeys, duplicate_mode, raw_key_getter
from shared.errors import DeadlineExceededError, SaaSClientError
from shared.predicates import Op, Predicate
from shared.pushdown import QueryPlan
from shared.spec.model import EntitySpec
from shared.splits import FIELD, HIGH, KIND, LOW, PARENTS, partition_scope, split_predicates
from shared.transport import DEADLINE_MARGIN_S, TransportStats
from shared.values import CoercionError, coerce

log = logging.getLogger(__name__)

REJECTED_PUSHDOWN_STATUSES = (400, 422)


@dataclass
class ReadStats:
    rows: int = 0
    rows_read: int = 0
    pages: int = 0
    transport: TransportStats = field(default_factory=TransportStats)
    inline_bytes: int = 0
    spilled_bytes: int = 0
    spilled_blocks: int = 0
    nulled_values: int = 0
    duplicates_dropped: int = 0
    pushdown_rejected: bool = False
    limit_reached: bool = False
    query_finished: bool = False  # the Athena query ended while this split was read: stopped early
    top_n_stopped: bool = False  # a top-N under a trusted API order stopped before the split's end


@dataclass(frozen=True)
class SplitScope:
    """What a split adds to the query: bounds to push and enforce, and parent keys to read."""

    predicates: tuple[Predicate, ...] = ()
    local: tuple[Predicate, ...] = ()
    parent_keys: tuple[dict[str, object], ...] | None = None
    lenient_nulls: frozenset[str] = frozenset()


def split_scope(entity: EntitySpec, properties: dict[str, str]) -> SplitScope:
    try:
        partition = partition_scope(entity, properties)
        predicates = (*split_predicates(entity, properties), *partition.pushed)
        raw_parents = properties.get(PARENTS)
        parents = None if raw_parents is None else json.loads(raw_parents)
    except KeyError as exc:
        raise InvalidInputException(
            f"split properties {properties} name field {exc} that '{entity.name}' does not have"
        ) from None
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: absurdly nested split.parents JSON
        raise InvalidInputException(f"split properties {properties} are not valid for '{entity.name}': {exc}") from None
    local = [*predicates, *partition.local]
    if parents is not None:
        if not isinstance(parents, list) or not all(isinstance(k, dict) for k in parents) or entity.parent is None:
            raise InvalidInputException(f"split property {PARENTS} is not a list of parent keys for '{entity.name}'")
        for child_field, parent_field in entity.parent.fields.items():
            ftype = entity.field(child_field).type
            try:
                values = tuple(dict.fromkeys(coerce(k.get(parent_field), ftype) for k in parents))
            except CoercionError as exc:
                raise InvalidInputException(f"split property {PARENTS}: {exc}") from None
            local.append(Predicate(child_field, Op.IN, values))
    lenient = partition.lenient_nulls  # the catch-all partition owns rows whose partition field is NULL
    first_window = not properties.get(LOW) and properties.get(HIGH)
    if properties.get(KIND) in ("time_window", "id_range") and properties.get(FIELD) and first_window:
        lenient |= {properties[FIELD]}  # the first window also owns rows whose split field is NULL
    return SplitScope(predicates, tuple(local), None if parents is None else tuple(parents), lenient)


def _limit(request: ReadRecordsRequest) -> int | None:
    c = request.constraints
    if c.has_limit and not c.order_by:
        return c.limit
    return None


def _projection(table: TableSchema, requested: pa.Schema) -> list[tuple[str, pa.DataType | None]]:
    """(column, type to cast to or None) for each requested column; unknown columns are refused."""
    unknown = [n for n in requested.names if n not in table.schema.names]
    if unknown:
        raise InvalidInputException(
            f"schema: unknown column(s) {', '.join(map(repr, unknown))} in table '{table.entity.name}' "
            f"(columns: {', '.join(table.schema.names)})"
        )
    out = []
    for f in requested:
        ours = table.schema.field(f.name).type
        check_requested_type(f, ours, table.entity.name)
        out.append((f.name, None if ours.equals(f.type) else f.type))
    return out


def _project(
    batch: pa.RecordBatch, projection: list[tuple[str, pa.DataType | None]], schema: pa.Schema
) -> pa.RecordBatch:
    if not projection:
        return batch.select([])
    arrays = []
    for name, cast_to in projection:
        column = batch.column(name)
        if cast_to is not None:
            try:
                column = convert_column(column, cast_to, name)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise InvalidInputException(
                    f"schema: column '{name}' is requested as {cast_to}, but the table declares {column.type}: {exc}"
                ) from None
        arrays.append(column)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def read_records(
    runtime: Runtime,
    request: ReadRecordsRequest,
    *,
    deadline: Deadline,
    config: ConnectorConfig,
    store: BlockStore | None = None,
) -> tuple[ReadRecordsResponse | RemoteReadRecordsResponse, ReadStats]:
    started = time.monotonic()
    constraints = request.constraints
    query = None
    if constraints.is_passthrough:
        query = passthrough.parse_passthrough(constraints.query_passthrough_arguments, runtime)
        table = runtime.table_of(query.entity)
    else:
        table = runtime.table(request.table_name)
    entity = table.entity
    projection = _projection(table, request.schema)
    check_constraint_columns(table, constraints)
    scope = SplitScope() if query is not None else split_scope(entity, dict(request.split.properties))
    row_filter = RowFilter(constraints.summary, scope.local, scope.lenient_nulls, constraints.expression)
    limit = _limit(request)
    stats = ReadStats()
    key = request.split.encryption_key
    if key is None and config.encrypt_spill:
        # A split without a key (not one our GetSplits made) cannot turn spill encryption off: use a fresh key,
        # which the RemoteReadRecordsResponse carries to the reader.
        key = key_factory(config).new_key()
    writer = ResultWriter(
        catalog_name=request.catalog_name,
        schema=request.schema,
        spill=request.split.spill_location,
        key=key,
        max_block_size=request.max_block_size,
        max_inline_block_size=request.max_inline_block_size,
        store=store,
    )
    answered = False
    try:
        if row_filter.unsatisfiable or limit == 0 or scope.parent_keys == ():
            response = _finish(writer, stats)
            answered = True
            return response, stats
        translation = summary_to_predicates(constraints.summary, entity)
        types = {f.name: f.type for f in table.schema}
        needed = set(request.schema.names) | set(row_filter.columns)
        needed |= {o.column_name for o in constraints.order_by if constraints.has_limit}
        fields = tuple(f.name for f in entity.fields if f.name in needed)
        field_specs = [entity.field(n) for n in fields]
        top: TopN | None = None
        if query is not None:
            plan = query.plan(fields)
        else:
            plan = _plan(runtime, entity, [*scope.predicates, *translation.predicates], fields, scope)
            extra = order_search(entity, constraints, types, {k for k, _ in plan.params})
            plan = extra.apply(plan)
            for note in extra.notes:
                log.info("entity %s: %s", entity.name, note)
            if extra.top_limit is not None and extra.sort is not None:
                top = TopN(constraints.order_by, extra.top_limit, extra.sort.trusted)
        stop_after = limit
        if top is not None and top.trusted == len(top.order_by):
            stop_after = top.limit  # the API's order is Athena's: the first N matching rows are the top N
        page_size = None
        if stop_after is not None and translation.exact and not plan.residual and not constraints.expression:
            page_size = min(runtime.client.page_size(entity, None), max(stop_after, 1))
        builder = ArrowBuilder(entity, config.timestamp_type)
        duplicates = _duplicate_check(runtime, entity)
        concurrency = runtime.client.concurrency(entity.name)
        if stop_after is not None and page_size is not None:  # the API filters exactly: this many pages suffice
            concurrency = min(concurrency, -(-stop_after // page_size))
        # The transport keeps DEADLINE_MARGIN_S back from the deadline it is given (no request or retry wait starts
        # inside it, read timeouts end before it). The configured margin is that reserve already: without this,
        # requests would stop, or be cut short, that much before it.
        client_deadline = deadline.later(DEADLINE_MARGIN_S)

        def pages_of(plan: QueryPlan) -> Iterator[Page]:
            return runtime.client.iter_pages(
                plan, page_size=page_size, deadline=client_deadline, concurrency=concurrency
            )

        pages = pages_of(plan)
        try:
            while True:
                if deadline.remaining() <= 0:
                    raise DeadlineExceededError("the invocation's deadline has passed", entity=entity.name)
                if STATUS.finished(request.query_id, read_started=started, interval=config.query_status_interval_s):
                    stats.query_finished = True  # nobody reads this answer any more: stop paging the API
                    break
                try:
                    page = next(pages)
                except StopIteration:
                    break
                except SaaSClientError as exc:
                    fallback = _fallback_plan(runtime, entity, fields, scope, plan, query, exc, stats)
                    if fallback is None:
                        raise
                    plan = fallback
                    stats.pushdown_rejected = True
                    if top is not None:
                        top = TopN(top.order_by, top.limit, 0)  # no sort parameter any more: read to the end
                    pages = pages_of(plan)
                    continue
                stats.pages += 1
                stats.transport.add(page.stats)
                records = page.records
                if duplicates is not None:
                    records = duplicates.check.keep_new(records, duplicates.key_values, page.number)
                if top is not None:
                    done = _consume_top(page.number, records, builder, field_specs, row_filter, top, stats)
                else:
                    done = _consume(
                        page.number,
                        records,
                        builder,
                        field_specs,
                        row_filter,
                        projection,
                        request.schema,
                        writer,
                        limit,
                        stats,
                    )
                if done or page.next_token is None:
                    break
        except DeadlineExceededError as exc:
            raise _out_of_time(entity, stats, writer, time.monotonic() - started, exc) from exc
        finally:
            pages.close()
        if top is not None:
            for batch in top.result():
                writer.add(_project(batch, projection, request.schema))
        stats.nulled_values = builder.nulled_total
        if duplicates is not None:
            stats.duplicates_dropped = duplicates.check.dropped
            duplicates.check.report()
        response = _finish(writer, stats)
        answered = True
        return response, stats
    finally:
        if answered:
            writer.close()
        elif deleted := writer.discard():  # blocks spilled for an answer this read will not give
            log.info("deleted the %d block(s) this failed read had spilled", deleted)


def _out_of_time(
    entity: EntitySpec, stats: ReadStats, writer: ResultWriter, used_s: float, cause: DeadlineExceededError
) -> DeadlineExceededError:
    """The split's timeout, told honestly: how far it got, that nothing partial is returned, and what to do."""
    return DeadlineExceededError(
        f"this split cannot finish before the Lambda timeout: in {used_s:.1f}s it read {stats.pages} page(s), "
        f"{stats.rows_read} row(s) from the API ({writer.rows} matching the query), and stopped at the configured "
        "margin (deadline_margin_seconds) without returning a partial result. To read it, use more splits (narrower "
        "split hints in the spec), declare how the API counts records so that splits are sized from the data, or "
        f"give the Lambda a longer timeout (at most 900 s). Stopped by: {cause}",
        entity=entity.name,
        page=stats.pages + 1,
    )


def _plan(
    runtime: Runtime, entity: EntitySpec, predicates: list[Predicate], fields: tuple[str, ...], scope: SplitScope
) -> QueryPlan:
    plan = runtime.client.plan(entity.name, predicates, fields)
    if scope.parent_keys is not None:
        plan = replace(plan, parent_keys=scope.parent_keys)
    return plan


def _fallback_plan(
    runtime: Runtime,
    entity: EntitySpec,
    fields: tuple[str, ...],
    scope: SplitScope,
    plan: QueryPlan,
    query: passthrough.PassthroughQuery | None,
    exc: SaaSClientError,
    stats: ReadStats,
) -> QueryPlan | None:
    """The plan without the query's parameters, when the API refused them on the first page."""
    if query is not None or stats.pages or stats.pushdown_rejected or exc.status not in REJECTED_PUSHDOWN_STATUSES:
        return None
    fallback = _plan(runtime, entity, list(scope.predicates), fields, scope)
    if fallback.params == plan.params:
        return None
    log.warning(
        "entity %s: the API refused the pushed filter parameters (%s); reading this split without them and "
        "filtering every row locally",
        entity.name,
        exc,
    )
    return fallback


@dataclass(frozen=True)
class _SplitDuplicates:
    check: DuplicateCheck
    key_values: Callable[[dict[str, Any]], list[Any]]


def _duplicate_check(runtime: Runtime, entity: EntitySpec) -> _SplitDuplicates | None:
    """Records the API returns twice in this split, by primary key (``shared.duplicates``); None when off."""
    mode = duplicate_mode(runtime.spec, entity)
    key_values = raw_key_getter(entity)
    if mode == "off" or key_values is None:
        return None
    return _SplitDuplicates(DuplicateCheck(entity, mode, SeenKeys(), where="split"), key_values)


def _consume(
    number: int,
    records: list[dict[str, Any]],
    builder: ArrowBuilder,
    field_specs: list,
    row_filter: RowFilter,
    projection: list[tuple[str, pa.DataType | None]],
    schema: pa.Schema,
    writer: ResultWriter,
    limit: int | None,
    stats: ReadStats,
) -> bool:
    """Add one page's records to the result; True when the LIMIT has been reached."""
    if not records:
        return False
    stats.rows_read += len(records)
    batch = builder.build_batch(records, field_specs, number)
    batch = _project(row_filter.apply(batch), projection, schema)
    if limit is not None and writer.rows + batch.num_rows >= limit:
        writer.add(batch.slice(0, limit - writer.rows))
        stats.limit_reached = True
        return True
    writer.add(batch)
    return False


def _consume_top(
    number: int,
    records: list[dict[str, Any]],
    builder: ArrowBuilder,
    field_specs: list,
    row_filter: RowFilter,
    top: TopN,
    stats: ReadStats,
) -> bool:
    """Add one page to the split's top N; True when no later row can enter it (a trusted API order)."""
    if records:
        stats.rows_read += len(records)
        top.add(row_filter.apply(builder.build_batch(records, field_specs, number)))
    stats.top_n_stopped = top.done
    return stats.top_n_stopped


def _finish(writer: ResultWriter, stats: ReadStats) -> ReadRecordsResponse | RemoteReadRecordsResponse:
    response = writer.finish()
    stats.rows = writer.stats.rows
    stats.inline_bytes = writer.stats.inline_bytes
    stats.spilled_bytes = writer.stats.spilled_bytes
    stats.spilled_blocks = writer.stats.spilled_blocks
    return response
