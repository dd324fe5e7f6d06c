"""A small loopback API whose filters read values in declared formats and compare them one of three ways.

The test's own model of an API, written independently of ``shared.value_formats`` (its writers and parsers are
plain strftime / strptime / int / Decimal):

* ``value``: the parameter is parsed into the value its text stands for (the start of its second, day...) and
  compared with each record's exact value (how most APIs behave);
* ``unit``: the same, but each record's value is first cut to the format's unit (``DATE(created_at) <= ?``);
* ``text``: the API holds each record's value as text in the declared format and compares texts (SQLite- and
  document-store-backed APIs); it holds what it returns, so its values are on the format's grid.

Filters are ``<field>_<op>`` parameters (``in`` joined with commas); a text a filter cannot read matches no
record (what real APIs do with an unexpected boolean literal: zero rows).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

import yaml
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

API_KEY = "formats-key-0123456789"
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
KINDS = {"at": "timestamp", "day": "date", "closed": "boolean", "amount": "decimal(10,2)", "score": "number",
         "n": "int64"}  # fmt: skip
TS_UNITS_US = {"iso8601_s": 10**6, "iso8601_ms": 1000, "iso8601_us": 1, "epoch_s": 10**6, "epoch_ms": 1000,
               "date": 86_400 * 10**6, "auto": 1000, "%Y-%m-%d %H:%M:%S": 10**6, "%Y%m%d%H%M": 60 * 10**6}  # fmt: skip
TEXT_ORDERED = {"iso8601_s", "iso8601_ms", "iso8601_us", "date", "%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M", "%Y%m%d"}
OPS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class FilterDecl:
    """One field's filters: the declared format (a spec ``format`` value), offset, and operators."""

    format: Any = "auto"
    ops: tuple[str, ...] = ("ge", "le")
    offset: str | None = None


