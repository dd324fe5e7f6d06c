"""``saas-connectors validate``: the call sequences of the official checkers, step by step, against deployed
functions (or the handlers in this process).

Athena, as the SDK's ConnectorValidator: Ping; ListSchemas (non-empty, lower case); ListTables (non-empty
unless ``--allow-empty-tables``, lower case); per table (or the one ``--table``) GetTable (same name back,
lower-case columns, at least one non-partition column, partition columns among the columns), GetTableLayout
(at least one partition), one page of GetSplits (at least one split), ReadRecords on one split of it chosen at
random with maxBlockSize 16,000,000 and maxInlineBlockSize 5,242,880 (an inline answer with at least one row);
when that page carried a continuation token, one more page (at least one split) and a read of one of its
splits. ``--constraints "score>50,status=customer"`` sends those constraints with GetTableLayout, GetSplits and
ReadRecords (as Athena would for that WHERE clause), and every row read must satisfy them;
``--planning-only`` stops before ReadRecords.

AppFlow, as AppFlow does when a connector is registered, a connection made and a flow created:
DescribeConnectorConfiguration, ValidateConnectorRuntimeSettings, ValidateCredentials, ListEntities (the
whole tree), and per entity DescribeEntity and a first QueryData page.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from athena_connector.wire import Constraints, TableName
from saas_cli.appflow_calls import AppFlowCalls, Connection
from saas_cli.appflow_connection import AUTH_TYPES, local_secret
from saas_cli.athena_calls import AthenaCalls, TableInfo
from saas_cli.errors import CliError
from saas_cli.invoker import APPFLOW_HANDLER, ATHENA_HANDLER, FunctionError, make_invoker
from saas_cli.output import print_table, say
from saas_cli.spill_reader import SpillReader
from saas_cli.validator_constraints import ParsedConstraints, parse_constraints, violations

VALIDATOR_MAX_BLOCK = 16_000_000
VALIDATOR_MAX_INLINE = 5_242_880

EPILOG = """examples:
  saas-connectors validate --athena-function athena-saas --appflow-function appflow-saas \\
      --secret-arn arn:aws:secretsmanager:us-east-1:123456789012:secret:appflow!...
  saas-connectors validate --athena-function athena-saas --table contacts
  saas-connectors validate --only appflow --entity contacts       the AppFlow handler in this process
  saas-connectors validate --only athena --table contacts --constraints "score>50,status=customer"
  saas-connectors validate --only athena --planning-only           metadata and splits only, no reads
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        parents=[common],
        help="check deployed connectors step by step, as Athena's validator and AppFlow do",
        description="Run the Athena call sequence (as the SDK's connector validator, on every table or one) "
        "and the AppFlow call sequence against deployed functions, or the handlers in this process when no "
        "function is named, and report each step passed or failed with the reason.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--athena-function", metavar="NAME", help="the Athena connector's Lambda")
    p.add_argument("--appflow-function", metavar="NAME", help="the AppFlow connector's Lambda")
    p.add_argument("--only", choices=("athena", "appflow"), help="check one connector only")
    p.add_argument("--region", help="AWS region of the functions (default: boto3's)")
    p.add_argument("--catalog", help="catalog name sent to the Athena connector (default lambda:<function>)")
    p.add_argument("--schema", help="check this schema (database) only (default: the first listed)")
    p.add_argument("--table", help="check this table only (default: every table)")
    p.add_argument(
        "--constraints",
        metavar="COND,...",
        help='constraints sent with the reads, as the SDK validator\'s: "score>50,status=customer" '
        "(ops = != > >= < <=; column= is IS NULL); needs --table",
    )
    p.add_argument("--planning-only", action="store_true", help="check metadata and splits; read no records")
    p.add_argument(
        "--allow-empty-tables", action="store_true", help="a schema without tables passes (the SDK's option)"
    )
    p.add_argument("--entity", help="check this AppFlow entity only (default: every entity)")
    p.add_argument("--secret-arn", help="the AppFlow connection's credentials secret")
    p.add_argument("--auth-type", choices=AUTH_TYPES, default=None, help="authenticationType (default CustomAuth)")
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE", help="a connection setting")
    p.add_argument("--seed", type=int, default=0, help="chooses the split ReadRecords reads (default 0)")


@dataclass
class StepResult:
    connector: str
    step: str
    target: str
    ok: bool
    detail: str


class Failed(Exception):
    pass


@dataclass
class Checker:
    connector: str
    results: list[StepResult] = field(default_factory=list)

    def check(self, step: str, target: str, fn: Callable[[], Any]) -> Any:
        """Run one step; on failure record why and return None (later steps that need it are skipped)."""
        try:
            value = fn()
        except Failed as exc:
            self.results.append(StepResult(self.connector, step, target, False, str(exc)))
            return None
        except FunctionError as exc:
            self.results.append(
                StepResult(self.connector, step, target, False, f"{exc.error_type}: {exc.error_message}")
            )
            return None
        except CliError as exc:
            self.results.append(StepResult(self.connector, step, target, False, str(exc)))
            return None
        detail = value[1] if isinstance(value, tuple) else ""
        self.results.append(StepResult(self.connector, step, target, True, detail))
        return value[0] if isinstance(value, tuple) else value


