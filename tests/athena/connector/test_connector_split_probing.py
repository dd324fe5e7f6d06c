"""Splits sized from probe pages for an API that cannot count, through ``lambda_handler`` with JSON events.

The fake API (``tests/support/fake_saas.py``) has no count and no total: cursor pages in id order, or offset
pages in a shuffled order. Its ``items`` grow 100x past the spec's static ``id_range`` hint (ids 1-100 in two
windows), so the open-ended last window would hold nearly everything. GetSplits estimates window sizes from
small pages and cuts; every split's real size is checked against the records, and every record is read by
exactly one split. With ``split_probes=false`` the static windows stand.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from shared.splits import HIGH, LOW
from tests.athena.connector.harness import Connector
from tests.support.fake_saas import API_KEY, FakeSaaS, fake_spec_text, make_records, serve

TARGET = 200
HINT = "    splits: {by: id_range, field: id, start: 1, end: 100, count: 2}\n"
SHAPES = {"cursor": ("cursor", False), "shuffled": ("offset_no_total", True)}


@contextmanager
def fake_api(shape: str, size: int) -> Iterator[FakeSaaS]:
    pagination, shuffled = SHAPES[shape]
    records = make_records(size)
    if shuffled:
        random.Random(size).shuffle(records)
    app = FakeSaaS(records, style=pagination.replace("_no_total", ""), total=False)
    app.max_page_size = 100
    with serve(app):
        app.pagination = pagination  # type: ignore[attr-defined]
        yield app


def use(connector: Connector, app: FakeSaaS, tmp_path: Path, probes: bool = True) -> None:
    spec = fake_spec_text(app.base_url, app.pagination, entity_extra=HINT)  # type: ignore[attr-defined]
    spec = spec.replace("page_size: 10}", "page_size: 100}")
    path = tmp_path / "fake.yaml"
    path.write_text(spec)
    connector.setenv("SAAS_SPEC", str(path))
    connector.setenv("SAAS_BASE_URL", app.base_url)
    connector.setenv("SAAS_API_KEY", API_KEY)
    connector.setenv("schema_name", "demo_crm")
    connector.setenv("max_rows_per_split", str(TARGET))
    connector.setenv("max_splits_per_response", "7")  # several GetSplits pages: continuation tokens are used
    connector.setenv("split_probes", "true" if probes else "false")


def rows_of(app: FakeSaaS, properties: dict[str, Any]) -> list[int]:
    low = int(properties[LOW]) if properties.get(LOW) else None
    high = int(properties[HIGH]) if properties.get(HIGH) else None  # id ranges are inclusive
    return [r["id"] for r in app.records if (low is None or r["id"] >= low) and (high is None or r["id"] <= high)]


@pytest.mark.parametrize("size", [100, 1000, 10_000], ids=["1x", "10x", "100x"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_splits_are_sized_from_probe_pages_as_the_data_grows(
    connector: Connector, shape: str, size: int, tmp_path: Path
) -> None:
    with fake_api(shape, size) as api:
        sized(connector, api, size, tmp_path)


def sized(connector: Connector, api: FakeSaaS, size: int, tmp_path: Path) -> None:
    use(connector, api, tmp_path)
    before = len(api.requests)
    splits, calls = connector.splits("items")
    probes = len(api.requests) - before
    sizes = [len(rows_of(api, dict(s.properties))) for s in splits]
    assert sum(sizes) == size  # the windows partition the ids
    assert max(sizes) <= TARGET
    assert len(splits) <= max(2, 4 * size / TARGET)  # not cut into crumbs either
    assert calls == -(-len(splits) // 7)
    assert probes <= 12 * len(splits) + 30
    assert LOW not in splits[0].properties and HIGH not in splits[-1].properties  # later ids still have a split


@pytest.mark.parametrize("size", [100, 1000], ids=["1x", "10x"])  # reading all of 100x proves no more, slowly
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_union_of_probed_splits_is_exactly_the_data(
    connector: Connector, shape: str, size: int, tmp_path: Path
) -> None:
    with fake_api(shape, size) as api:
        union(connector, api, tmp_path)


def union(connector: Connector, api: FakeSaaS, tmp_path: Path) -> None:
    use(connector, api, tmp_path)
    connector.server = api
    schema = pa.schema([("id", pa.int64())])
    splits, _ = connector.splits("items")
    added = make_records(len(api.records) + 30)[len(api.records) :]
    api.records.extend(added)  # created between planning and reading: beyond every edge, the open tail reads them
    got: list[int] = []
    for split in splits:
        table, _ = connector.read_split("items", split, schema)
        got += table.column("id").to_pylist()
    assert len(got) == len(set(got)), "a record was read by two splits"
    assert sorted(got) == sorted(r["id"] for r in api.records)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_without_probes_the_static_hint_stands(connector: Connector, shape: str, tmp_path: Path) -> None:
    with fake_api(shape, 1000) as api:
        use(connector, api, tmp_path, probes=False)
        before = len(api.requests)
        splits, _ = connector.splits("items")
        assert len(api.requests) == before  # no request at all while planning
    assert [(s.properties.get(LOW), s.properties.get(HIGH)) for s in splits] == [(None, "50"), ("51", None)]
