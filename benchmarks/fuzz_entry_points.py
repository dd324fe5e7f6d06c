"""Fuzz both Lambda entry points with mutated protocol vectors; every case must end in a clear error, quickly.

Seeds: every request vector in ``tests/fixtures/athena-vectors`` and ``tests/fixtures/appflow-vectors`` plus
valid events for the demo tables (so mutations also reach metadata, splits, reads and writes). Mutations: dropped
keys, wrong types, bad base64, unknown ``@type``/``type``, huge strings, deep nesting, extreme numbers, unknown
keys, control characters, and planted secrets. Each case is one ``lambda_handler`` call, in this process, and
must:

* answer or fail with a typed error: Athena raises one of the connector's error classes (never "unexpected ..."),
  AppFlow returns ``isSuccess: false`` with an error code other than ``UnknownError`` (it never raises);
* finish within ``--case-timeout`` seconds (a SIGALRM watchdog counts a hang);
* keep the process alive (a ``BaseException`` that is not an ``Exception`` is a crash);
* not show a test secret in its error message or in any log line, and keep messages short.

Run from the repository root::

    python benchmarks/fuzz_entry_points.py --cases 20000 --write-docs

It starts a demo API and moto's S3 on loopback, prints counts and timing, and (``--write-docs``) writes the counts
into docs/reliability.md between the ``fuzz:begin``/``fuzz:end`` markers. ``tests/reliability/test_fuzz.py`` runs
a few hundred cases of the same engine in CI.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import io
import json
import logging
import math
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.doc_blocks import last_run, replace_block  # noqa: E402

VECTORS = REPO / "tests" / "fixtures"
ATHENA_VECTORS = VECTORS / "athena-vectors"
APPFLOW_VECTORS = VECTORS / "appflow-vectors"
DOC = REPO / "docs" / "reliability.md"
API_KEY = "fuzz-api-key-Zr7Wq2Lx9Vb5"
CLIENT_SECRET = "fuzz-client-secret-Pe4Kd8Mn1Sa3"
SECRETS = (API_KEY, CLIENT_SECRET)
MAX_MESSAGE_CHARS = 4096
ATHENA_ERRORS = {
    "InvalidInputException",
    "EntityNotFoundException",
    "InvalidCredentialsException",
    "InvalidResponseException",
    "OperationTimeoutException",
    "OperationNotSupportedException",
    "InternalServiceException",
    "FederationThrottleException",
}
MUTATIONS = (
    "drop_key",
    "wrong_type",
    "bad_base64",
    "unknown_type",
    "huge_string",
    "deep_nesting",
    "extreme_number",
    "unknown_key",
    "control_chars",
    "plant_secret",
    "shuffle_list",
    "not_an_object",
)


# -------------------------------------------------------------------------------------------------------- seeds


def _json_files(root: Path) -> Iterator[tuple[str, Any]]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*.json")):
        try:
            yield str(path.relative_to(root)), json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue


def athena_vector_seeds() -> list[tuple[str, Any]]:
    return [(n, v) for n, v in _json_files(ATHENA_VECTORS) if "Request" in n and isinstance(v, dict)]


def appflow_vector_seeds() -> list[tuple[str, Any]]:
    out = []
    for name, value in _json_files(APPFLOW_VECTORS):
        if isinstance(value, dict) and "type" in value and not str(value["type"]).endswith("Response"):
            out.append((name, value))
    return out


def athena_demo_seeds() -> list[tuple[str, Any]]:
    """Valid events for the demo tables, built with the wire layer (as the connector tests do)."""
    import pyarrow as pa

    from athena_connector.wire import (
        Constraints,
        EncryptionKey,
        EquatableValueSet,
        FederatedIdentity,
        GetSplitsRequest,
        GetTableLayoutRequest,
        GetTableRequest,
        ListTablesRequest,
        PingRequest,
        ReadRecordsRequest,
        S3SpillLocation,
        Split,
        TableName,
        to_wire,
    )
    from athena_connector.wire.blocks import Block

    identity = FederatedIdentity("123456789012", "arn:aws:iam::123456789012:user/fuzz")
    catalog, schema = "lambda:fuzz", "demo_crm"
    accounts = TableName(schema, "accounts")
    columns = pa.schema([("id", pa.int64()), ("name", pa.string()), ("employees", pa.int32())])
    constraints = Constraints(summary={"industry": EquatableValueSet.of(["Retail", "Energy"], pa.string())})
    partitions = Block.from_pydict({"partition_id": [1]}, pa.schema([("partition_id", pa.int32())]), "fuzz")
    split = Split(
        S3SpillLocation("fuzz-spill", "spill/q/split-1", True),
        EncryptionKey(os.urandom(32), os.urandom(12)),
        {"split.kind": "id_range", "split.field": "id", "split.low": "1", "split.high": "20"},
    )
    passthrough = Constraints(query_passthrough_arguments={"QUERY": "contacts?status=customer"})
    events = {
        "demo_ping": PingRequest(identity, catalog, "q"),
        "demo_list_tables": ListTablesRequest(identity, "q", catalog, schema, None, 2),
        "demo_get_table": GetTableRequest(identity, "q", catalog, accounts),
        "demo_layout": GetTableLayoutRequest(identity, "q", catalog, accounts, constraints, columns, ()),
        "demo_splits": GetSplitsRequest(identity, "q", catalog, accounts, partitions, (), constraints, None),
        "demo_read": ReadRecordsRequest(
            identity, "q", catalog, accounts, columns, split, constraints, 16_000_000, 3_465_000
        ),
        "demo_passthrough": ReadRecordsRequest(
            identity,
            "q",
            catalog,
            TableName(schema, "query"),
            pa.schema([("id", pa.int64())]),
            Split(split.spill_location, split.encryption_key, {}),
            passthrough,
            16_000_000,
            3_465_000,
        ),
    }
    return [(name, json.loads(json.dumps(to_wire(e)))) for name, e in events.items()]


def appflow_demo_seeds() -> list[tuple[str, Any]]:
    ctx = {
        "apiVersion": "v1",
        "connectorRuntimeSettings": {"page_size": "10"},
        "credentials": {"secretArn": "arn:aws:secretsmanager:us-east-1:1:secret:fuzz", "authenticationType": "ApiKey"},
    }
    return [
        ("demo_describe_connector", {"type": "DescribeConnectorConfigurationRequest", "locale": "en-US"}),
        (
            "demo_validate_credentials",
            {"type": "ValidateCredentialsRequest", "credentials": ctx["credentials"], "connectorRuntimeSettings": {}},
        ),
        (
            "demo_validate_settings",
            {
                "type": "ValidateConnectorRuntimeSettingsRequest",
                "scope": "SOURCE",
                "connectorRuntimeSettings": {"page_size": "5"},
            },
        ),
        (
            "demo_list",
            {
                "type": "ListEntitiesRequest",
                "connectorContext": ctx,
                "entitiesPath": None,
                "maxResult": 100,
                "nextToken": None,
            },
        ),
        ("demo_describe", {"type": "DescribeEntityRequest", "entityIdentifier": "deals", "connectorContext": ctx}),
        (
            "demo_query",
            {
                "type": "QueryDataRequest",
                "entityIdentifier": "contacts",
                "connectorContext": ctx,
                "selectedFieldNames": ["id", "email", "updated_at"],
                "filterExpression": "status = 'customer' and updated_at > 2023-01-01T00:00:00Z",
                "maxResults": 5,
                "nextToken": None,
            },
        ),
        (
            "demo_retrieve",
            {
                "type": "RetrieveDataRequest",
                "entityIdentifier": "accounts",
                "connectorContext": ctx,
                "selectedFieldNames": ["id", "name"],
                "idFieldName": "id",
                "ids": ["1", "2", "3"],
            },
        ),
        (
            "demo_write",
            {
                "type": "WriteDataRequest",
                "entityIdentifier": "contacts",
                "connectorContext": ctx,
                "operation": "INSERT",
                "idFieldNames": None,
                "allOrNone": False,
                "records": [json.dumps({"email": "fuzz@example.com", "first_name": "F"})],
            },
        ),
    ]


# ---------------------------------------------------------------------------------------------------- mutations


def _paths(doc: Any, limit: int = 60) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every node down to ``limit`` levels (iterative: mutated events may be deep)."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if len(path) >= limit:
            continue
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(value))))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return doc


def _nested(rng: random.Random) -> Any:
    depth = rng.randint(50, 300)  # the Lambda runtime's own json.loads refuses much deeper payloads
    leaf: Any = rng.choice([1, "x", None, {}])
    for _ in range(depth):
        leaf = [leaf] if rng.random() < 0.5 else {"a": leaf}
    return leaf


def _wrong(value: Any, rng: random.Random) -> Any:
    choices: list[Any] = [None, True, 0, -1, 1.5, "", "text", [], {}, [1, "a"], {"x": 1}]
    return rng.choice([c for c in choices if type(c) is not type(value)] or choices)


def mutate(event: Any, rng: random.Random, kind: str) -> Any:
    """One mutation of a deep copy of ``event``."""
    try:
        doc = copy.deepcopy(event)
    except RecursionError:  # already nested deeper than a copy can follow: mutate at the top only
        return {"@type": "PingRequest", "nested": event} if rng.random() < 0.5 else [event]
    paths = list(_paths(doc))
    keyed = [(p, v) for p, v in paths if p]
    if kind == "not_an_object":
        return rng.choice([None, "", "[]", json.dumps(doc)[: rng.randint(0, 200)], [doc], 42, "null"])
    if not keyed:
        return doc
    path, value = rng.choice(keyed)
    strings = [(p, v) for p, v in keyed if isinstance(v, str)]
    if kind == "drop_key":
        dict_paths = [(p, v) for p, v in keyed if isinstance(p[-1], str)]
        if dict_paths:
            path, _ = rng.choice(dict_paths)
            parent = doc
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        return doc
    if kind == "wrong_type":
        return _set(doc, path, _wrong(value, rng))
    if kind == "bad_base64" and strings:
        b64 = [(p, v) for p, v in strings if len(v) >= 8 and v.rstrip("=").replace("+", "").replace("/", "").isalnum()]
        path, value = rng.choice(b64 or strings)
        bad = rng.choice(
            [
                "%%%not base64%%%",
                value[: len(value) // 2],
                value[:-1] + "!",
                base64.b64encode(os.urandom(rng.randint(1, 64))).decode(),
                "AAAA" * rng.randint(1, 50),
                value + "A",
            ]
        )
        return _set(doc, path, bad)
    if kind == "unknown_type":
        typed = [(p, v) for p, v in keyed if p[-1] in ("@type", "type", "subType", "authenticationType")]
        if typed:
            path, value = rng.choice(typed)
        return _set(doc, path, rng.choice(["DropTableRequest", "", "X" * 300, 7, None, "ReadRecordsResponse"]))
    if kind == "huge_string":
        size = rng.choice([10_000, 100_000, 1_000_000, 3_000_000])
        text = rng.choice(["a", "é", "\u0000", "%", "{"]) * size
        target = rng.choice(strings)[0] if strings and rng.random() < 0.8 else path
        return _set(doc, target, text)
    if kind == "deep_nesting":
        return _set(doc, path, _nested(rng))
    if kind == "extreme_number":
        return _set(doc, path, rng.choice([2**63, -(2**63) - 1, 10**400, 1e308, -0.0, math.inf, math.nan, -1]))
    if kind == "unknown_key":
        containers = [(p, v) for p, v in paths if isinstance(v, dict)]
        _, container = rng.choice(containers)
        container[rng.choice(["@type", "extra", "__proto__", "x" * 200, ""])] = _wrong(None, rng)
        return doc
    if kind == "control_chars" and strings:
        path, value = rng.choice(strings)
        return _set(doc, path, value + rng.choice(["\u0000", "\r\nX-Evil: 1", "\ud800", "../../", "%00", "\u202e"]))
    if kind == "plant_secret" and strings:
        path, value = rng.choice(strings)
        return _set(doc, path, rng.choice([SECRETS[0], f"{value}{SECRETS[1]}", f"x?api_key={SECRETS[0]}"]))
    if kind == "shuffle_list":
        lists = [(p, v) for p, v in paths if isinstance(v, list) and v]
        if lists:
            _, lst = rng.choice(lists)
            rng.shuffle(lst)
            lst.append(copy.deepcopy(rng.choice(lst)))
        return doc
    return _set(doc, path, _wrong(value, rng))


# --------------------------------------------------------------------------------------------------- one case


class CaseTimeout(BaseException):
    pass


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    if seconds <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, fire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)  # an outer timer (pytest-timeout) is re-armed below
    started = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer - (time.monotonic() - started)))


class LeakWatch(logging.Handler):
    """Counts log records that carry a secret (checked as they are emitted; nothing is stored)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.getMessage()} {record.__dict__}"
        except Exception:
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(s in text for s in SECRETS):
            self.leaks.append(text[:300])