# -- the test's own writers and readers ----------------------------------------------------------------
def _micros(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def _from_micros(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def ts_floor(t: dt.datetime, fmt: str) -> dt.datetime:
    unit = TS_UNITS_US[fmt]
    return _from_micros(_micros(t) // unit * unit)


def ts_text(t: dt.datetime, fmt: str, offset: str | None) -> str:
    z = offset or "Z"
    if fmt == "iso8601_s":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + z
    if fmt == "iso8601_ms":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{t.microsecond // 1000:03d}" + z
    if fmt == "iso8601_us":
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + z
    if fmt == "auto":
        return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond // 1000:03d}" if t.microsecond else "") + z
    if fmt == "epoch_s":
        return str(_micros(t) // 10**6)
    if fmt == "epoch_ms":
        return str(_micros(t) // 1000)
    if fmt == "date":
        return t.strftime("%Y-%m-%d")
    return t.strftime(fmt)


def ts_read(text: str, fmt: str) -> dt.datetime | None:
    try:
        if fmt.startswith("epoch_"):
            return _from_micros(int(text) * (10**6 if fmt == "epoch_s" else 1000))
        if fmt == "date":
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=UTC)
        if "%" in fmt:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=UTC)
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    except ValueError:
        return None


def date_text(d: dt.date, fmt: str) -> str:
    if fmt == "epoch_s":
        return str((d - dt.date(1970, 1, 1)).days * 86_400)
    return d.isoformat() if fmt in ("auto", "date") else d.strftime(fmt)


def date_read(text: str, fmt: str) -> dt.date | None:
    try:
        if fmt == "epoch_s":
            return dt.date(1970, 1, 1) + dt.timedelta(days=int(text) // 86_400)
        return dt.date.fromisoformat(text) if fmt in ("auto", "date") else dt.datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def num_places(fmt: str) -> int | None:
    if fmt == "auto":
        return None
    return 0 if fmt.endswith("d") else int(fmt.split(".")[1][:-1])


def num_floor(x: Decimal, fmt: str) -> Decimal:
    places = num_places(fmt)
    return x if places is None else x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)


def num_text(x: Decimal, fmt: str) -> str:
    if fmt == "auto":
        return format(x, "f")
    width = int(fmt[2:].split(".", maxsplit=1)[0].rstrip("df")) if fmt.startswith("%0") else 0
    body = format(abs(num_floor(x, fmt)), "f")
    sign = "-" if x < 0 else ""
    return sign + body.zfill(max(0, width - len(sign)))


def literals(fmt: Any) -> tuple[str, str]:
    return (str(fmt[True]), str(fmt[False])) if isinstance(fmt, dict) else ("true", "false")


# -- the API -------------------------------------------------------------------------------------------
@dataclass
class FormatAPI:
    """``/events`` filtered by the declared ``filters``, compared as ``mode`` (value | unit | text)."""

    records: list[dict[str, Any]]
    filters: dict[str, FilterDecl]
    mode: str = "value"
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.headers.get("X-API-Key") != API_KEY:
            return _json({"message": "bad key"}, 401)(environ, start_response)
        args = {k: request.args.getlist(k) for k in request.args}
        with self.lock:
            self.requests.append(args)
        rows = [r for r in self.records if all(self._keeps(r, name, texts) for name, texts in args.items())]
        return _json({"data": [self.render(r) for r in rows]})(environ, start_response)

    def _keeps(self, record: dict[str, Any], name: str, texts: list[str]) -> bool:
        fname, _, op = name.rpartition("_")
        decl = self.filters[fname]
        value = record[fname]
        if value is None:
            return False
        if op == "in":
            wanted = [t for text in texts for t in text.split(",")]
            return any(self._compare(fname, decl, value, "eq", t) for t in wanted)
        return all(self._compare(fname, decl, value, op, t) for t in texts)

    def _compare(self, fname: str, decl: FilterDecl, value: Any, op: str, text: str) -> bool:
        kind = KINDS[fname]
        fmt = decl.format
        if kind == "boolean":
            true, false = literals(fmt)
            return text in (true, false) and OPS[op](value, text == true)
        if self.mode == "text":
            return OPS[op](self.held(fname, value), text)
        if kind == "timestamp":
            sent: Any = ts_read(text, fmt)
            if self.mode == "unit":
                value = ts_floor(value, fmt)
        elif kind == "date":
            sent = date_read(text, fmt)
        elif kind == "int64":
            try:
                sent = int(text)
            except ValueError:
                sent = None
        else:
            try:
                sent = Decimal(text)
            except InvalidOperation:
                sent = None
            value = Decimal(repr(value)) if isinstance(value, float) else value
            if self.mode == "unit":
                value = num_floor(value, fmt)
        return sent is not None and OPS[op](value, sent)

    def held(self, fname: str, value: Any) -> str:
        """The text a ``text`` API holds for a value (its values are on the format's grid)."""
        decl = self.filters[fname]
        kind = KINDS[fname]
        if kind == "timestamp":
            return ts_text(value, decl.format, decl.offset)
        if kind == "date":
            return date_text(value, decl.format)
        if kind == "int64":
            return num_text(Decimal(value), decl.format)
        return num_text(Decimal(repr(value)) if isinstance(value, float) else value, decl.format)

    @staticmethod
    def render(record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        if record["at"] is not None:
            out["at"] = record["at"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if record["day"] is not None:
            out["day"] = record["day"].isoformat()
        if record["amount"] is not None:
            out["amount"] = format(record["amount"], "f")
        return out

    def pushed(self, fname: str) -> list[str]:
        """Every parameter name of ``fname`` the API received."""
        return [k for args in self.requests for k in args if k.rpartition("_")[0] == fname]


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def spec_text(base: str, filters: dict[str, FilterDecl], compare: str) -> str:
    """The spec a user would write for this API."""
    declared: dict[str, Any] = {}
    for fname, decl in filters.items():
        ops = {}
        for op in decl.ops:
            param: dict[str, Any] = {"param": f"{fname}_{op}", "format": decl.format}
            if op == "in":
                param["join"] = ","
            if decl.offset:
                param["offset"] = decl.offset
            if compare == "text":
                param["compare"] = "text"
            ops[op] = param
        declared[fname] = ops
    spec = {
        "version": 1,
        "api": {
            "name": "formats_api",
            "base_url": base,
            "auth": {"type": "api_key", "in": "header", "name": "X-API-Key", "value": "{secret.api_key}"},
            "retry": {"max_attempts": 1},
        },
        "entities": [
            {
                "name": "events",
                "path": "/events",
                "records": "data",
                "primary_key": ["id"],
                "fields": {"id": {"type": "int64", "nullable": False}, **KINDS},
                "filters": declared,
                "incremental": {"field": "at"},
            }
        ],
    }
    return yaml.safe_dump(spec, sort_keys=False)


@contextmanager
def serve(app: Callable[..., Any]) -> Iterator[str]:
    """Serve ``app`` on loopback; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.socket.getsockname()[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