def _lower(names: list[str], what: str) -> None:
    upper = [n for n in names if n != n.lower()]
    if upper:
        raise Failed(f"{what} must be lower case (Athena lower-cases names): {', '.join(upper)}")


# -- Athena ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AthenaOptions:
    """What to check: ``validate``'s Athena flags."""

    schema: str | None = None
    table: str | None = None
    constraints: str | None = None
    planning_only: bool = False
    allow_empty_tables: bool = False
    seed: int = 0


def validate_athena(calls: AthenaCalls, options: AthenaOptions) -> list[StepResult]:
    c = Checker("athena")
    if options.constraints and not options.table:
        c.results.append(StepResult("athena", "Constraints", options.constraints, False, "--constraints needs --table"))
        return c.results
    ping = c.check("Ping", calls.catalog, lambda: (p := calls.ping(), f"serDeVersion {p.serde_version}"))
    if ping is None:
        return c.results

    def schemas() -> tuple[list[str], str]:
        found = calls.list_schemas()
        if not found:
            raise Failed("no schemas")
        _lower(found, "schema names")
        if options.schema and options.schema not in found:
            raise Failed(f"schema {options.schema!r} is not listed (schemas: {', '.join(found)})")
        return found, ", ".join(found)

    found = c.check("ListSchemas", calls.catalog, schemas)
    if not found:
        return c.results
    schema = options.schema or found[0]

    def tables() -> tuple[list[str], str]:
        names = [t.table_name for t in calls.list_tables(schema)]
        _lower(names, "table names")
        if not names:
            if not options.allow_empty_tables:
                raise Failed("no tables (--allow-empty-tables accepts that)")
            return names, "no tables (allowed by --allow-empty-tables)"
        return names, f"{len(names)} tables"

    names = c.check("ListTables", schema, tables)
    if not names:
        return c.results
    if options.table:
        if options.table not in names:
            detail = f"not listed (tables: {', '.join(names)})"
            c.results.append(StepResult("athena", "GetTable", options.table, False, detail))
            return c.results
        names = [options.table]
    rng = random.Random(options.seed)
    for name in names:
        _validate_table(c, calls, TableName(schema, name), rng, options)
    return c.results


def _validate_table(
    c: Checker, calls: AthenaCalls, name: TableName, rng: random.Random, options: AthenaOptions
) -> None:
    target = f"{name.schema_name}.{name.table_name}"

    def get_table() -> tuple[TableInfo, str]:
        info = calls.get_table(name)
        if info.name != name:
            raise Failed(f"asked for {target}, got {info.name.schema_name}.{info.name.table_name}")
        _lower(info.schema.names, "column names")
        if len([f for f in info.schema.names if f not in info.partition_columns]) < 1:
            raise Failed("no non-partition column")
        missing = [p for p in info.partition_columns if p not in info.schema.names]
        if missing:
            raise Failed(f"partition columns not in the schema: {', '.join(missing)}")
        return info, f"{len(info.schema)} columns"

    info = c.check("GetTable", target, get_table)
    if info is None:
        return
    parsed: ParsedConstraints | None = None
    if options.constraints:
        parsed = c.check(
            "Constraints",
            target,
            lambda: (p := parse_constraints(options.constraints or "", info.schema), _describe(p)),
        )
        if parsed is None:
            return
    constraints = parsed.constraints if parsed else Constraints()

    def layout() -> tuple[Any, str]:
        block = calls.get_table_layout(info, constraints)
        if block.num_rows < 1:
            raise Failed("no partitions: Athena would read nothing (an empty table, or a problem)")
        return block, f"{block.num_rows} partition(s)"

    partitions = c.check("GetTableLayout", target, layout)
    if partitions is None:
        return

    def splits(token: str | None) -> tuple[tuple[list[Any], str | None], str]:
        found, next_token = calls.get_splits_page(info, partitions, constraints, token)
        if not found:
            raise Failed(
                "no splits in the page after a continuation token" if token else "no splits: Athena would read nothing"
            )
        more = ", and a continuation token" if next_token else ""
        return (found, next_token), f"{len(found)} split(s){more}"

    def read(found: list[Any], page: str) -> tuple[None, str]:
        split = rng.choice(found)
        records = calls.read_records(
            info, info.schema, split, constraints, SpillReader(),
            max_block=VALIDATOR_MAX_BLOCK, max_inline=VALIDATOR_MAX_INLINE,
        )  # fmt: skip
        if records.spilled:
            raise Failed("the answer spilled to S3; the validator expects an inline ReadRecordsResponse")
        if records.table.num_rows < 1:
            raise Failed("the split chosen at random returned no rows; the SDK's validator requires one (try --seed)")
        if parsed is not None:
            broken = violations(records.table, parsed)
            if broken:
                raise Failed(f"rows that break --constraints {parsed.text!r}: {'; '.join(broken)}")
        kept = f", all satisfying {parsed.text!r}" if parsed else ""
        return None, f"{records.table.num_rows} rows inline from 1 of {len(found)} split(s) of the {page} page{kept}"

    token: str | None = None
    for page in ("first", "next"):
        step = "GetSplits" if page == "first" else "GetSplits (continuation)"
        answer = c.check(step, target, lambda t=token: splits(t))
        if answer is None:
            return
        found, token = answer
        if not options.planning_only:
            c.check("ReadRecords", target, lambda f=found, p=page: read(f, p))
        if token is None:
            return