@dataclass
class Result:
    connector: str
    seed: str
    mutation: str
    outcome: str  # answered | typed_error | unclear | crash | hang | leak | long_message
    detail: str = ""
    seconds: float = 0.0


class _Context:
    function_name = "fuzz"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fuzz"
    aws_request_id = "fuzz"

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


def run_case(connector: str, seed: str, mutation: str, event: Any, timeout_s: float) -> Result:
    from appflow_connector.handler import lambda_handler as appflow_handler
    from athena_connector.handler import lambda_handler as athena_handler

    started = time.monotonic()
    result = Result(connector, seed, mutation, "answered")
    try:
        with watchdog(timeout_s):
            if connector == "athena":
                try:
                    out = athena_handler(event, _Context(timeout_s))
                    json.dumps(out)
                except Exception as exc:  # a typed error is how the Athena handler answers bad input
                    name = type(exc).__name__.rsplit(".", 1)[-1]
                    message = str(exc)
                    result.outcome, result.detail = "typed_error", f"{name}: {message[:200]}"
                    if name not in ATHENA_ERRORS or "unexpected " in message:
                        result.outcome = "unclear"
                    elif any(s in message for s in SECRETS):
                        result.outcome = "leak"
                    elif len(message) > MAX_MESSAGE_CHARS:
                        result.outcome, result.detail = "long_message", f"{name}: {len(message)} chars"
            else:
                out = appflow_handler(event, _Context(timeout_s))
                text = json.dumps(out)
                if not isinstance(out, dict) or not isinstance(out.get("isSuccess"), bool):
                    result.outcome, result.detail = "unclear", f"not a response: {text[:200]}"
                elif not out["isSuccess"]:
                    details = out.get("errorDetails") or {}
                    message = str(details.get("errorMessage", ""))
                    result.outcome, result.detail = "typed_error", f"{details.get('errorCode')}: {message[:200]}"
                    if details.get("errorCode") in (None, "UnknownError") or "internal error" in message:
                        result.outcome = "unclear"
                    elif any(s in text for s in SECRETS):
                        result.outcome = "leak"
                    elif len(message) > 1024:
                        result.outcome, result.detail = "long_message", f"{len(message)} chars"
    except CaseTimeout:
        result.outcome, result.detail = "hang", f"no answer within {timeout_s}s"
    except Exception as exc:  # AppFlow's handler must never raise
        result.outcome, result.detail = "unclear", f"raised {type(exc).__name__}: {str(exc)[:200]}"
    except BaseException as exc:
        result.outcome, result.detail = "crash", f"{type(exc).__name__}: {str(exc)[:200]}"
    result.seconds = time.monotonic() - started
    return result


