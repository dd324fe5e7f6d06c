"""Drive both connectors through their Lambda entry points against the demo API, and say what the source holds.

* :class:`Athena` runs the whole sequence Athena runs for a SELECT (the connector test harness: JSON events built
  with the wire layer, spilled blocks read back from moto's S3 and decrypted) and returns either the rows or
  the typed error the handler raised.
* :class:`AppFlowRun` pages QueryData through ``appflow_connector.handler.lambda_handler`` until ``nextToken`` is
  null, and returns either every record or the first failure's ``errorDetails``.

A fast spec (the demo spec with short timeouts, tiny retry waits, no client-side rate limit and small pages) is
written once per session, so faults cost milliseconds instead of the demo spec's seconds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from appflow_connector import handler as appflow_handler
from appflow_connector.record_json import dumps_record
from shared.records import Extractor
from shared.spec import load_spec
from shared.spec.model import EntitySpec, SourceSpec
from tests.athena.connector.harness import Connector, by_id, expected_rows, result_rows

# Test secrets: distinctive, so a scan of every log line and message can find them.
API_KEY = "rel-api-key-7Qz9XkLm2Pw4"
CLIENT_ID = "rel-client-id"
CLIENT_SECRET = "rel-client-secret-Hv8Tn3Rb6Yc1"
ROWS = {"accounts": 45, "contacts": 50, "deals": 45}
PAGE_SIZE = 16
READ_TIMEOUT_S = 1.0
SLOW_S = 1.6  # beyond the read timeout
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:appflow!111122223333-rel-profile-AbCdEf"


def fast_spec_data(**api_overrides: Any) -> dict[str, Any]:
    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    api = data["api"]
    api.pop("rate_limit", None)
    api["timeout_s"] = {"connect": 2, "read": READ_TIMEOUT_S}
    api["retry"] = {
        "max_attempts": 4,
        "base_delay_s": 0.01,
        "max_delay_s": 0.05,
        "retry_after_cap_s": 0.2,
        "on_status": [429, 500, 502, 503, 504],
    }
    api["pagination"]["page_size"] = PAGE_SIZE
    for entity in data["entities"]:
        if "pagination" in entity:
            entity["pagination"]["page_size"] = PAGE_SIZE
        # No count probes while planning: the faults here are placed by request number within the read.
        entity.pop("count", None)
    api.update(api_overrides)
    return data


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_invalid_policy(data: dict[str, Any], policy: str) -> dict[str, Any]:
    out = json.loads(json.dumps(data))
    for entity in out["entities"]:
        entity["on_invalid_value"] = policy
    return out


# ------------------------------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """What one connector delivered for one read: rows (by id) or a typed error."""

    connector: str
    rows: list[dict[str, Any]] | None = None
    error_type: str | None = None
    message: str = ""
    calls: int = 0
    partial: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_type is None

    def ids(self) -> list[Any]:
        assert self.rows is not None
        return [r["id"] for r in self.rows]


class Athena:
    """The Athena connector over the demo API (a :class:`Connector` from the connector test harness)."""

    def __init__(self, connector: Connector, spec: SourceSpec) -> None:
        self.c = connector
        self.spec = spec

    def read(self, entity: str, columns: Sequence[str] | None = None, **kwargs: Any) -> Outcome:
        try:
            result = self.c.query(entity, columns, **kwargs)
        except Exception as exc:  # the handler raises typed errors: that is how Lambda reports them
            return Outcome("athena", error_type=type(exc).__name__.rsplit(".", 1)[-1], message=str(exc))
        return Outcome("athena", rows=by_id(result_rows(result.table)))

    def expected(self, entity: str, records: list[dict[str, Any]], columns: Sequence[str] | None = None) -> list:
        spec = self.spec.entity(entity)
        return by_id(expected_rows(spec, records, list(columns or spec.field_names)))


class AppFlowContext:
    aws_request_id = "rel-request"

    def __init__(self, budget_s: float = 30.0) -> None:
        self.end = time.monotonic() + budget_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


class AppFlowRun:
    """QueryData paged through the AppFlow Lambda entry point, as a flow run does."""

    def __init__(self, spec: SourceSpec, settings: dict[str, str] | None = None) -> None:
        self.spec = spec
        self.settings = dict(settings or {})

    def event(self, entity: str, **kwargs: Any) -> dict[str, Any]:
        return {
            "type": "QueryDataRequest",
            "entityIdentifier": entity,
            "connectorContext": {
                "apiVersion": "v1",
                "connectorRuntimeSettings": self.settings,
                "credentials": {"secretArn": SECRET_ARN, "authenticationType": "ApiKey"},
            },
            "selectedFieldNames": kwargs.get("fields"),
            "filterExpression": kwargs.get("filter_expression"),
            "maxResults": kwargs.get("max_results", 25),
            "nextToken": kwargs.get("token"),
        }

    def call(self, event: dict[str, Any], budget_s: float = 30.0) -> dict[str, Any]:
        wire = json.loads(json.dumps(event))
        response = appflow_handler.lambda_handler(wire, AppFlowContext(budget_s))
        return json.loads(json.dumps(response))

    def read(
        self,
        entity: str,
        *,
        max_results: int | None = 25,
        filter_expression: str | None = None,
        fields: list[str] | None = None,
        budget_s: float = 30.0,
        between: Callable[[int], None] | None = None,
        max_calls: int = 2000,
    ) -> Outcome:
        out = Outcome("appflow", rows=[])
        token = None
        for call in range(max_calls):
            response = self.call(
                self.event(
                    entity, fields=fields, filter_expression=filter_expression, max_results=max_results, token=token
                ),
                budget_s,
            )
            out.calls += 1
            if not response["isSuccess"]:
                details = response["errorDetails"]
                out.partial = out.rows or []
                out.rows = None
                out.error_type = details["errorCode"]
                out.message = details["errorMessage"]
                return out
            assert out.rows is not None
            out.rows.extend(json.loads(r) for r in response["records"])
            new_token = response["nextToken"]
            if new_token is None:
                out.rows.sort(key=lambda r: r["id"])
                return out
            assert new_token != token, "the same nextToken twice: no progress"
            token = new_token
            if between is not None:
                between(call)
        raise AssertionError(f"no end after {max_calls} QueryData calls")

    def expected(self, entity: str, records: list[dict[str, Any]], fields: list[str] | None = None) -> list:
        spec: EntitySpec = self.spec.entity(entity)
        names = fields or list(spec.field_names)
        extractor = Extractor(spec, names)
        rows = [json.loads(dumps_record(extractor.typed_row(r), names)) for r in records]
        return sorted(rows, key=lambda r: r["id"])


def table_rows(table: pa.Table) -> list[dict[str, Any]]:
    return by_id(result_rows(table))


def load(path: Path) -> SourceSpec:
    return load_spec(str(path))
