"""Python escape hatches, loaded only from modules the spec declares: record transform, page parsing,
request preparation, a custom paginator and a whole entity implemented as a class."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.client import SaaSClient
from shared.errors import SpecError
from shared.predicates import Op, Predicate
from shared.spec import load_spec_text
from tests.support.clock import FakeClock
from tests.support.fake_saas import API_KEY, FakeSaaS, make_records, serve

HOOKS = textwrap.dedent(
    '''
    from typing import Any

    def upper_name(record):
        if record["id"] % 5 == 0:
            return None
        return {**record, "name": record["name"].upper()}

    def parse(body, response):
        return [{"id": r[0], "name": r[1]} for r in body["rows"]]

    def add_header(call, settings):
        call.headers["X-Tenant"] = settings["tenant"]

    class EveryOther:
        """A custom paginator: offset with a step of two pages' worth, to prove the hook is used."""

        def __init__(self, options):
            self.step = options.get("step", 1)

        def first(self, call, page_size):
            call.params.append(("offset", "0"))
            call.params.append(("limit", str(page_size)))

        def resume(self, state, call, page_size):
            call.params.append(("offset", str(state["o"])))
            call.params.append(("limit", str(page_size)))

        def advance(self, state, response, body, records, page_size):
            if not records:
                return None
            return {"o": (state or {"o": 0})["o"] + len(records)}

    class Squares:
        """An entity no declaration fits: computed, paged by a number in the state."""

        def __init__(self, client, entity):
            self.client = client

        def fetch_page(self, plan, state, page_size, deadline):
            start = (state or {"n": 1})["n"]
            stop = min(start + page_size, 23)
            records = [{"n": n, "square": n * n} for n in range(start, stop)]
            return records, ({"n": stop} if stop < 23 else None)

    def factory(options):
        return EveryOther(options)
    '''
)


@pytest.fixture
def hooks_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "acme_hooks.py").write_text(HOOKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "acme_hooks"
    sys.modules.pop("acme_hooks", None)


def spec(base: str, extra_entity: str = "", modules: str = "[acme_hooks]") -> str:
    return f"""
api:
  name: hooked
  base_url: {base}
  auth: {{type: api_key, name: X-API-Key, value: "{{secret.api_key}}"}}
  hooks: {{modules: {modules}}}
  settings: {{tenant: {{default: t-1}}}}
  pagination: {{type: hook, factory: "acme_hooks:factory", page_size: 4}}
entities:
  - name: items
    path: /items
    records: data
    fields: {{id: int64, name: string}}
    filters: {{id: {{ge: {{param: min_id}}}}}}
    hooks: {{transform: "acme_hooks:upper_name", prepare_request: "acme_hooks:add_header"}}
{extra_entity}
"""


def test_transform_prepare_request_and_paginator_hooks(hooks_module: str) -> None:
    app = FakeSaaS(make_records(17), style="offset", total=False)
    with serve(app) as base:
        client = SaaSClient(load_spec_text(spec(base)), {"api_key": API_KEY}, clock=FakeClock())
        got = list(client.iter_records(client.plan("items", [Predicate("id", Op.GE, 3)])))
    assert [r["id"] for r in got] == [i for i in range(3, 18) if i % 5]
    assert all(r["name"] == r["name"].upper() for r in got)
    assert {h.get("X-Tenant") for h in app.headers_seen} == {"t-1"}
    assert all(r.args["min_id"] == "3" for r in app.requests)


def test_an_entity_implemented_as_a_class_resumes_from_tokens(hooks_module: str) -> None:
    extra = """
  - name: squares
    class: "acme_hooks:Squares"
    fields: {n: int64, square: int64}
"""
    text = spec("http://127.0.0.1:9", extra)
    seen = []
    token = None
    while True:
        client = SaaSClient(load_spec_text(text), {"api_key": API_KEY}, clock=FakeClock())
        page = client.fetch_page(client.plan("squares"), token, page_size=5)
        seen.extend(r["n"] for r in page.records[:3])
        token = page.token_after(3)
        if token is None:
            break
    assert seen == list(range(1, 23))


def test_parse_page_hook(hooks_module: str) -> None:
    from werkzeug.wrappers import Request, Response

    def app(environ: dict, start_response: object) -> object:
        Request(environ)
        return Response('{"rows": [[1, "a"], [2, "b"]]}', content_type="application/json")(environ, start_response)

    with serve(app) as base:
        text = spec(base).replace('transform: "acme_hooks:upper_name"', 'parse_page: "acme_hooks:parse"')
        text = text.replace(
            'pagination: {type: hook, factory: "acme_hooks:factory", page_size: 4}', "pagination: {type: none}"
        )
        client = SaaSClient(load_spec_text(text), {"api_key": API_KEY}, clock=FakeClock())
        assert list(client.iter_records(client.plan("items"))) == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]


def test_hooks_from_undeclared_modules_are_refused_at_load() -> None:
    with pytest.raises(SpecError) as err:
        load_spec_text(spec("http://x", modules="[other]"))
    text = str(err.value)
    assert "hook module 'acme_hooks' is not declared in api.hooks.modules (declared: other)" in text
    assert text.count("is not declared in api.hooks.modules") == 3
