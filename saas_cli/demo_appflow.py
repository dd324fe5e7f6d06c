"""The demo's AppFlow part: a flow for contacts (full, then incremental after the API changes some records)
landing Parquet in S3; the landed data read back with pandas as a SageMaker notebook would; and model scores
written back through the connector's destination path."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saas_cli.appflow_calls import AppFlowCalls, Connection
from saas_cli.flow_runner import FlowRunOptions, FlowRunResult, parse_instant, run_flow
from saas_cli.flow_state import StateFile
from saas_cli.invoker import APPFLOW_HANDLER, InProcessInvoker
from saas_cli.output import Progress
from saas_cli.parquet_landing import read_landed
from saas_cli.write_back import WriteResult, write_back

ENTITY = "contacts"
FLOW_NAME = "demo-contacts-to-s3"
CHANGED = 25
WRITE_BACK = 40


def appflow_calls(secret_arn: str) -> AppFlowCalls:
    invoker = InProcessInvoker(APPFLOW_HANDLER, function_name="appflow-saas")
    return AppFlowCalls(invoker, Connection(secret_arn=secret_arn, auth_type="ApiKey"))


@dataclass
class FlowCheck:
    full: FlowRunResult
    incremental: FlowRunResult
    full_ok: bool
    incremental_ok: bool
    changed_ids: set[int]
    state_file: Path


def _ids(location: str) -> list[int]:
    frame = read_landed(location)
    return [] if frame.empty else [int(i) for i in frame["id"]]


def run_flows(env: Any, bar: Progress) -> FlowCheck:
    server = env.server
    state = StateFile(Path(env.workdir) / "flows.json")
    calls = appflow_calls(env.appflow_secret_arn)
    source_ids = sorted(r["id"] for r in server.store.all_records(ENTITY))
    options = FlowRunOptions(
        ENTITY, FLOW_NAME, env.landing, mode="full", now=parse_instant(server.store.clock.now_iso())
    )
    full = run_flow(calls, state, options, bar.update)
    full_ok = sorted(_ids(full.location)) == source_ids and full.records == len(source_ids)

    changed = {int(r["id"]) for r in server.mutate(ENTITY, count=CHANGED)}  # stamped by the API's clock
    options = FlowRunOptions(
        ENTITY, FLOW_NAME, env.landing, mode="auto", now=parse_instant(server.store.clock.now_iso())
    )
    incremental = run_flow(calls, state, options, bar.update)
    landed = _ids(incremental.location)
    incremental_ok = incremental.mode == "incremental" and sorted(landed) == sorted(changed)
    return FlowCheck(full, incremental, full_ok, incremental_ok, changed, state.path)


@dataclass
class NotebookCheck:
    rows: int
    columns: int
    by_status: dict[str, int]
    mean_score: float
    latest: str
    ok: bool
    frame: Any


def read_like_a_notebook(env: Any) -> NotebookCheck:
    """What a SageMaker notebook does with the landed files: pandas over every part of every execution,
    keeping each record's newest version."""
    frame = read_landed(f"{env.landing}/{FLOW_NAME}")
    current = frame.sort_values("updated_at").drop_duplicates("id", keep="last").set_index("id").sort_index()
    source = {r["id"]: r for r in env.server.store.all_records(ENTITY)}
    scores_match = all(
        (source[i]["score"] is None and math.isnan(v)) or abs(float(source[i]["score"]) - float(v)) < 1e-9
        for i, v in current["score"].items()
    )
    ok = len(current) == len(source) and set(current.index) == set(source) and scores_match
    return NotebookCheck(
        rows=len(current),
        columns=len(current.columns) + 1,
        by_status={str(k): int(v) for k, v in current["status"].value_counts().sort_index().items()},
        mean_score=float(current["score"].mean()),
        latest=str(current["updated_at"].max()),
        ok=ok,
        frame=current,
    )


@dataclass
class WriteCheck:
    result: WriteResult
    records: int
    ok: bool


def write_scores_back(env: Any, notebook: NotebookCheck) -> WriteCheck:
    """A "model" scores the customers and leads; the scores go back to the CRM through the connector."""
    frame = notebook.frame
    candidates = frame[frame["status"].isin(["lead", "customer"])].head(WRITE_BACK)
    records = [
        {"id": int(i), "score": round(min(100.0, float(s or 0) * 0.9 + 10.0), 1)}
        for i, s in candidates["score"].items()
    ]
    calls = appflow_calls(env.appflow_secret_arn)
    result = write_back(calls, ENTITY, "UPDATE", records, id_fields=["id"])
    ok = not result.failed and all(
        abs(float(env.server.store.get(ENTITY, r["id"])["score"]) - r["score"]) < 1e-9 for r in records
    )
    return WriteCheck(result, len(records), ok)
