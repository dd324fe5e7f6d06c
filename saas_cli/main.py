"""``saas-connectors``: argument parsing and dispatch; each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from shared.errors import SaaSConnectorError

EPILOG = """examples:
  saas-connectors demo                      run the end-to-end demo on the bundled demo CRM
  saas-connectors demo-api --port 8080      serve the demo CRM API (prints its URL and API key)
  saas-connectors read contacts --limit 5   read an entity through the shared client (SAAS_* settings)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saas-connectors",
        description="Query and pull a SaaS platform's REST API from Athena and AppFlow, and try it locally.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run the demo end to end on the bundled demo CRM",
        description="Start the demo CRM API on loopback and read every entity through the "
        "shared client, checking each against the API's own data.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  saas-connectors demo --scale 0.5",
    )
    demo.add_argument("--scale", type=float, default=0.1, help="demo data size factor (default 0.1)")
    demo.add_argument("--port", type=int, default=0, help="port for the demo API (default: any free port)")

    sub.add_parser("demo-api", help="serve the demo CRM API (see: saas-connectors demo-api --help)", add_help=False)

    read = sub.add_parser(
        "read",
        help="read an entity through the shared client",
        description="Read an entity with the shared client, configured like the Lambdas: "
        "SAAS_SPEC, SAAS_BASE_URL, SAAS_API_KEY / SAAS_CREDENTIALS.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  saas-connectors read contacts --where status=customer --limit 10",
    )
    read.add_argument("entity", help="entity name from the spec")
    read.add_argument(
        "--spec", default=None, help="bundled spec name, file path or s3:// URI (default $SAAS_SPEC or demo)"
    )
    read.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="equality filter; repeat for more (pushed down where the spec allows)",
    )
    read.add_argument("--limit", type=int, default=None, help="stop after this many records")
    read.add_argument("--fields", default=None, help="comma-separated fields to print")
    return parser


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
    try:
        if args.command == "demo":
            from saas_cli.demo import run_demo

            return run_demo(scale=args.scale, port=args.port)
        if args.command == "read":
            from saas_cli.read_command import run_read

            return run_read(args)
    except SaaSConnectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
