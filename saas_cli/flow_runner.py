"""One AppFlow-style flow run: the calls AppFlow makes (describe the connector, validate the flow's source
settings, describe the entity), then QueryData page after page until ``nextToken`` is null, landing Parquet.

* full: no filter (an on-demand run);
* incremental: the window ``<field> between <watermark> and <now>`` on the entity's incremental field
  (the one DescribeEntity marks ``isTimestampFieldForIncrementalQueries``), as a scheduled run sends it; the
  connector reads it as ``[watermark, now)``, so consecutive windows neither overlap nor leave gaps.

``now`` is the end of the window (AppFlow's clock; pass the source's clock when it differs). After a
successful run the watermark becomes ``now``; a failed run leaves it where it was, so the next run repeats
the window (at-least-once, as AppFlow).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from saas_cli.appflow_calls import AppFlowCalls
from saas_cli.errors import CliError, ProtocolError
from saas_cli.flow_state import FlowState, StateFile
from saas_cli.parquet_landing import LandedFile, Landing, landing_schema, records_table

DEFAULT_PAGE_SIZE = 1000
DEFAULT_FILE_RECORDS = 100_000
MAX_PAGES = 1_000_000
MODES = ("auto", "full", "incremental")


def format_instant(value: dt.datetime) -> str:
    """The DateTime literal the filter grammar accepts: ``YYYY-MM-DDThh:mm:ss(.fff)Z``."""
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return text + "Z"


def parse_instant(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"'{text}' is not an ISO-8601 timestamp (e.g. 2025-07-01T00:00:00Z)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass
class FlowRunOptions:
    entity: str
    flow_name: str
    destination: str
    mode: str = "auto"
    now: dt.datetime | None = None
    since: dt.datetime | None = None
    fields: list[str] | None = None
    filter_expression: str | None = None
    page_size: int | None = DEFAULT_PAGE_SIZE
    file_records: int = DEFAULT_FILE_RECORDS


@dataclass
class FlowRunResult:
    flow_name: str
    entity: str
    execution_id: str
    mode: str
    filter_expression: str | None
    window: tuple[str | None, str]
    records: int = 0
    pages: int = 0
    response_bytes: int = 0
    seconds: float = 0.0
    files: list[LandedFile] = field(default_factory=list)
    location: str = ""

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


Progress = Callable[[str, int, int | None], None]


def incremental_field(definition: dict[str, Any]) -> str | None:
    for f in definition["fields"]:
        if (f.get("readProperties") or {}).get("isTimestampFieldForIncrementalQueries"):
            return str(f["fieldName"])
    return None


def _combine(*parts: str | None) -> str | None:
    present = [p for p in parts if p]
    if not present:
        return None
    return " and ".join(f"({p})" if len(present) > 1 else p for p in present)


def run_flow(
    calls: AppFlowCalls, state_file: StateFile, options: FlowRunOptions, progress: Progress | None = None
) -> FlowRunResult:
    started = time.perf_counter()
    now = options.now or dt.datetime.now(dt.UTC)
    execution_id = str(uuid.uuid4())
    calls.connection.flow_name = options.flow_name
    calls.connection.execution_id = execution_id

    config = calls.describe_connector()
    if "SOURCE" not in (config.get("connectorModes") or []):
        raise CliError("the connector does not declare the SOURCE mode: it cannot be a flow's source")
    if calls.connection.flow_settings:
        calls.validate_settings("SOURCE", calls.connection.flow_settings)
    definition = calls.describe_entity(options.entity)

    state = state_file.get(options.flow_name)
    if state is not None and state.entity != options.entity:
        raise CliError(
            f"flow '{options.flow_name}' reads '{state.entity}', not '{options.entity}'",
            hint="choose another --flow-name",
        )
    inc_field = incremental_field(definition)
    mode, low = _mode(options, state, inc_field)
    window_filter = None
    if mode == "incremental":
        window_filter = f"{inc_field} between {format_instant(low)} and {format_instant(now)}"  # type: ignore[arg-type]
    expression = _combine(options.filter_expression, window_filter)

    schema = landing_schema(definition, options.fields)
    landing = Landing(options.destination, options.flow_name, execution_id)
    result = FlowRunResult(
        options.flow_name,
        options.entity,
        execution_id,
        mode,
        expression,
        (format_instant(low) if low else None, format_instant(now)),
        location=landing.location,
    )
    pending: list[str] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        records, next_token = calls.query_page(
            options.entity,
            fields=options.fields or [f["fieldName"] for f in definition["fields"]],
            filter_expression=expression,
            max_results=options.page_size,
            token=token,
        )
        result.pages += 1
        result.records += len(records)
        result.response_bytes += sum(len(r) for r in records)
        pending += records
        if progress:
            progress(f"QueryData {options.entity}", result.records, None)
        if len(pending) >= options.file_records:
            landing.write_part(records_table(pending, schema))
            pending = []
        if next_token is None:
            break
        if next_token == token:
            raise ProtocolError("QueryData returned the same nextToken twice: no progress")
        token = next_token
    else:
        raise ProtocolError(f"QueryData did not finish after {MAX_PAGES} pages")
    if pending:
        landing.write_part(records_table(pending, schema))
    result.files = list(landing.files)
    result.seconds = time.perf_counter() - started

    new_state = state or FlowState(options.entity)
    new_state.incremental_field = inc_field
    new_state.watermark = format_instant(now)
    new_state.runs.append(
        {
            "execution_id": execution_id,
            "mode": mode,
            "window": list(result.window),
            "records": result.records,
            "pages": result.pages,
            "files": [f.uri for f in result.files],
            "finished": format_instant(dt.datetime.now(dt.UTC)),
        }
    )
    state_file.put(options.flow_name, new_state)
    return result


def _mode(options: FlowRunOptions, state: FlowState | None, inc_field: str | None) -> tuple[str, dt.datetime | None]:
    watermark = options.since or (parse_instant(state.watermark) if state and state.watermark else None)
    mode = options.mode
    if mode == "auto":
        mode = "incremental" if watermark is not None and inc_field else "full"
    if mode == "incremental":
        if inc_field is None:
            raise CliError(
                f"entity '{options.entity}' has no incremental field (DescribeEntity marks none "
                "isTimestampFieldForIncrementalQueries); run it full"
            )
        if watermark is None:
            raise CliError(
                f"flow '{options.flow_name}' has no watermark yet: run it full first, or pass --since",
            )
    return mode, watermark if mode == "incremental" else None