@dataclass
class Campaign:
    """A reproducible stream of cases over the seeds; ``summary`` holds the counts."""

    seed: int = 0
    timeout_s: float = 10.0
    results: list[Result] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    by_mutation: Counter[str] = field(default_factory=Counter)
    by_connector: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    seconds: float = 0.0
    failures: list[Result] = field(default_factory=list)

    def seeds(self) -> dict[str, list[tuple[str, Any]]]:
        return {
            "athena": athena_vector_seeds() + athena_demo_seeds(),
            "appflow": appflow_vector_seeds() + appflow_demo_seeds(),
        }

    def run(self, cases: int, progress: Callable[[int, Campaign], None] | None = None) -> Campaign:
        rng = random.Random(self.seed)
        seeds = self.seeds()
        started = time.monotonic()
        watch = LeakWatch()
        root = logging.getLogger()
        root.addHandler(watch)
        level = root.level
        root.setLevel(logging.DEBUG)
        sink = io.StringIO()
        quiet = [  # the Athena connector's JSON log lines go to stdout: keep them out of the report
            (h, h.setStream(sink))
            for h in logging.getLogger("athena-connector").handlers
            if isinstance(h, logging.StreamHandler)
        ]
        try:
            for i in range(cases):
                connector = "athena" if i % 2 == 0 else "appflow"
                name, event = rng.choice(seeds[connector])
                mutation = rng.choice(MUTATIONS)
                mutated = mutate(event, rng, mutation)
                for _ in range(rng.choice([0, 0, 1, 2])):  # sometimes stack mutations
                    if mutation != "deep_nesting":
                        mutated = mutate(mutated, rng, rng.choice(MUTATIONS))
                leaks_before = len(watch.leaks)
                with contextlib.redirect_stdout(io.StringIO()):  # the Athena handler's metrics/log lines
                    result = run_case(connector, name, mutation, mutated, self.timeout_s)
                if len(watch.leaks) > leaks_before and result.outcome in ("answered", "typed_error"):
                    result.outcome, result.detail = "leak", f"log line: {watch.leaks[-1]}"
                self.counts[result.outcome] += 1
                self.by_mutation[mutation] += 1
                self.by_connector[connector] += 1
                self.slowest = max(self.slowest, result.seconds)
                if result.outcome not in ("answered", "typed_error"):
                    self.failures.append(result)
                if progress is not None:
                    progress(i + 1, self)
                if sink.tell() > 1_000_000:
                    sink.seek(0)
                    sink.truncate()
        finally:
            root.removeHandler(watch)
            root.setLevel(level)
            for handler, stream in quiet:
                handler.setStream(stream)
        self.seconds = time.monotonic() - started
        return self

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        ok = self.counts["answered"] + self.counts["typed_error"]
        lines = [
            f"cases: {self.total} (athena {self.by_connector['athena']}, appflow {self.by_connector['appflow']}) "
            f"in {self.seconds:.1f}s ({self.total / max(self.seconds, 1e-9):.0f}/s), slowest case {self.slowest:.2f}s",
            f"clear outcome: {ok} (answered {self.counts['answered']}, typed error {self.counts['typed_error']}); "
            f"unclear {self.counts['unclear']}, crash {self.counts['crash']}, hang {self.counts['hang']}, "
            f"secret leak {self.counts['leak']}, oversized message {self.counts['long_message']}",
            "mutations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_mutation.items())),
        ]
        for failure in self.failures[:20]:
            lines.append(
                f"  FAIL {failure.connector} {failure.seed} {failure.mutation}: {failure.outcome} {failure.detail}"
            )
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------ environment and CLI


