"""QueryData and RetrieveData: read records through the shared client and answer within the budgets.

QueryData, per call::

    filterExpression --parse--> predicates (+ local nodes, LIMIT)
        --incremental field: upper bounds local on positional paging--> client.plan(): pushed params + residual
    nextToken --decode--> client token (+ overlap guard, emitted count)
    loop: iter_pages -> typed rows -> residual and local filter -> JSON strings
          until maxResults, the byte budget, the time budget, LIMIT or the end of the data
    nextToken = page.token_after(k): resumes after exactly the k records consumed, even mid-page

Pages are fetched ahead of the loop as the spec's ``pagination.concurrency`` allows (``shared.concurrent_pages``):
a page fetched ahead but not returned is simply read again by the next call from the token.

When the filter keeps few records, more upstream pages are read in the same call (as long as another
page fits in the time left) instead of returning many empty pages. When a later page fails with a
retryable error (rate limit, 5xx, deadline), the records already collected are returned with a token
that retries that page.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from appflow_connector import budget
from appflow_connector.errors import ConnectorError, invalid_argument, to_details
from appflow_connector.filter_expression import ParsedFilter, parse_filter
from appflow_connector.incremental import split_for_paging
from appflow_connector.record_json import dumps_record
from appflow_connector.runtime import Connection, Runtime, entity_of
from appflow_connector.sdk import ErrorCode, RecordHandler, requests, responses
from appflow_connector.tokens import QueryToken, query_fingerprint
from appflow_connector.writes import write_records
from shared.client import Page
from shared.errors import DeadlineExceededError, SaaSRateLimitedError, SaaSTransientError
from shared.predicates import Op, Predicate
from shared.pushdown import QueryPlan
from shared.records import Extractor
from shared.spec.model import EntitySpec
from shared.tokens import key_hash
from shared.values import CoercionError, coerce

log = logging.getLogger(__name__)

DEFAULT_MAX_RESULTS = 1000  # when AppFlow sends "maxResults": null
RETRYABLE = (SaaSRateLimitedError, SaaSTransientError, DeadlineExceededError)


def selected_fields(entity: EntitySpec, names: Sequence[str] | None) -> list[str]:
    """The requested fields in request order (all fields when none are named)."""
    if not names:
        return list(entity.field_names)
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise invalid_argument("selectedFieldNames must be a list of field names")
    unknown = [n for n in names if n not in entity.field_names]
    if unknown:
        raise invalid_argument(
            f"entity '{entity.name}' has no field(s) {', '.join(repr(u) for u in unknown)} "
            f"(fields: {', '.join(entity.field_names)})"
        )
    return list(dict.fromkeys(names))


def max_results_of(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid_argument(f"maxResults must be a positive integer or null, got {value!r}")
    return value


@dataclass
class PreparedQuery:
    entity: EntitySpec
    selected: list[str]
    plan: QueryPlan
    residual: list[Predicate]
    filter: ParsedFilter
    extractor: Extractor
    key_fields: list[str]

    @property
    def filters_locally(self) -> bool:
        return bool(self.residual or self.filter.local)

    def passes(self, row: dict[str, Any]) -> bool:
        return all(p.test(row.get(p.field)) for p in self.residual) and self.filter.matches_local(row)


def prepare(conn: Connection, entity: EntitySpec, selected: list[str], expression: str | None) -> PreparedQuery:
    parsed = parse_filter(expression, entity)
    planned, kept_local = split_for_paging(conn.spec, entity, parsed.predicates)
    needed = list(dict.fromkeys([*selected, *entity.primary_key, *sorted(parsed.fields())]))
    plan = conn.client.plan(entity.name, planned, needed)
    return PreparedQuery(
        entity=entity,
        selected=selected,
        plan=plan,
        residual=[*plan.residual, *kept_local],
        filter=parsed,
        extractor=Extractor(entity, needed),
        key_fields=list(entity.primary_key),
    )


def _too_big(entity: EntitySpec, row: dict[str, Any], keys: list[str], size: int) -> ConnectorError:
    key = ", ".join(f"{k}={row.get(k)!r}" for k in keys) or "?"
    return ConnectorError(
        ErrorCode.InvalidArgument,
        f"entity '{entity.name}': record {key} is {size} bytes as JSON, more than the "
        f"{budget.MAX_RESPONSE_BYTES}-byte response budget; deselect large fields",
    )


def run_query(
    conn: Connection, query: PreparedQuery, token: QueryToken, max_results: int, deadline: Any
) -> tuple[list[str], str | None]:
    want = max_results
    limit = query.filter.limit
    if limit is not None:
        want = min(want, limit - token.emitted)
        if want <= 0:
            return [], None
    page_size = conn.settings.page_size or max_results
    if query.filters_locally and not conn.settings.page_size:
        page_size = max(page_size, conn.spec.pagination_for(query.entity).page_size)
    out: list[str] = []
    bytes_left = budget.ByteBudget()
    clock = budget.PageClock(deadline)
    client_token = token.client_token
    guard = bool(query.key_fields)
    pages = 0
    # Pages are fetched ahead of this loop (the spec's pagination.concurrency); one fetched but not used here is
    # simply read again by the next call, which starts from the token of the last record returned.
    concurrency = conn.client.concurrency(query.entity.name)
    if not query.filters_locally:  # every record read is returned: this call needs at most this many pages
        concurrency = min(concurrency, -(-want // page_size))
    upstream = conn.client.iter_pages(
        query.plan, token=client_token, page_size=page_size, deadline=deadline, concurrency=concurrency
    )
    try:
        while True:
            if pages and not clock.another_page_fits():
                break
            clock.start()
            try:
                page = next(upstream)
            except RETRYABLE as exc:
                if pages:
                    log.warning("stopping early, the next call retries this page: %s", exc)
                    break
                raise
            finally:
                clock.stop()
            pages += 1
            client_token, stop = _take_page(query, token, page, out, bytes_left, want, guard)
            if stop or client_token is None:
                break
    finally:
        upstream.close()
    token.client_token = client_token
    token.emitted += len(out)
    _log_nulled(query.extractor)
    if client_token is None or (limit is not None and token.emitted >= limit):
        return out, None
    return out, token.encode()


def _take_page(
    query: PreparedQuery,
    token: QueryToken,
    page: Page,
    out: list[str],
    bytes_left: budget.ByteBudget,
    want: int,
    guard: bool,
) -> tuple[str | None, bool]:
    """Add one page's matching records to ``out`` within the budgets; return the token after what was taken and
    whether the response is full."""
    for i, record in enumerate(page.records):
        row = query.extractor.typed_row(record, page.number)
        key = key_hash([row.get(k) for k in query.key_fields]) if guard else ""
        if guard and token.seen(key):
            continue
        if query.passes(row):
            text = dumps_record(row, query.selected)
            size = budget.wire_size(text)
            if not bytes_left.fits(size):
                if not out:
                    raise _too_big(query.entity, row, query.key_fields, size)
                return page.token_after(i), True
            bytes_left.add(size)
            out.append(text)
        if guard:
            token.remember(key)
        if len(out) >= want:
            return page.token_after(i + 1), True
    return page.next_token, len(out) >= want


def _log_nulled(extractor: Extractor) -> None:
    """The count of values nulled under ``on_invalid_value: null`` in this call (Athena: the NulledValues metric)."""
    stats = extractor.stats
    if stats.nulled:
        log.warning(
            "entity %s: %d invalid value(s) nulled (on_invalid_value: null): %s",
            extractor.entity.name,
            stats.nulled,
            ", ".join(f"{name}={n}" for name, n in sorted(stats.by_field.items())),
            extra={"nulled_values": stats.nulled},
        )


def _typed_id(entity: EntitySpec, field_name: str, raw: Any) -> Any:
    f = entity.field(field_name)
    try:
        value = coerce(raw, f.type)
    except CoercionError as exc:
        raise invalid_argument(f"ids: {raw!r} is not a valid value of field '{field_name}' ({exc})") from None
    if value is None:
        raise invalid_argument(f"ids: null is not a valid value of field '{field_name}'")
    return value


def retrieve(conn: Connection, request: requests.RetrieveDataRequest, deadline: Any) -> list[str]:
    entity = conn.entity(request.entity_identifier)
    selected = selected_fields(entity, request.selected_field_names)
    id_field = request.id_field_name
    if not id_field:
        if len(entity.primary_key) != 1:
            raise invalid_argument(f"entity '{entity.name}' has no single primary key; give idFieldName")
        id_field = entity.primary_key[0]
    if id_field not in entity.field_names:
        raise invalid_argument(
            f"idFieldName: entity '{entity.name}' has no field '{id_field}' (fields: {', '.join(entity.field_names)})"
        )
    ids = list(request.ids or [])
    if not ids:
        return []
    wanted = list(dict.fromkeys(_typed_id(entity, id_field, i) for i in ids))
    needed = list(dict.fromkeys([*selected, id_field]))
    extractor = Extractor(entity, needed)
    found: dict[Any, dict[str, Any]] = {}
    if entity.get_path and list(entity.primary_key) == [id_field]:
        for value in wanted:
            if deadline.remaining() < budget.MIN_PAGE_S:
                raise DeadlineExceededError(
                    f"read {len(found)} of {len(wanted)} records before the time budget ran out; ask for fewer ids",
                    entity=entity.name,
                )
            record = conn.client.get_record(entity.name, {id_field: value}, deadline)
            if record is not None:
                row = extractor.typed_row(record)
                if row.get(id_field) == value:
                    found[value] = row
    else:
        plan = conn.client.plan(entity.name, [Predicate(id_field, Op.IN, tuple(wanted))], needed)
        token: str | None = None
        wanted_set = set(wanted)
        while True:
            page = conn.client.fetch_page(plan, token, None, deadline)
            for record in page.records:
                row = extractor.typed_row(record, page.number)
                if row.get(id_field) in wanted_set:
                    found.setdefault(row[id_field], row)
            token = page.next_token
            if token is None or len(found) == len(wanted_set):
                break
            if deadline.remaining() < budget.MIN_PAGE_S:
                raise DeadlineExceededError(
                    f"found {len(found)} of {len(wanted_set)} ids before the time budget ran out; ask for fewer ids",
                    entity=entity.name,
                )
    out: list[str] = []
    bytes_left = budget.ByteBudget()
    for value in wanted:
        row = found.get(value)
        if row is None:
            continue
        text = dumps_record(row, selected)
        size = budget.wire_size(text)
        if not bytes_left.fits(size):
            raise invalid_argument(
                f"entity '{entity.name}': the records for {len(wanted)} ids exceed the "
                f"{budget.MAX_RESPONSE_BYTES}-byte response budget; ask for fewer ids"
            )
        bytes_left.add(size)
        out.append(text)
    return out


class ConnectorRecordHandler(RecordHandler):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def query_data(self, request: requests.QueryDataRequest) -> responses.QueryDataResponse:
        conn = None
        try:
            deadline = budget.current().deadline(budget.RECORD_TIME_BUDGET_S)
            ctx = request.connector_context
            conn = self.runtime.connect(ctx.credentials, ctx.connector_runtime_settings)
            entity = conn.entity(request.entity_identifier)
            selected = selected_fields(entity, request.selected_field_names)
            max_results = max_results_of(request.max_results)
            query = prepare(conn, entity, selected, request.filter_expression)
            token = QueryToken.decode(request.next_token, query_fingerprint(entity.name, request.filter_expression))
            records, next_token = run_query(conn, query, token, max_results, deadline)
            return responses.QueryDataResponse(is_success=True, records=records, next_token=next_token)
        except Exception as exc:
            self.runtime.forget_credentials(conn, exc)
            return responses.QueryDataResponse(is_success=False, error_details=to_details(exc))

    def retrieve_data(self, request: requests.RetrieveDataRequest) -> responses.RetrieveDataResponse:
        conn = None
        try:
            deadline = budget.current().deadline(budget.RECORD_TIME_BUDGET_S)
            ctx = request.connector_context
            conn = self.runtime.connect(ctx.credentials, ctx.connector_runtime_settings)
            return responses.RetrieveDataResponse(is_success=True, records=retrieve(conn, request, deadline))
        except Exception as exc:
            self.runtime.forget_credentials(conn, exc)
            return responses.RetrieveDataResponse(is_success=False, error_details=to_details(exc))

    def write_data(self, request: requests.WriteDataRequest) -> responses.WriteDataResponse:
        conn = None
        try:
            deadline = budget.current().deadline(budget.RECORD_TIME_BUDGET_S)
            ctx = request.connector_context
            spec = self.runtime.spec()
            entity = entity_of(spec, request.entity_identifier)
            if not entity.writable:
                writable = [e.name for e in spec.entities if e.writable]
                raise invalid_argument(
                    f"entity '{entity.name}' is not writable (writable entities: {', '.join(writable) or 'none'})"
                )
            conn = self.runtime.connect(ctx.credentials, ctx.connector_runtime_settings)
            response, stopped_by = write_records(conn, entity, request, deadline)
            self.runtime.forget_credentials(conn, stopped_by)
            return response
        except Exception as exc:
            self.runtime.forget_credentials(conn, exc)
            return responses.WriteDataResponse(is_success=False, error_details=to_details(exc))
