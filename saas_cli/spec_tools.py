"""``saas-connectors spec lint FILE`` and ``spec infer``: check a spec (every problem with its location) and
draft an entity's ``fields`` block from one sample page of an endpoint, so a spec starts in minutes."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from saas_cli.errors import CliError, UsageError
from saas_cli.output import say
from shared.errors import SpecError

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DECIMAL_TEXT = re.compile(r"^-?\d+\.(\d+)$")
NAME_OK = re.compile(r"^[a-z][a-z0-9_]*$")

LINT_EPILOG = """examples:
  saas-connectors spec lint my-api.yaml
  saas-connectors spec lint demo          (a bundled spec)
  saas-connectors spec lint my-api.yaml --live     (then a few requests per entity against SAAS_BASE_URL)
"""
INFER_EPILOG = """examples:
  saas-connectors spec infer /tickets --entity tickets --spec my-api.yaml     (auth and base URL from the spec)
  saas-connectors spec infer https://api.example.com/v1/tickets --header "Authorization: Bearer $TOKEN"
  saas-connectors spec infer --sample page.json --entity tickets --records data.items

With --spec the output is an entity to paste under 'entities:'; otherwise a whole starter spec.
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    spec = sub.add_parser(
        "spec",
        help="check a spec (lint) or draft an entity from a sample page (infer)",
        description="Tools for writing a spec: lint reports every problem with its location; infer samples one "
        "page of an endpoint and writes the entity's fields with their types.",
        epilog="examples:\n  saas-connectors spec lint my-api.yaml\n"
        "  saas-connectors spec infer /tickets --entity tickets --spec my-api.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    spec_sub = spec.add_subparsers(dest="spec_command", metavar="ACTION")
    lint = spec_sub.add_parser(
        "lint",
        parents=[common],
        help="check a spec; list every problem with its location",
        description="Load and validate a spec the way the connectors do; print every problem with its location.",
        epilog=LINT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lint.add_argument("file", help="spec file (YAML), bundled spec name or s3:// URI")
    lint.add_argument(
        "--live",
        action="store_true",
        help="then check against the API (SAAS_BASE_URL or the spec's, credentials SAAS_*): records path, field "
        "types, pagination, and that every declared filter narrows; a few requests per entity",
    )
    lint.add_argument("--base-url", default=None, help="with --live: the API's base URL (default: SAAS_BASE_URL)")
    infer = spec_sub.add_parser(
        "infer",
        parents=[common],
        help="draft an entity's fields from one sample page of an endpoint",
        description="GET one page of an endpoint (or read a saved response) and write the entity's fields "
        "block with inferred types: int64, number, decimal(p,s), boolean, date, timestamp, string, "
        "list<...>, objects, or json when the sample disagrees with itself.",
        epilog=INFER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    infer.add_argument("endpoint", nargs="?", help="a path relative to the spec's base URL, or a full URL")
    infer.add_argument("--entity", help="the entity's name (default: from the path)")
    infer.add_argument("--spec", help="take the base URL and authentication from this spec (credentials: SAAS_*)")
    infer.add_argument("--sample", help="infer from a saved response (JSON file) instead of calling the API")
    infer.add_argument("--records", default=None, help="dotted path to the records in the body (default: guessed)")
    infer.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="query parameter")
    infer.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'", help="request header")
    infer.add_argument("--output", "-o", help="write the YAML to this file instead of stdout")
    infer.add_argument(
        "--base-url",
        default=None,
        help="the API's base URL, a prefix of the endpoint (default: all but its last segment)",
    )


def run_spec_command(args: argparse.Namespace) -> int:
    if args.spec_command == "lint":
        return lint(args.file, live=args.live, base_url=args.base_url)
    return infer(args)


# -- lint --------------------------------------------------------------------------------------------------


def lint(ref: str, *, live: bool = False, base_url: str | None = None) -> int:
    from shared.spec import load_spec

    if not ref.startswith("s3://") and ("/" in ref or ref.endswith((".yaml", ".yml"))) and not Path(ref).exists():
        raise UsageError(f"no such file: {ref}")
    try:
        spec = load_spec(ref, base_url=base_url)
    except SpecError as exc:
        say(f"{ref}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}", style="bold red")
        for problem in exc.problems:
            print(f"  {problem}")
        return 1
    say(f"{ref}: ok", style="bold green")
    say(f"  api {spec.api.name} at {spec.api.base_url or '(SAAS_BASE_URL)'}, auth {spec.api.auth.type}")
    for entity in spec.entities:
        notes = [f"{len(entity.fields)} fields"]
        filtered = [f.name for f in entity.fields if f.filters]
        if filtered:
            notes.append(f"filters on {', '.join(filtered)}")
        if entity.incremental_field:
            notes.append(f"incremental on {entity.incremental_field}")
        if entity.splits:
            notes.append(f"splits by {entity.splits.by}")
        if entity.parent:
            notes.append(f"child of {entity.parent.entity}")
        if entity.writes:
            notes.append(f"writable ({', '.join(entity.writes)})")
        say(f"  {entity.name}: {'; '.join(notes)}")
    return lint_live(spec) if live else 0


def lint_live(spec: Any) -> int:
    """The live checks of ``saas_cli.spec_live``, printed per entity; 1 when any failed."""
    from saas_cli.spec_live import check_live
    from shared.client import SaaSClient

    reports = check_live(SaaSClient(spec))
    failed = 0
    say(f"live checks against {spec.api.base_url}:", style="bold")
    for report in reports:
        say(f"  {report.entity} ({report.requests} requests):", style="bold red" if report.failed else "bold")
        for finding in report.findings:
            mark = "FAIL" if not finding.ok else ("warn" if finding.warning else "ok")
            print(f"    {mark:4} {finding.text}")
        failed += report.failed
    say(
        f"{failed} of {len(reports)} entities failed the live checks" if failed else "live checks: ok",
        style="bold red" if failed else "bold green",
    )
    return 1 if failed else 0


# -- infer -------------------------------------------------------------------------------------------------


def snake(name: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    if not text or not text[0].isalpha():
        text = f"f_{text}"
    return text


def _scalar(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int64"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    if all(isinstance(v, str) for v in values):
        if all(ISO_DATE.match(v) for v in values):
            return "date"
        if all(ISO_DATETIME.match(v) for v in values):
            return "timestamp"
        matches = [DECIMAL_TEXT.match(v) for v in values]
        if all(matches):
            scale = max(len(m.group(1)) for m in matches if m)
            digits = max(len(v.lstrip("-").replace(".", "")) for v in values)
            precision = min(38, max(digits + 4, scale + 1, 12))
            return f"decimal({precision},{scale})"
        return "string"
    return "json"


def infer_type(values: list[Any]) -> Any:
    """A spec type for the non-null sample values of one field."""
    present = [v for v in values if v is not None]
    if not present:
        return "string"
    if all(isinstance(v, dict) for v in present):
        return {"type": "object", "fields": infer_fields(present)}
    if all(isinstance(v, list) for v in present):
        items = [i for v in present for i in v if i is not None]
        if not items:
            return "list<string>"
        item = infer_type(items)
        if isinstance(item, str) and item not in ("json",):
            return f"list<{item}>"
        return {"type": "list", "items": item}
    if any(isinstance(v, dict | list) for v in present):
        return "json"
    return _scalar(present)


def infer_fields(records: list[dict[str, Any]]) -> dict[str, Any]:
    keys: list[str] = []
    for record in records:
        keys += [k for k in record if k not in keys]
    return {key: infer_type([r.get(key) for r in records]) for key in keys}


def find_records(body: Any, path: str | None) -> tuple[list[dict[str, Any]], str]:
    if path is not None:
        value = body
        for part in [p for p in path.split(".") if p]:
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, list):
            raise CliError(f"no list of records at '{path}' in the response")
        return [r for r in value if isinstance(r, dict)], path
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)], ""
    if isinstance(body, dict):
        from saas_cli.spec_infer import choose_records

        records, found, _ = choose_records(body)
        return records, found
    raise CliError("cannot find a list of records in the response; pass --records PATH")


def _type_yaml(t: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(t, str):
        return [f'"{t}"' if "," in t else t]
    if t["type"] == "object":
        lines = ["", f"{pad}type: object", f"{pad}fields:"]
        for name, sub in t["fields"].items():
            lines += _field_yaml(name, sub, indent + 2)
        return lines
    lines = ["", f"{pad}type: list", f"{pad}items:"]
    inner = _type_yaml(t["items"], indent + 2)
    if inner[0] == "":
        return lines + inner[1:]
    return [*lines[:-1], f"{pad}items: {inner[0]}"]


def _field_yaml(key: str, t: Any, indent: int) -> list[str]:
    pad = " " * indent
    name = snake(key) if not NAME_OK.match(key) else key
    rendered = _type_yaml(t, indent + 2)
    if name != key:
        if rendered[0] == "":
            return [f"{pad}{name}:", f"{pad}  path: {key}", *rendered[1:]]
        return [f"{pad}{name}: {{type: {rendered[0]}, path: {key}}}"]
    if rendered[0] == "":
        return [f"{pad}{name}:", *rendered[1:]]
    return [f"{pad}{name}: {rendered[0]}"]


def entity_yaml(name: str, path: str, records_path: str, fields: dict[str, Any], indent: int = 2) -> str:
    pad = " " * indent
    lines = [f"{pad}- name: {name}", f"{pad}  path: {path}", f'{pad}  records: "{records_path}"']
    if "id" in fields:
        lines.append(f"{pad}  primary_key: [id]")
    lines.append(f"{pad}  fields:")
    for key, t in fields.items():
        lines += _field_yaml(key, t, indent + 4)
    return "\n".join(lines) + "\n"


def _pairs(items: list[str], sep: str, option: str) -> list[tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UsageError(f"{option} expects KEY{sep}VALUE, got {item!r}")
        out.append((key.strip(), value.strip()))
    return out


def _fetch(args: argparse.Namespace) -> tuple[Any, str, str | None]:
    """(body, the entity's path, the base URL for a starter spec)."""
    params = _pairs(args.param, "=", "--param")
    if args.spec:
        from shared.client import SaaSClient
        from shared.deadline import Deadline
        from shared.spec import load_spec
        from shared.transport import Call, TransportStats

        client = SaaSClient(load_spec(args.spec))
        call = Call("GET", args.endpoint, params=params, headers=dict(_pairs(args.header, ":", "--header")))
        body, _ = client.transport.json(call, Deadline.none(), TransportStats())
        return body, args.endpoint, None
    raise UsageError("without --spec, give a full URL (or use --sample FILE)")


def infer(args: argparse.Namespace) -> int:
    if args.sample:
        try:
            body = json.loads(Path(args.sample).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read the sample {args.sample}: {exc}") from None
        path, base = args.endpoint or f"/{args.entity or 'records'}", None
    elif not args.spec:
        if not args.endpoint or not args.endpoint.startswith(("http://", "https://")):
            raise UsageError("without --spec, give a full URL (or use --sample FILE)")
        from saas_cli.spec_infer import infer_from_url

        out = infer_from_url(
            args.endpoint,
            headers=dict(_pairs(args.header, ":", "--header")),
            params=_pairs(args.param, "=", "--param"),
            base_url=args.base_url,
            entity=args.entity,
            records_path=args.records,
        )
        return _emit(args, out, args.entity or args.endpoint)
    else:
        if not args.endpoint:
            raise UsageError("give an endpoint (path or URL), or --sample FILE")
        body, path, base = _fetch(args)
    records, records_path = find_records(body, args.records)
    if not records:
        raise CliError("the sample page has no records to infer from")
    from saas_cli.spec_infer import entity_name

    name = snake(args.entity) if args.entity else entity_name(path)
    text = entity_yaml(name, path, records_path, infer_fields(records))
    header = f"# {name}: fields inferred from {len(records)} sample record(s); check types, nullability and filters\n"
    if not args.spec:
        text = (
            "version: 1\napi:\n"
            f"  name: {snake(name)}_api\n  base_url: {base or 'https://api.example.com'}\n"
            "  auth: {type: none}\n"
            "entities:\n" + text
        )
    return _emit(args, header + text, name)


def _emit(args: argparse.Namespace, out: str, name: str) -> int:
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
        say(f"wrote {args.output} ({name})", stream=sys.stderr)
    else:
        sys.stdout.write(out)
    return 0
