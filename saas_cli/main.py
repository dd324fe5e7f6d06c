"""``saas-connectors``: argument parsing, process setup and error reporting; each command has its own module."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence

from saas_cli.errors import CliError
from shared.errors import SaaSConnectorError

EPILOG = """examples:
  saas-connectors demo                                   everything end to end on the bundled demo CRM
  saas-connectors query "SELECT * FROM contacts LIMIT 5"  SQL through the Athena connector
  saas-connectors flow run contacts --destination ./landing   an AppFlow-style flow run to Parquet
  saas-connectors validate --athena-function athena-saas      check deployed functions step by step
  saas-connectors spec lint my-api.yaml                   check a spec, every problem with its line
  saas-connectors spec infer /tickets --entity tickets    draft an entity's fields from a sample page
  saas-connectors demo-api --port 8080                   serve the demo CRM API
  saas-connectors read contacts --limit 5                read an entity through the shared client

Run 'saas-connectors COMMAND --help' for a command's options and examples.
"""


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="show the connectors' logs on stderr")
    common.add_argument("--debug", action="store_true", help="show a traceback for unexpected errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    from saas_cli import demo, flow_command, query_command, read_command, spec_tools, validate

    common = _common()
    parser = argparse.ArgumentParser(
        prog="saas-connectors",
        description="Query and pull a SaaS platform's REST API from Athena and AppFlow, and try it all locally.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Every command also takes --verbose and --debug after its name, where people type them.
    demo.add_parser(sub, common)
    query_command.add_parser(sub, common)
    flow_command.add_parser(sub, common)
    validate.add_parser(sub, common)
    spec_tools.add_parser(sub, common)
    sub.add_parser("demo-api", help="serve the demo CRM API (see: saas-connectors demo-api --help)", add_help=False)
    read_command.add_parser(sub, common)
    return parser


def _setup_process(verbose: bool) -> None:
    """Keep the in-process Lambdas' structured logs and metrics out of the command's output."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO" if verbose else "CRITICAL")
    os.environ.setdefault("LOG_LEVEL", "INFO" if verbose else "ERROR")  # the AppFlow connector's logger
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    level = logging.INFO if verbose else logging.ERROR
    root = logging.getLogger()
    if not root.handlers:  # a host (a test runner) may have its own; then leave them alone
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        handler.setLevel(level)
        root.addHandler(handler)
        root.setLevel(min(level, logging.WARNING))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    if not verbose:  # the tracer logs every failed invocation with its traceback; the error is reported anyway
        logging.getLogger("aws_lambda_powertools").setLevel(logging.CRITICAL)


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if command == "demo":
        from saas_cli.demo import run_demo

        return run_demo(args)
    if command == "query":
        from saas_cli.query_command import run_query

        return run_query(args)
    if command == "flow":
        from saas_cli.flow_command import run_flow_command

        return run_flow_command(args)
    if command == "validate":
        from saas_cli.validate import run_validate

        return run_validate(args)
    if command == "spec":
        from saas_cli.spec_tools import run_spec_command

        return run_spec_command(args)
    if command == "read":
        from saas_cli.read_command import run_read

        return run_read(args)
    raise CliError(f"unknown command {command}")


def _error(message: str, hint: str | None = None) -> None:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo-api"]:
        from demo_api.server import main as demo_api_main

        return demo_api_main(argv[1:], prog="saas-connectors demo-api")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "spec_command", "") is None or getattr(args, "flow_command", "") is None:
        parser.error(f"{args.command}: choose an action (see: saas-connectors {args.command} --help)")
    _setup_process(getattr(args, "verbose", False))
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # here, so that a reader that went away is handled below and not at exit
        return code
    except CliError as exc:
        _error(str(exc), exc.hint)
        return exc.exit_code
    except SaaSConnectorError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except Exception as exc:
        from saas_cli.invoker import FunctionError

        if isinstance(exc, FunctionError):
            where = f" ({exc.function})" if exc.function else ""
            _error(f"the connector failed{where}: {exc.error_type}: {exc.error_message}")
            return 1
        if _is_aws_error(exc):
            _error(f"AWS: {exc}", "check your AWS credentials, region and the resource names")
            return 1
        if getattr(args, "debug", False):
            raise
        _error(f"unexpected {type(exc).__name__}: {exc}", "run again with --debug to see where it happened")
        return 1


def _closed_pipe() -> int:
    """The reader went away (``| head``): stop quietly, as other command-line tools do. Python would
    otherwise report the failed flush of stdout at exit, so stdout is pointed at /dev/null first."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def _is_aws_error(exc: Exception) -> bool:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, BotoCoreError | ClientError)


if __name__ == "__main__":
    sys.exit(main())
