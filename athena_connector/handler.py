"""Lambda entry point: ``athena_connector.handler.lambda_handler`` serves metadata and records (one composite
function, registered as an Athena data catalog of type LAMBDA).

parse (wire) -> dispatch (behaviour) -> ``to_wire`` (ordered response dict, returned as a dict so the runtime
serializes it keeping key order). Every failure is mapped once (``errors.to_athena_error``) to an exception
whose class name and message say what went wrong and where; Athena shows both to the user. SaaS throttling
becomes ``FederationThrottleException`` so Athena backs off and retries.

We declare serde version 5 (pushdown + passthrough, no Substrait plans) and capabilities 24.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from athena_connector import capabilities, metadata, read, splits
from athena_connector.config import ConnectorConfig
from athena_connector.errors import (
    ConnectorError,
    InternalServiceException,
    OperationNotSupportedException,
    to_athena_error,
)
from athena_connector.observability import configure_shared_loggers, logger, metrics, tracer
from athena_connector.runtime import Runtime, get_runtime
from athena_connector.spill import LAMBDA_RESPONSE_LIMIT, key_factory
from athena_connector.wire import (
    CAPABILITIES,
    SERDE_VERSION,
    FederationThrottleException,
    GetDataSourceCapabilitiesRequest,
    GetDataSourceCapabilitiesResponse,
    GetSplitsRequest,
    GetTableLayoutRequest,
    GetTableRequest,
    ListSchemasRequest,
    ListTablesRequest,
    PingRequest,
    PingResponse,
    ReadRecordsRequest,
    Request,
    Response,
    UserDefinedFunctionRequest,
    WireError,
    parse_request,
    to_wire,
)
from shared import aws
from shared.coldstart import imports_done
from shared.deadline import Deadline
from shared.errors import SaaSConnectorError
from shared.splits import FIELD, HIGH, KIND, LOW, PARENTS, PARTITION_FIELD, PARTITION_VALUE

SOURCE_TYPE = "saas_connectors"
METADATA_MARGIN_S = 1.0
AWS_CALL_MARGIN_S = 0.25  # AWS calls (spill PUTs and deletes, KMS, Secrets Manager, an S3 spec) end this long
AWS_MARGIN_SHARE = 0.05  # before the Lambda does, and at most this share of the time the invocation started with
MAX_MARGIN_SHARE = 0.2


def _split_label(properties: dict[str, str]) -> str:
    kind = properties.get(KIND)
    label = "whole table"
    if kind == "parent":
        try:
            count = len(json.loads(properties.get(PARENTS) or "[]"))
        except (ValueError, TypeError, RecursionError):  # a forged split: the read refuses it with the reason
            count = -1
        label = f"{count} parent keys"
    elif kind:
        label = f"{properties.get(FIELD)} [{properties.get(LOW) or '-inf'}, {properties.get(HIGH) or '+inf'}]"
    partition = properties.get(PARTITION_FIELD)
    if partition:
        value = properties.get(PARTITION_VALUE)
        where = f"{partition} = {value!r}" if value is not None else f"{partition} any other value or null"
        label = f"partition {where}" if not kind else f"{label}, partition {where}"
    return label


def describe(request: Request) -> str:
    """Where a request is, for error messages: ``ReadRecordsRequest demo_crm.contacts (split ...)``."""
    text = request.WIRE_TYPE
    table = getattr(request, "table_name", None)
    if table is not None:
        text += f" {table.schema_name}.{table.table_name}"
    elif isinstance(request, ListTablesRequest):
        text += f" {request.schema_name}"
    if isinstance(request, ReadRecordsRequest):
        text += f" (split {_split_label(dict(request.split.properties))})"
    return text


def _config(runtime: Runtime, request: Request) -> ConnectorConfig:
    identity = getattr(request, "identity", None)
    options = identity.config_options if identity is not None else {}
    return runtime.config.with_config_options(options) if options else runtime.config


def _count(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def dispatch(request: Request, context: Any) -> Response:
    if isinstance(request, PingRequest):
        return PingResponse(request.catalog_name, request.query_id, SOURCE_TYPE, CAPABILITIES, SERDE_VERSION)
    if isinstance(request, UserDefinedFunctionRequest):
        raise OperationNotSupportedException("this connector defines no user-defined functions")
    runtime = get_runtime()
    config = _config(runtime, request)
    if isinstance(request, ListSchemasRequest):
        return metadata.list_schemas(runtime, request)
    if isinstance(request, ListTablesRequest):
        return metadata.list_tables(runtime, request)
    if isinstance(request, GetTableRequest):
        return metadata.get_table(runtime, request)
    if isinstance(request, GetTableLayoutRequest):
        return metadata.get_table_layout(runtime, request)
    if isinstance(request, GetDataSourceCapabilitiesRequest):
        return GetDataSourceCapabilitiesResponse(request.catalog_name, capabilities.capabilities(config))
    if isinstance(request, GetSplitsRequest):
        deadline = Deadline.from_lambda_context(context, METADATA_MARGIN_S)
        with tracer.provider.in_subsegment("## get_splits"):
            response = splits.get_splits(runtime, request, key_factory(config), deadline, config)
        _count("Splits", len(response.splits))
        return response
    if isinstance(request, ReadRecordsRequest):
        deadline = Deadline.from_lambda_context(context, _read_margin(context, config))
        with tracer.provider.in_subsegment("## read_records"):
            response, stats = read.read_records(runtime, request, deadline=deadline, config=config)
        _record_read(stats)
        return response
    raise OperationNotSupportedException(f"unsupported request {request.WIRE_TYPE}")  # pragma: no cover


def _read_margin(context: Any, config: ConnectorConfig) -> float:
    """Seconds kept in reserve to finish a response: the configured margin, but never more than a fifth of the
    time this invocation started with (a short Lambda timeout must still leave time to read)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return config.deadline_margin_s
    return min(config.deadline_margin_s, getter() / 1000.0 * MAX_MARGIN_SHARE)


