"""Fault injection schedule: which request gets which fault.

A rule ``{"kind", "count", "after", "entity", ...kind keys}`` watches the requests it applies to (its
``entity`` — an entity name such as ``"contacts"``, ``"me"``, ``"token"``, or a path prefix starting with
``/`` — and routes where its kind makes sense). It lets ``after`` of them pass, then fires on the next
``count`` (``null`` or ``-1``: forever). A request fires at most one fault besides ``slow`` (which
combines with others): the first ready rule in schedule order. What each fault does is in
:mod:`demo_api.fault_effects` and the handlers.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

# kind -> {key: default} of its kind-specific keys
KIND_KEYS: dict[str, dict[str, Any]] = {
    "status": {"code": 503, "message": None, "retry_after": None},
    "rate_limit": {"retry_after": 1, "retry_after_date": False},
    "slow": {"delay_s": 2.0},
    "truncate": {},
    "malformed": {},
    "foreign_next": {"host": "evil.example.invalid"},
    "mutate_between_pages": {"n": 5},
    "delete_between_pages": {"n": 1},
    "repeat_token": {},
    "repeat_record": {"back": 0},
    "redirect": {"location": "http://evil.example.invalid", "code": 302, "keep_path": True},
    "drift": {"field": None, "value": None, "drop": None, "add": None},
    "reset": {},
}
KINDS: frozenset[str] = frozenset(KIND_KEYS)
# Kinds that make sense on every fault-able route; the rest only where the route says so.
GENERIC_KINDS: frozenset[str] = frozenset(
    {"status", "rate_limit", "slow", "truncate", "malformed", "reset", "redirect"}
)
_COMMON_KEYS = {"kind", "count", "after", "entity"}


class FaultSpecError(ValueError):
    pass


@dataclass
class FaultRule:
    kind: str
    count: int | None = 1  # None = unlimited
    after: int = 0
    entity: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    fired: int = 0

    def applies(self, entity: str, path: str) -> bool:
        if self.entity is None:
            return True
        if self.entity.startswith("/"):
            return path.startswith(self.entity)
        return self.entity == entity

    def get(self, key: str) -> Any:
        return self.params[key]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "after": self.after,
            "entity": self.entity,
            "fired": self.fired,
            **self.params,
        }


def _int(spec: dict[str, Any], key: str, default: int, lo: int) -> int:
    value = spec.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise FaultSpecError(f"{key!r} must be an integer >= {lo}, got {value!r}")
    return value


def _check_params(kind: str, params: dict[str, Any]) -> None:
    if kind == "status":
        code = params["code"]
        if not isinstance(code, int) or not 400 <= code <= 599:
            raise FaultSpecError(f"status fault: 'code' must be an HTTP error status 400-599, got {code!r}")
    if kind in ("status", "rate_limit"):
        ra = params["retry_after"]
        if ra is not None and (not isinstance(ra, int | float) or isinstance(ra, bool) or ra < 0):
            raise FaultSpecError(f"'retry_after' must be a number of seconds >= 0 or null, got {ra!r}")
    if kind == "slow":
        delay = params["delay_s"]
        if not isinstance(delay, int | float) or isinstance(delay, bool) or not 0 <= delay <= 300:
            raise FaultSpecError(f"slow fault: 'delay_s' must be 0-300 seconds, got {delay!r}")
    if kind in ("mutate_between_pages", "delete_between_pages"):
        n = params["n"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise FaultSpecError(f"{kind} fault: 'n' must be an integer >= 1, got {n!r}")
    if kind == "repeat_record":
        back = params["back"]
        if not isinstance(back, int) or isinstance(back, bool) or not 0 <= back <= ServedPages.DEPTH:
            raise FaultSpecError(f"repeat_record fault: 'back' must be 0-{ServedPages.DEPTH} pages, got {back!r}")
    if kind == "redirect":
        if params["code"] not in (301, 302, 303, 307, 308):
            raise FaultSpecError(f"redirect fault: 'code' must be 301, 302, 303, 307 or 308, got {params['code']!r}")
        if not isinstance(params["location"], str) or not params["location"]:
            raise FaultSpecError("redirect fault: 'location' must be a URL")
    if kind == "drift" and params["add"] is not None and not isinstance(params["add"], dict):
        raise FaultSpecError("drift fault: 'add' must be an object")


def parse_rule(spec: Any) -> FaultRule:
    if not isinstance(spec, dict):
        raise FaultSpecError(f"a fault must be an object, got {spec!r}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    defaults = KIND_KEYS[kind]
    unknown = sorted(set(spec) - _COMMON_KEYS - set(defaults))
    if unknown:
        raise FaultSpecError(f"{kind} fault: unknown key(s) {', '.join(unknown)}")
    raw_count = spec.get("count", 1)
    count = None if raw_count is None or raw_count == -1 else _int(spec, "count", 1, 1)
    entity = spec.get("entity")
    if entity is not None and (not isinstance(entity, str) or not entity):
        raise FaultSpecError(f"'entity' must be a non-empty string, got {entity!r}")
    params = {key: spec.get(key, default) for key, default in defaults.items()}
    _check_params(kind, params)
    return FaultRule(kind=kind, count=count, after=_int(spec, "after", 0, 0), entity=entity, params=params)


def parse_rules(payload: Any) -> list[FaultRule]:
    """A list of rules, ``{"faults": [...]}``, or a single rule object."""
    if isinstance(payload, dict) and "faults" in payload:
        payload = payload["faults"]
    if isinstance(payload, dict):
        payload = [payload]
    if not isinstance(payload, list):
        raise FaultSpecError("expected a list of fault objects")
    return [parse_rule(spec) for spec in payload]


@dataclass
class Fired:
    """One fault firing on one request (``event`` is what /_admin/stats shows)."""

    rule: FaultRule
    event: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.rule.kind


class ServedPages:
    """The first record of each list page recently served, per entity and query (for ``repeat_record``); a page
    asked for again (a reader resuming in its middle) counts once."""

    DEPTH = 32  # pages remembered per query
    QUERIES = 256  # queries remembered

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._firsts: dict[Any, deque[dict[str, Any]]] = {}

    def note(self, scope: Any, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with self._lock:
            firsts = self._firsts.pop(scope, None) or deque(maxlen=self.DEPTH)
            if not firsts or firsts[-1] != records[0]:  # the same page served again is not another page
                firsts.append(records[0])
            self._firsts[scope] = firsts  # most recently used last
            while len(self._firsts) > self.QUERIES:
                del self._firsts[next(iter(self._firsts))]

    def back(self, scope: Any, pages: int) -> dict[str, Any] | None:
        """The first record of the page served ``pages`` pages before the next one (1: the previous page)."""
        with self._lock:
            firsts = self._firsts.get(scope)
            return firsts[-pages] if firsts is not None and len(firsts) >= pages else None

    def clear(self) -> None:
        with self._lock:
            self._firsts.clear()


class FaultSchedule:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)
        self.counts: Counter[str] = Counter()

    def set(self, rules: list[FaultRule], append: bool = False) -> None:
        with self._lock:
            self._rules = [*self._rules, *rules] if append else list(rules)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def reset_stats(self) -> None:
        with self._lock:
            self.log.clear()
            self.counts.clear()

    def pick(self, entity: str, method: str, path: str, applicable: frozenset[str]) -> list[Fired]:
        """The faults this request fires (consuming them from the schedule)."""
        fired: list[Fired] = []
        exclusive = False
        with self._lock:
            for rule in self._rules:
                if rule.kind not in applicable or not rule.applies(entity, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.kind != "slow":
                    if exclusive:
                        continue
                    exclusive = True
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                event = {"kind": rule.kind, "method": method, "path": path, "entity": entity}
                self.log.append(event)
                self.counts[rule.kind] += 1
                fired.append(Fired(rule, event))
            self._rules = [r for r in self._rules if r.count is None or r.count > 0]
        return fired
