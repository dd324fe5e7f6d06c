"""``saas-connectors read ENTITY``: the shared client on its own, configured as the Lambdas are."""

from __future__ import annotations

import argparse
import json

from saas_cli.errors import UsageError
from shared.client import SaaSClient
from shared.errors import ConfigError
from shared.predicates import Op, Predicate, matches
from shared.records import Extractor
from shared.spec import load_spec
from shared.values import coerce, to_jsonable


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    read = sub.add_parser(
        "read",
        parents=[common],
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


def parse_where(client: SaaSClient, entity: str, items: list[str]) -> list[Predicate]:
    spec = client.entity(entity)
    out = []
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--where expects FIELD=VALUE, got {item!r}")
        try:
            field = spec.field(name.strip())
        except KeyError:
            raise ConfigError(
                f"--where: entity '{entity}' has no field '{name}' (fields: {', '.join(spec.field_names)})"
            ) from None
        out.append(Predicate(field.name, Op.EQ, coerce(text, field.type)))
    return out


def run_read(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 0:
        raise UsageError(f"--limit must be 0 or more, got {args.limit}")
    client = SaaSClient(load_spec(args.spec))
    fields = [f.strip() for f in args.fields.split(",")] if args.fields else None
    plan = client.plan(args.entity, parse_where(client, args.entity, args.where), fields)
    extractor = Extractor(client.entity(args.entity))
    shown = 0
    for record in client.iter_records(plan):
        if args.limit is not None and shown >= args.limit:
            break
        row = extractor.typed_row(record)
        if not matches(row, plan.residual):
            continue
        print(json.dumps(to_jsonable({k: row[k] for k in plan.fields}), ensure_ascii=False))
        shown += 1
    return 0
