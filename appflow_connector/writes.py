"""WriteData: INSERT / UPDATE / UPSERT / DELETE as the spec's ``write`` block allows, one result per record.

Each record is checked against the entity (known, writable fields; values of the declared type; the
primary key present for UPDATE/UPSERT) and then sent with ``SaaSClient.write``. A bad record fails alone
and the others are still written; the response is ``isSuccess: false`` with ``PartialWriteFailure`` when
some failed. Errors that concern every record (credentials refused, rate limited, time budget spent)
stop the batch: the records not attempted are reported as such, so AppFlow can send them again.

``allOrNone``: nothing is sent if any record is invalid, and the batch stops at the first failure. The
API has no transactions, so records written before that failure stay written (the message says so).

DELETE (offered when the spec declares ``write.delete``) needs only the primary key of each record; other
declared fields in the record are ignored, since a delete sends no body. An API answering 404 fails that
record ("no such record"), so a mistyped id is never reported as deleted.

The destination setting ``write_concurrency`` sends that many records to the API at the same time (in
waves; results stay in the records' order). A wave finishes before an error that stops the batch takes
effect, so at most ``write_concurrency - 1`` records after it are still written. ``allOrNone`` writes one
at a time whatever the setting, so that it stops at the first failure.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from appflow_connector import budget
from appflow_connector.errors import clean_message, code_for, details, invalid_argument
from appflow_connector.runtime import Connection
from appflow_connector.sdk import ErrorCode, WriteOperationType, WriteRecordResult, requests, responses
from shared.errors import (
    DeadlineExceededError,
    SaaSAuthError,
    SaaSConnectorError,
    SaaSRateLimitedError,
)
from shared.records import Extractor
from shared.spec.model import EntitySpec
from shared.values import CoercionError, coerce, to_jsonable

SPEC_OPS = {
    WriteOperationType.INSERT: "create",
    WriteOperationType.UPDATE: "update",
    WriteOperationType.UPSERT: "upsert",
    WriteOperationType.DELETE: "delete",
}
APPFLOW_OPS = {v: k for k, v in SPEC_OPS.items()}
STOP_BATCH = (SaaSAuthError, SaaSRateLimitedError, DeadlineExceededError)


@dataclass
class Prepared:
    body: dict[str, Any] | None
    record_id: str | None
    error: str | None = None


def _key_text(values: list[Any]) -> str | None:
    if not values or any(v is None for v in values):
        return None
    return "|".join(str(v) for v in values)


def prepare_record(entity: EntitySpec, op: str, index: int, raw: Any) -> Prepared:
    where = f"record {index}"
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return Prepared(None, None, f"{where} is not valid JSON")
    except RecursionError:
        return Prepared(None, None, f"{where} nests JSON too deeply to read")
    if not isinstance(data, dict):
        return Prepared(None, None, f"{where} is not a JSON object")
    keys = list(entity.primary_key)
    key_fields = set(keys) if op in ("update", "upsert", "delete") else set()
    body: dict[str, Any] = {}
    for name, value in data.items():
        if name not in entity.field_names:
            return Prepared(None, None, f"{where}: entity '{entity.name}' has no field '{name}'")
        if op == "delete" and name not in key_fields:
            continue  # a delete sends only the key
        f = entity.field(name)
        if not f.writable and name not in key_fields:
            return Prepared(None, None, f"{where}: field '{name}' of entity '{entity.name}' is not writable")
        if f.type.kind == "json":
            typed: Any = value
        else:
            try:
                typed = coerce(value, f.type)
            except CoercionError as exc:
                return Prepared(None, None, f"{where}: field '{name}': {exc}")
        if typed is None and not f.nullable:
            return Prepared(None, None, f"{where}: field '{name}' must not be null")
        target = body
        parts = f.path.split(".")
        if "[" in f.path or not all(parts):
            return Prepared(None, None, f"{where}: field '{name}' cannot be written (path '{f.path}')")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                return Prepared(None, None, f"{where}: field '{name}' conflicts with another field")
        target[parts[-1]] = to_jsonable(typed) if f.type.kind != "json" else typed
    record_id = _key_text([data.get(k) for k in keys])
    if key_fields and record_id is None:
        return Prepared(None, None, f"{where}: {op} needs the primary key ({', '.join(keys)})")
    return Prepared(body, record_id)


def _check_operation(entity: EntitySpec, request: requests.WriteDataRequest) -> str:
    supported = [APPFLOW_OPS[op].name for op in ("create", "update", "upsert", "delete") if op in entity.writes]
    if request.operation is None:
        raise invalid_argument(f"operation is missing (entity '{entity.name}' supports {', '.join(supported)})")
    op = SPEC_OPS.get(request.operation)
    if op is None or op not in entity.writes:
        raise invalid_argument(
            f"entity '{entity.name}' does not support {request.operation.name} (supported: {', '.join(supported)})"
        )
    ids = request.id_field_names
    if op in ("update", "upsert", "delete") and ids and set(ids) != set(entity.primary_key):
        raise invalid_argument(
            f"idFieldNames {list(ids)}: entity '{entity.name}' can only be matched by its primary key "
            f"({', '.join(entity.primary_key)})"
        )
    return op


def write_records(
    conn: Connection, entity: EntitySpec, request: requests.WriteDataRequest, deadline: Any
) -> tuple[responses.WriteDataResponse, BaseException | None]:
    """The response, and the error that stopped the batch (if one did)."""
    op = _check_operation(entity, request)
    raw_records = request.records or []
    if not isinstance(raw_records, list):
        raise invalid_argument("records must be a list of JSON strings")
    prepared = [prepare_record(entity, op, i, raw) for i, raw in enumerate(raw_records)]
    results: list[WriteRecordResult | None] = [None] * len(prepared)
    all_or_none = bool(request.all_or_none)
    stop_error: BaseException | None = None
    first_api_error: BaseException | None = None
    invalid = [i for i, p in enumerate(prepared) if p.error]
    if all_or_none and invalid:
        for i, p in enumerate(prepared):
            message = p.error or f"not written: allOrNone is set and record {invalid[0]} is invalid"
            results[i] = WriteRecordResult(False, p.record_id, clean_message(message))
    else:
        key_reader = Extractor(entity, list(entity.primary_key)) if entity.primary_key else None
        for i, p in enumerate(prepared):
            if p.error is not None:
                results[i] = WriteRecordResult(False, None, clean_message(p.error))
        pending = [i for i, p in enumerate(prepared) if p.error is None]
        width = 1 if all_or_none else max(1, conn.settings.write_concurrency)
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="write") as pool:
            for start in range(0, len(pending), width):
                wave = pending[start : start + width]
                if stop_error is None and deadline.remaining() < budget.MIN_PAGE_S:
                    stop_error = DeadlineExceededError("the time budget of this call ran out", entity=entity.name)
                if stop_error is not None:
                    for i in wave:
                        why = clean_message(f"not attempted: {_why_stopped(stop_error)}")
                        results[i] = WriteRecordResult(False, prepared[i].record_id, why)
                    continue
                futures = [pool.submit(_send, conn, entity, op, prepared[i], deadline) for i in wave]
                for i, future in zip(wave, futures, strict=True):
                    p = prepared[i]
                    try:
                        answer = future.result()
                    except SaaSConnectorError as exc:
                        first_api_error = first_api_error or exc
                        message = clean_message(f"record {i}: {_say(op, exc)}")
                        results[i] = WriteRecordResult(False, p.record_id, message)
                        if isinstance(exc, STOP_BATCH) or all_or_none:
                            stop_error = stop_error or exc
                        continue
                    record_id = p.record_id
                    if isinstance(answer, dict) and key_reader is not None and op != "delete":
                        record_id = _key_text(list(key_reader.raw_row(answer).values())) or record_id
                    results[i] = WriteRecordResult(True, record_id, None)
    final = [r for r in results if r is not None]
    failed = [r for r in final if not r.is_success]
    if not failed:
        return responses.WriteDataResponse(is_success=True, write_record_results=final), None
    succeeded = len(final) - len(failed)
    if succeeded:
        code = ErrorCode.PartialWriteFailure
    elif stop_error is not None or first_api_error is not None:
        code = code_for(stop_error or first_api_error)  # type: ignore[arg-type]
    else:
        code = ErrorCode.InvalidArgument
    message = (
        f"entity '{entity.name}': {len(failed)} of {len(final)} records were not written; "
        f"first failure: {failed[0].error_message}"
    )
    if all_or_none and succeeded:
        message += f" ({succeeded} records written before the failure stay written: the API has no transactions)"
    response = responses.WriteDataResponse(
        is_success=False, error_details=details(code, message), write_record_results=final
    )
    return response, stop_error


def _send(conn: Connection, entity: EntitySpec, op: str, p: Prepared, deadline: Any) -> dict[str, Any] | None:
    """One record to the API (for a delete, ``body`` holds only the key, which names it in the path)."""
    assert p.body is not None
    return conn.client.write(entity.name, op, p.body, deadline)


def _say(op: str, exc: SaaSConnectorError) -> str:
    if op == "delete" and getattr(exc, "status", None) == 404:
        return f"no such record (the API answered 404): {exc}"
    return str(exc)


def _why_stopped(exc: BaseException) -> str:
    if isinstance(exc, SaaSAuthError):
        return "the API refused the credentials"
    if isinstance(exc, SaaSRateLimitedError):
        return "the API is rate limiting; send the record again later"
    if isinstance(exc, DeadlineExceededError):
        return "the time budget of this call ran out; send the record again"
    return f"allOrNone is set and an earlier record failed ({exc})"
