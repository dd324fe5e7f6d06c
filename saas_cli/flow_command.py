"""``saas-connectors flow run ENTITY`` and ``flow write ENTITY``: AppFlow flows against the AppFlow connector."""

from __future__ import annotations

import argparse

from saas_cli.appflow_connection import add_connection_args, make_calls
from saas_cli.errors import UsageError
from saas_cli.flow_runner import (
    DEFAULT_FILE_RECORDS,
    DEFAULT_PAGE_SIZE,
    FlowRunOptions,
    FlowRunResult,
    parse_instant,
    run_flow,
)
from saas_cli.flow_state import DEFAULT_STATE_FILE, StateFile
from saas_cli.output import print_table, progress, say
from saas_cli.write_back import DEFAULT_BATCH, OPERATIONS, read_records, write_back

RUN_EPILOG = """examples:
  saas-connectors flow run contacts --destination ./landing              first run: full
  saas-connectors flow run contacts --destination ./landing              later runs: incremental
  saas-connectors flow run deals --destination s3://my-bucket/appflow --full
  saas-connectors flow run contacts --destination ./landing --function-name appflow-saas \\
      --secret-arn arn:aws:secretsmanager:...:secret:appflow!...

Files land as <destination>/<flow name>/<execution id>/part-00000.parquet. The watermark of each flow is
kept in the state file (default .saas-connectors/flows.json).
"""

WRITE_EPILOG = """examples:
  saas-connectors flow write contacts --input scores.parquet --operation UPDATE
  saas-connectors flow write contacts --input new_contacts.jsonl --operation INSERT
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    flow = sub.add_parser(
        "flow",
        help="AppFlow-style flows through the AppFlow connector (run, write)",
        description="Emulate AppFlow flows against the AppFlow connector, in this process or deployed.",
        epilog="examples:\n  saas-connectors flow run contacts --destination ./landing\n"
        "  saas-connectors flow write contacts --input scores.parquet --operation UPDATE",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    flow_sub = flow.add_subparsers(dest="flow_command", metavar="ACTION")
    run = flow_sub.add_parser(
        "run",
        parents=[common],
        help="pull an entity (full or incremental) and land Parquet",
        description="Run a flow as AppFlow does: describe the connector and the entity, then QueryData page "
        "by page until nextToken is null, landing Parquet in S3 or a folder. The first run is full; later runs "
        "read the window since the last one on the entity's incremental field.",
        epilog=RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("entity", help="entity name (see: saas-connectors validate)")
    run.add_argument(
        "--destination",
        "-d",
        default="./appflow-landing",
        help="s3://bucket/prefix or a folder (default ./appflow-landing)",
    )
    run.add_argument("--flow-name", help="the flow's name (default saas-<entity>)")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--full", dest="mode", action="store_const", const="full", help="read everything")
    mode.add_argument(
        "--incremental", dest="mode", action="store_const", const="incremental", help="only the new window"
    )
    run.set_defaults(mode="auto")
    run.add_argument("--since", help="start of the incremental window (default: the watermark)")
    run.add_argument("--now", help="end of the incremental window (default: the current time, UTC)")
    run.add_argument("--fields", help="comma-separated fields to select (default: all)")
    run.add_argument("--filter", dest="filter_expression", help="a filter expression, e.g. \"status = 'lead'\"")
    run.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE, help="maxResults per QueryData call")
    run.add_argument("--file-records", type=int, default=DEFAULT_FILE_RECORDS, help="records per Parquet file")
    run.add_argument("--state", default=DEFAULT_STATE_FILE, help=f"state file (default {DEFAULT_STATE_FILE})")
    add_connection_args(run)

    write = flow_sub.add_parser(
        "write",
        parents=[common],
        help="write records back through the connector's destination path",
        description="Send records to the connector as AppFlow sends a flow's output to a destination "
        "(WriteDataRequest batches); report each record that failed.",
        epilog=WRITE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    write.add_argument("entity", help="a writable entity")
    write.add_argument("--input", "-i", required=True, help="records: .parquet, JSON Lines or a JSON array")
    write.add_argument("--operation", choices=OPERATIONS, default="UPSERT", help="write operation (default UPSERT)")
    write.add_argument("--id-field", action="append", default=None, help="idFieldNames (default: none sent)")
    write.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="records per WriteData call")
    add_connection_args(write)


def run_flow_command(args: argparse.Namespace) -> int:
    if args.flow_command == "run":
        return _run(args)
    return _write(args)


def _run(args: argparse.Namespace) -> int:
    if args.page_size is not None and args.page_size < 1:
        raise UsageError("--page-size must be at least 1")
    if args.file_records < 1:
        raise UsageError("--file-records must be at least 1")
    options = FlowRunOptions(
        entity=args.entity,
        flow_name=args.flow_name or f"saas-{args.entity}",
        destination=args.destination,
        mode=args.mode,
        now=parse_instant(args.now) if args.now else None,
        since=parse_instant(args.since) if args.since else None,
        fields=[f.strip() for f in args.fields.split(",") if f.strip()] if args.fields else None,
        filter_expression=args.filter_expression,
        page_size=args.page_size,
        file_records=args.file_records,
    )
    calls = make_calls(args)
    with progress() as bar:
        result = run_flow(calls, StateFile(args.state), options, bar.update)
    report_run(result)
    return 0


def report_run(result: FlowRunResult) -> None:
    window = "everything" if result.mode == "full" else f"[{result.window[0]}, {result.window[1]})"
    print_table(
        f"Flow {result.flow_name}: {result.mode} run of {result.entity}",
        ["execution id", "window", "records", "pages", "files", "bytes", "seconds"],
        [
            (
                result.execution_id,
                window,
                result.records,
                result.pages,
                len(result.files),
                f"{result.bytes:,}",
                f"{result.seconds:.2f}",
            )
        ],
    )
    if result.files:
        say(f"landed in {result.location}/ ({', '.join(f.uri.rsplit('/', 1)[-1] for f in result.files)})")
    else:
        say("no records: nothing landed")
    if result.filter_expression:
        say(f"filterExpression: {result.filter_expression}", style="dim")


def _write(args: argparse.Namespace) -> int:
    records = read_records(args.input)
    calls = make_calls(args)
    result = write_back(
        calls, args.entity, args.operation, records, id_fields=args.id_field, batch_size=args.batch_size
    )
    say(
        f"{args.operation} {args.entity}: {result.written} of {len(records)} records written "
        f"in {result.batches} WriteData call(s)"
    )
    for line in failure_lines(result.failed):
        say(f"  {line}", style="red")
    return 0 if not result.failed else 1


def failure_lines(failed: list[tuple[int, str]], limit: int = 20) -> list[str]:
    """One line per distinct message (a batch that fails as a whole is one message, not one per record)."""
    by_message: dict[str, list[int]] = {}
    for index, message in failed:
        by_message.setdefault(message, []).append(index)
    lines = []
    for message, indexes in list(by_message.items())[:limit]:
        shown = ", ".join(str(i) for i in indexes[:5]) + (f" and {len(indexes) - 5} more" if len(indexes) > 5 else "")
        lines.append(f"record{'s' if len(indexes) > 1 else ''} {shown}: {message}")
    if len(by_message) > limit:
        lines.append(f"... and {len(by_message) - limit} more distinct failures")
    return lines