def _describe(parsed: ParsedConstraints) -> str:
    return f"{len(parsed.domains)} column(s) constrained: {', '.join(parsed.domains)}"


# -- AppFlow -----------------------------------------------------------------------------------------------


def validate_appflow(calls: AppFlowCalls, entity: str | None) -> list[StepResult]:
    c = Checker("appflow")
    conn = calls.connection

    def describe() -> tuple[dict[str, Any], str]:
        config = calls.describe_connector()
        versions = config.get("supportedApiVersions") or []
        if conn.api_version not in versions:
            raise Failed(f"apiVersion {conn.api_version!r} is not supported (supported: {versions})")
        modes = config.get("connectorModes") or []
        return config, f"{config.get('connectorName')} {config.get('connectorVersion')}, modes {'/'.join(modes)}"

    if c.check("DescribeConnectorConfiguration", "connector", describe) is None:
        return c.results
    c.check("ValidateConnectorRuntimeSettings", "CONNECTOR_PROFILE",
            lambda: (calls.validate_settings("CONNECTOR_PROFILE", conn.profile_settings), "accepted"))  # fmt: skip
    if conn.credentials() is not None:
        c.check("ValidateCredentials", conn.auth_type, lambda: (calls.validate_credentials(), "accepted"))

    def entities() -> tuple[list[str], str]:
        names = calls.all_entities()
        if not names:
            raise Failed("no entities")
        return names, ", ".join(names)

    names = c.check("ListEntities", "connector", entities)
    if not names:
        return c.results
    if entity:
        if entity not in names:
            c.results.append(StepResult("appflow", "DescribeEntity", entity, False, f"not listed ({', '.join(names)})"))
            return c.results
        names = [entity]
    for name in names:

        def definition(n: str = name) -> tuple[dict[str, Any], str]:
            found = calls.describe_entity(n)
            if not found["fields"]:
                raise Failed("no fields")
            return found, f"{len(found['fields'])} fields"

        found = c.check("DescribeEntity", name, definition)
        if found is None:
            continue

        def query(n: str = name, d: dict[str, Any] = found) -> tuple[None, str]:
            fields = [f["fieldName"] for f in d["fields"]]
            records, token = calls.query_page(n, fields=fields, filter_expression=None, max_results=10, token=None)
            for text in records:
                record = json.loads(text)
                extra = set(record) - set(fields)
                if extra:
                    raise Failed(f"a record has fields that were not selected: {sorted(extra)}")
            more = "more pages" if token else "no more pages"
            return None, f"{len(records)} record(s) as JSON strings, {more}"

        c.check("QueryData", name, query)
    return c.results


# -- command -----------------------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    from saas_cli.appflow_connection import pairs

    results: list[StepResult] = []
    if args.only != "appflow":
        invoker = make_invoker(ATHENA_HANDLER, args.athena_function, region=args.region, verbose=args.verbose)
        catalog = args.catalog or (f"lambda:{args.athena_function}" if args.athena_function else "saas")
        if not args.athena_function:
            from saas_cli.query_command import prepare_local_connector

            prepare_local_connector(None)
        options = AthenaOptions(
            schema=args.schema,
            table=args.table,
            constraints=args.constraints,
            planning_only=args.planning_only,
            allow_empty_tables=args.allow_empty_tables,
            seed=args.seed,
        )
        results += validate_athena(AthenaCalls(invoker, catalog), options)
    if args.only != "athena":
        secret = args.secret_arn or (None if args.appflow_function else local_secret())
        connection = Connection(secret_arn=secret, auth_type=args.auth_type or "CustomAuth")
        connection.profile_settings = pairs(args.setting, "--setting")
        invoker = make_invoker(APPFLOW_HANDLER, args.appflow_function, region=args.region, verbose=args.verbose)
        results += validate_appflow(AppFlowCalls(invoker, connection), args.entity)
    rows = [(r.connector, r.step, r.target, "passed" if r.ok else "FAILED", r.detail) for r in results]
    print_table("Validation", ["connector", "step", "target", "result", "detail"], rows)
    failed = [r for r in results if not r.ok]
    if failed:
        say(f"{len(failed)} of {len(results)} steps failed.", style="bold red")
        return 1
    say(f"All {len(results)} steps passed.", style="bold green")
    return 0
