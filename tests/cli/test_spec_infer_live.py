"""``spec infer URL`` writes a spec a SaaS engineer can keep, and ``spec lint --live`` checks a spec against the API.

Against the demo API and a real Datasette: the inferred spec keeps the base URL's path, turns the credential header
into ``auth`` with a ``{secret.NAME}`` placeholder (never the value), names the entity without the extension,
finds the records among other lists of objects, proposes the right pagination and only verified filters, lints,
and reads every record of the source. The live lint passes those specs and fails one whose filter the API ignores.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import yaml

from demo_api.server import DemoServer
from shared.client import SaaSClient
from shared.spec import load_spec
from tests.cli.conftest import dump, run_main
from tests.support.datasette_server import DatasetteProcess, make_database, table

DEMO_SPEC = resources.files("shared.specs") / "demo.yaml"
DEMO_PAGINATION = {
    "accounts": "type: offset, offset_param: offset, limit_param: limit, total_path: total",
    "contacts": "type: cursor, cursor_path: meta.next_cursor, cursor_param: cursor, size_param: page_size",
    "deals": "type: link_header, size_param: per_page, total_header: X-Total-Count",
    "activities": "type: next_url, next_url_path: links.next, size_param: limit",
}


@pytest.fixture(scope="module")
def datasette(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    db = make_database(tmp_path_factory.mktemp("datasette") / "shop.db")
    with DatasetteProcess(db) as base:
        yield base, db


def read_all(spec_file: Path, entity: str, secrets: dict[str, str]) -> list[dict]:
    client = SaaSClient(load_spec(str(spec_file)), secrets)
    return list(client.iter_records(client.plan(entity)))


@pytest.mark.parametrize("entity", sorted(DEMO_PAGINATION))
def test_infer_on_the_demo_api_writes_a_spec_that_lints_and_reads_every_record(
    cli_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], entity: str
) -> None:
    out = tmp_path / f"{entity}.yaml"
    run = run_main(
        ["spec", "infer", f"{cli_server.base_url}/{entity}", "--header", f"X-API-Key: {cli_server.api_key}",
         "--header", "Accept: application/json", "-o", str(out)], capsys,
    )  # fmt: skip
    assert run.code == 0, run.err
    text = out.read_text()
    assert cli_server.api_key not in text and cli_server.api_key not in run.err + run.out
    doc = yaml.safe_load(text)
    api, spec_entity = doc["api"], doc["entities"][0]
    assert api["base_url"] == cli_server.base_url  # the path (/api/v1) kept: SAAS_BASE_URL is not doubled
    assert api["auth"] == {"type": "api_key", "in": "header", "name": "X-API-Key", "value": "{secret.api_key}"}
    assert api["headers"] == {"Accept": "application/json"}
    assert yaml.safe_load("{" + DEMO_PAGINATION[entity] + "}").items() <= api["pagination"].items()
    assert spec_entity["name"] == entity and spec_entity["fields"]["id"] == {"type": "int64", "nullable": False}
    assert "checked: read" in run.err
    assert run_main(["spec", "lint", str(out)], capsys).code == 0
    got = read_all(out, entity, {"api_key": cli_server.api_key})
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in dump(cli_server, entity))
    for name, filters in (spec_entity.get("filters") or {}).items():
        assert list(filters) == ["eq"], name  # only verified equality filters are proposed


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_infer_on_datasette_writes_a_spec_that_lints_and_reads_every_record(
    datasette: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], entity: str
) -> None:
    base, db = datasette
    out = tmp_path / f"{entity}.yaml"
    run = run_main(["spec", "infer", f"{base}/{entity}.json?_shape=objects", "-o", str(out)], capsys)
    assert run.code == 0, run.err
    assert "other lists of objects: 'suggested_facets'" in run.err  # the facets were seen, and not taken
    doc = yaml.safe_load(out.read_text())
    spec_entity = doc["entities"][0]
    assert doc["api"]["base_url"] == base and spec_entity["name"] == entity
    assert spec_entity["path"] == f"/{entity}.json" and spec_entity["records"] == "rows"
    assert spec_entity["params"] == {"_shape": "objects"}
    assert doc["api"]["pagination"] == {"type": "cursor", "cursor_path": "next", "cursor_param": "_next",
                                        "size_param": "_size"}  # fmt: skip
    assert run_main(["spec", "lint", str(out)], capsys).code == 0
    key = "sku" if entity == "products" else "id"
    got = read_all(out, entity, {})
    assert [r[key] for r in got] == [r[key] for r in table(db, entity)]
    assert got == table(db, entity)
    lint = run_main(["spec", "lint", str(out), "--live"], capsys)
    assert lint.code == 0, lint.out


def test_lint_live_passes_the_bundled_specs_against_their_apis(
    cli_server: DemoServer, datasette: tuple[str, Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    run = run_main(["spec", "lint", "datasette", "--live", "--base-url", datasette[0]], capsys)
    assert run.code == 0, run.out
    assert "FAIL" not in run.out and "filter country ne (?country__not): narrows" in run.out
    monkeypatch.setenv("SAAS_API_KEY", cli_server.api_key)
    run = run_main(["spec", "lint", "demo", "--live", "--base-url", cli_server.base_url], capsys)
    assert run.code == 0, run.out
    assert "pagination advances" in run.out


def test_lint_live_catches_a_filter_the_api_ignores(
    cli_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo API ignores unknown parameters (as many do): a misspelt filter would return every account, and a
    pushed exact filter is not re-applied, so the connectors would answer wrongly. Only a live check can see it."""
    doc = yaml.safe_load(DEMO_SPEC.read_text())
    accounts = next(e for e in doc["entities"] if e["name"] == "accounts")
    accounts["filters"]["industry"]["eq"] = {"param": "industri"}  # the typo
    spec = tmp_path / "typo.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("SAAS_API_KEY", cli_server.api_key)
    assert run_main(["spec", "lint", str(spec)], capsys).code == 0  # statically fine
    run = run_main(["spec", "lint", str(spec), "--live", "--base-url", cli_server.base_url], capsys)
    assert run.code == 1
    line = next(x for x in run.out.splitlines() if "FAIL" in x)
    assert "filter industry eq (?industri): the API ignored it" in line, run.out
    assert "1 of 4 entities failed the live checks" in run.out


def test_lint_live_reports_a_wrong_cursor_path_on_a_full_first_page(
    cli_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = yaml.safe_load(DEMO_SPEC.read_text())
    contacts = next(e for e in doc["entities"] if e["name"] == "contacts")
    contacts["pagination"]["cursor_path"] = "meta.next"
    spec = tmp_path / "cursor.yaml"
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("SAAS_API_KEY", cli_server.api_key)
    run = run_main(["spec", "lint", str(spec), "--live", "--base-url", cli_server.base_url], capsys)
    assert run.code == 1
    assert "no cursor at 'meta.next'" in run.out and "'meta' is an object with keys next_cursor" in run.out, run.out