@contextlib.contextmanager
def environment(rows: dict[str, int] | None = None) -> Iterator[None]:
    """A demo API and moto's S3 on loopback, and both connectors pointed at them (the fast retry policy)."""
    from importlib import resources

    import boto3
    import yaml

    from appflow_connector import handler as appflow_module
    from demo_api.server import DemoServer
    from tests.support.aws import FAKE_ENV, moto_server

    data = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    data["api"].pop("rate_limit", None)
    data["api"]["timeout_s"] = {"connect": 2, "read": 2}
    data["api"]["retry"] = {"max_attempts": 2, "base_delay_s": 0.01, "max_delay_s": 0.02, "retry_after_cap_s": 0.1}
    spec_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"fuzz-spec-{os.getpid()}.yaml"
    spec_path.write_text(yaml.safe_dump(data, sort_keys=False))

    class Secrets:
        """Secrets Manager's answer, parsed (and so registered for masking) as the real provider does."""

        def get(self, secret_arn: str, *, max_age_s: int) -> dict[str, str]:
            from appflow_connector.credentials import parse_secret

            return parse_secret(json.dumps({"apiKey": API_KEY, "client_secret": CLIENT_SECRET}))

        def invalidate(self, secret_arn: str) -> None:
            return None

    saved = dict(os.environ)
    runtime = appflow_module.HANDLER.runtime
    old_secrets = runtime.secrets
    with (
        DemoServer(port=0, rows=rows or {"accounts": 30, "contacts": 30, "deals": 30}, api_key=API_KEY) as srv,
        moto_server() as endpoint,
    ):
        try:
            os.environ.update(FAKE_ENV)
            os.environ.update(
                AWS_ENDPOINT_URL=endpoint,
                SAAS_SPEC=str(spec_path),
                SAAS_BASE_URL=srv.base_url,
                SAAS_API_KEY=API_KEY,
                SAAS_CREDENTIALS=json.dumps({"client_secret": CLIENT_SECRET}),
                spill_bucket="fuzz-spill",
            )
            boto3.client("s3").create_bucket(Bucket="fuzz-spill")
            runtime.secrets = Secrets()
            from athena_connector.runtime import reset_runtime

            reset_runtime()
            warm_up()
            yield
        finally:
            runtime.secrets = old_secrets
            os.environ.clear()
            os.environ.update(saved)
            spec_path.unlink(missing_ok=True)