def _aws_deadline(context: Any) -> Deadline:
    """Until when AWS calls may run: the Lambda's end less a small reserve to send the typed error back. A read's own
    margin (``deadline_margin_seconds``) is the time kept for finishing the response, final spill PUTs and the
    deletion of a failed read's blocks included, so it is not taken off here."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if getter is None:
        return Deadline.none()
    return Deadline.from_lambda_context(context, min(AWS_CALL_MARGIN_S, getter() / 1000.0 * AWS_MARGIN_SHARE))


def _record_read(stats: read.ReadStats) -> None:
    _count("Rows", stats.rows)
    _count("RowsRead", stats.rows_read)
    _count("Pages", stats.pages)
    _count("ApiRequests", stats.transport.requests)
    _count("ApiRetries", stats.transport.retries)
    _count("ApiThrottled", stats.transport.throttled)
    _count("ApiBytes", stats.transport.bytes, MetricUnit.Bytes)
    _count("InlineBytes", stats.inline_bytes, MetricUnit.Bytes)
    _count("SpilledBytes", stats.spilled_bytes, MetricUnit.Bytes)
    _count("SpilledBlocks", stats.spilled_blocks)
    if stats.nulled_values:
        _count("NulledValues", stats.nulled_values)
    if stats.duplicates_dropped:
        _count("DuplicatesDropped", stats.duplicates_dropped)
    if stats.pushdown_rejected:
        _count("PushdownRejected", 1)
    logger.info(
        "split read",
        extra={
            "rows": stats.rows,
            "rows_read": stats.rows_read,
            "pages": stats.pages,
            "api_requests": stats.transport.requests,
            "retries": stats.transport.retries,
            "throttled": stats.transport.throttled,
            "inline_bytes": stats.inline_bytes,
            "spilled_bytes": stats.spilled_bytes,
            "spilled_blocks": stats.spilled_blocks,
            "limit_reached": stats.limit_reached,
            "nulled_values": stats.nulled_values,
            "duplicates_dropped": stats.duplicates_dropped,
        },
    )


def _response_size(out: dict[str, Any]) -> int:
    """Bytes of ``json.dumps(out)``; an inline block's base64 (up to 6 MB, never escaped) is counted by its
    length instead of being serialized twice."""
    block = out.get("records")
    if isinstance(block, dict) and isinstance(block.get("records"), str) and len(block["records"]) > 4096:
        rows = block["records"]
        return len(json.dumps({**out, "records": {**block, "records": ""}})) + len(rows)
    return len(json.dumps(out))


def _check_size(out: dict[str, Any], where: str) -> None:
    size = _response_size(out)
    if size > LAMBDA_RESPONSE_LIMIT:
        raise InternalServiceException(f"{where}: the response would be {size} bytes, over Lambda's 6 MB limit")


def lambda_handler(event: Any, context: Any = None) -> dict[str, Any]:
    """Serve one Athena federation request (the invoke payload) and return the response dict.

    ``context`` is the Lambda context (its remaining time bounds retries and reading); None runs unbounded.
    """
    return _serve(event, context)


@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def _serve(event: Any, context: Any) -> dict[str, Any]:
    configure_shared_loggers()
    # Per-thread keys (a ContextVar): invocations served in parallel threads in one process (the local runner's
    # workers) each label their own lines; in Lambda there is one invocation per process and it is the same.
    logger.thread_safe_clear_keys()
    started = time.perf_counter()
    _count("Requests", 1)
    where = ""
    try:
        request = parse_request(event)
        where = describe(request)
        logger.thread_safe_append_keys(
            query_id=getattr(request, "query_id", None),
            request_type=request.WIRE_TYPE,
            catalog=getattr(request, "catalog_name", None),
        )
        if getattr(request, "table_name", None) is not None:
            logger.thread_safe_append_keys(table=f"{request.table_name.schema_name}.{request.table_name.table_name}")  # type: ignore[union-attr]
        if isinstance(request, ReadRecordsRequest):
            logger.thread_safe_append_keys(split=_split_label(dict(request.split.properties)))
        with aws.deadline_scope(_aws_deadline(context)):
            response = dispatch(request, context)
        out = to_wire(response, SERDE_VERSION)
        _check_size(out, where)  # every answer, zero rows too: echoed names can be as big as the rows
    except Exception as exc:
        error = to_athena_error(exc, where)
        if isinstance(error, FederationThrottleException):
            _count("Throttles", 1)
            logger.warning("throttled: %s", error)
        else:
            _count("Errors", 1)
            logger.error("request failed: %s", error, exc_info=not _is_expected(exc))
        if error is exc:
            raise
        raise error from exc
    logger.info("done", extra={"elapsed_ms": round((time.perf_counter() - started) * 1000, 1)})
    return out


def _is_expected(exc: BaseException) -> bool:
    """Errors that are the caller's or the SaaS API's, whose traceback would only add noise."""
    return isinstance(exc, ConnectorError | WireError | SaaSConnectorError)


imports_done()  # last: everything this module needs is imported
