"""``saas-connectors query "SQL"``: run SQL through the Athena connector, locally or deployed."""

from __future__ import annotations

import argparse
import os
import sys

from saas_cli import local_aws
from saas_cli.athena_calls import ATHENA_MAX_BLOCK, ATHENA_MAX_INLINE, AthenaCalls
from saas_cli.athena_engine import DEFAULT_WORKERS, AthenaEngine, QueryOutcome
from saas_cli.errors import UsageError
from saas_cli.invoker import ATHENA_HANDLER, Invoker, make_invoker
from saas_cli.output import progress
from saas_cli.result_output import DEFAULT_MAX_ROWS, FORMATS, write_result
from saas_cli.sql_scans import parse_query
from shared.spec.model import SourceSpec

LOCAL_SPILL_BUCKET = "saas-connectors-local-spill"
DEFAULT_CATALOG = "saas"

EPILOG = """examples:
  saas-connectors query "SELECT status, count(*) FROM contacts GROUP BY status"
  saas-connectors query --explain "SELECT * FROM contacts WHERE status IN ('lead', 'customer') LIMIT 10"
  saas-connectors query --format csv "SELECT id, email FROM contacts" > contacts.csv
  saas-connectors query --format parquet --output deals.parquet "SELECT * FROM deals"
  saas-connectors query --function-name athena-saas "SELECT count(*) FROM accounts"

In this process the connector is configured like the Lambda: SAAS_SPEC, SAAS_BASE_URL, SAAS_API_KEY (or
SAAS_SECRET_ARN), spill_bucket, spill_prefix. Without spill_bucket, large results spill to a local S3 (moto).
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "query",
        parents=[common],
        help="run SQL through the Athena connector (locally or a deployed function)",
        description="Run SQL the way Athena does: derive the constraints from the WHERE clause, call the "
        "connector (Ping, capabilities, GetTable, GetTableLayout, GetSplits, ReadRecords in parallel, spilled "
        "blocks from S3), then run the complete query with DuckDB over the returned data.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sql", help="the query (Trino/Athena SQL); tables are the spec's entities")
    p.add_argument("--function-name", metavar="NAME", help="send the events to this deployed Lambda (boto3)")
    p.add_argument("--region", help="AWS region of the function (default: boto3's)")
    p.add_argument("--catalog", default=None, help="catalog name sent to the connector (default: saas)")
    p.add_argument("--schema", default=None, help="the connector's schema (default: the spec's api.name)")
    p.add_argument("--spec", default=None, help="spec for the in-process connector (sets SAAS_SPEC)")
    p.add_argument("--format", choices=FORMATS, default="table", help="result format (default: table)")
    p.add_argument("--output", "-o", metavar="FILE", help="write the result to FILE (needed for parquet)")
    p.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="rows shown in table format")
    p.add_argument("--explain", action="store_true", help="show the calls made and what was pushed down")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="parallel ReadRecords calls (default 8)")
    p.add_argument(
        "--max-inline-bytes",
        type=int,
        default=ATHENA_MAX_INLINE,
        help=f"maxInlineBlockSize sent with ReadRecords (Athena: {ATHENA_MAX_INLINE}); lower it to exercise spill",
    )
    p.add_argument("--max-block-bytes", type=int, default=ATHENA_MAX_BLOCK, help=argparse.SUPPRESS)


def local_spec(ref: str | None = None) -> SourceSpec:
    from shared.spec import load_spec

    return load_spec(ref or os.environ.get("SAAS_SPEC"))


def prepare_local_connector(spec: str | None) -> None:
    """The in-process connector's environment: the spec, and a local spill bucket when none is set."""
    if spec:
        os.environ["SAAS_SPEC"] = spec
    if not os.environ.get("spill_bucket"):  # noqa: SIM112 - the connector's own variable name
        local_aws.use(("s3",))
        local_aws.ensure_bucket(LOCAL_SPILL_BUCKET)
        os.environ["spill_bucket"] = LOCAL_SPILL_BUCKET  # noqa: SIM112 - the connector reads this name


def resolve_schema(args: argparse.Namespace, invoker: Invoker, catalog: str) -> str:
    if args.schema:
        return str(args.schema).lower()
    written = {s.schema for s in parse_query(args.sql).scans if s.schema}
    if len(written) == 1:
        return written.pop()
    if args.function_name:
        schemas = AthenaCalls(invoker, catalog).list_schemas()
        if not schemas:
            raise UsageError("the function lists no schema; pass --schema")
        return schemas[0]
    configured = os.environ.get("schema_name")  # noqa: SIM112 - the connector's own variable name
    return (configured or local_spec().api.name).lower()


def run_query(args: argparse.Namespace) -> int:
    if args.format == "parquet" and not args.output:
        raise UsageError("--format parquet needs --output FILE")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not args.function_name:
        prepare_local_connector(args.spec)
    invoker = make_invoker(ATHENA_HANDLER, args.function_name, region=args.region, verbose=args.verbose)
    catalog = args.catalog or (f"lambda:{args.function_name}" if args.function_name else DEFAULT_CATALOG)
    schema = resolve_schema(args, invoker, catalog)
    with progress() as bar:
        engine = AthenaEngine(
            invoker,
            catalog=catalog,
            schema=schema,
            workers=args.workers,
            max_block=args.max_block_bytes,
            max_inline=args.max_inline_bytes,
            progress=bar.update,
        )
        outcome = engine.run(args.sql)
    show(outcome, args)
    return 0


def show(outcome: QueryOutcome, args: argparse.Namespace) -> None:
    machine = args.format != "table" and not args.output
    if args.explain:
        from saas_cli.explain import print_explain

        spec = None
        if not args.function_name:
            try:
                spec = local_spec()
            except Exception:
                spec = None
        print_explain(outcome, spec, stream=sys.stderr if machine else sys.stdout)
        if not machine:
            print()
    write_result(outcome.result, args.format, args.output, max_rows=args.max_rows)