def warm_up() -> None:
    """One valid read through each connector, as a warm Lambda has done: credentials are loaded (and so
    registered for masking) before the fuzzed events arrive."""
    from appflow_connector.handler import lambda_handler as appflow_handler
    from athena_connector.handler import lambda_handler as athena_handler

    with contextlib.redirect_stdout(io.StringIO()):
        for name, event in athena_demo_seeds():
            if name == "demo_splits":
                athena_handler(copy.deepcopy(event), _Context(30))
        for name, event in appflow_demo_seeds():
            if name == "demo_query":
                out = appflow_handler(copy.deepcopy(event), _Context(30))
                assert out["isSuccess"], out


def write_docs(campaign: Campaign, command: str) -> None:
    replace_block(DOC, "fuzz", last_run(command, campaign.summary()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--case-timeout", type=float, default=10.0)
    parser.add_argument("--write-docs", action="store_true", help="write the counts into docs/reliability.md")
    args = parser.parse_args(argv)
    logging.disable(logging.NOTSET)
    if not ATHENA_VECTORS.is_dir() or not APPFLOW_VECTORS.is_dir():
        print(f"note: vectors not found under {VECTORS}; fuzzing the demo seeds only", file=sys.stderr)

    started = time.monotonic()

    def progress(done: int, campaign: Campaign) -> None:
        if done % 1000 == 0:
            elapsed = time.monotonic() - started
            print(f"  {done} cases, {elapsed:.0f}s, failures {len(campaign.failures)}", file=sys.stderr)

    with environment():
        campaign = Campaign(seed=args.seed, timeout_s=args.case_timeout).run(args.cases, progress)
    print(campaign.summary())
    if args.write_docs:
        write_docs(campaign, f"python benchmarks/fuzz_entry_points.py --cases {args.cases} --seed {args.seed}")
    return 0 if not campaign.failures else 1


if __name__ == "__main__":
    sys.exit(main())
