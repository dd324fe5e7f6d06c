"""Splits sized from the data, through ``lambda_handler`` with JSON GetSplits / ReadRecords events.

The demo API counts records three ways (accounts: a total in the body; contacts: a count endpoint; deals: the
X-Total-Count header). As its data grows 100x (scale 0.1 to 10), GetSplits keeps every split at or under the
target (``max_rows_per_split``), counted by the API itself, and the splits' counts add up to the entity's; at
scale 1 every split is read and the union is exactly the API's data, also when records are created between
the count probes and the reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
import requests
import yaml

from demo_api.server import DemoServer
from shared.client import SaaSClient
from shared.counts import count_matching
from shared.deadline import Deadline
from shared.spec import load_spec
from shared.splits import HIGH, LOW, PARTITION_VALUE, partition_scope, split_predicates
from tests.athena.connector.harness import Connector

TARGET = 1500
ENTITIES = ("accounts", "contacts", "deals")


@pytest.fixture(scope="module", params=[0.1, 1.0, 10.0], ids=["0.1x", "1x", "10x"])
def grown(request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    with DemoServer(port=0, scale=request.param) as srv:
        yield srv


def use(connector: Connector, server: DemoServer, target: int = TARGET, per_response: int = 25) -> SaaSClient:
    connector.setenv("SAAS_BASE_URL", server.base_url)
    connector.setenv("SAAS_API_KEY", server.api_key)
    connector.setenv("max_rows_per_split", str(target))
    connector.setenv("max_splits_per_response", str(per_response))  # several GetSplits pages: tokens are used
    return SaaSClient(load_spec("demo", base_url=server.base_url), {"api_key": server.api_key})


def split_count(client: SaaSClient, entity_name: str, properties: dict[str, str]) -> int:
    """What the API counts in one split: its window and its partition, as the split's read asks for them."""
    entity = client.entity(entity_name)
    predicates = [*split_predicates(entity, properties), *partition_scope(entity, properties).pushed]
    return count_matching(client, entity, predicates, Deadline.none())


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_split_stays_under_the_target_as_the_data_grows(
    connector: Connector, grown: DemoServer, entity: str
) -> None:
    client = use(connector, grown)
    splits, calls = connector.splits(entity)
    counts = [split_count(client, entity, dict(s.properties)) for s in splits]
    total = count_matching(client, client.entity(entity), [], Deadline.none())
    assert sum(counts) == total  # the windows of each partition partition the data (stages are exhaustive)
    assert max(counts) <= TARGET
    assert len(splits) >= total / TARGET  # no fewer than the data needs ...
    assert calls == -(-len(splits) // 25)  # ... paged 25 at a time
    if entity != "deals":  # the open-ended ends stay open-ended, so later records still have a split
        assert LOW not in splits[0].properties and HIGH not in splits[-1].properties


def uncounted(tmp_path: Path) -> Path:
    spec = yaml.safe_load((resources.files("shared.specs") / "demo.yaml").read_text())
    for e in spec["entities"]:
        e.pop("count", None)
    path = tmp_path / "uncounted.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_without_a_count_or_probes_the_static_hints_stand(
    connector: Connector, grown: DemoServer, tmp_path: Path
) -> None:
    use(connector, grown)
    connector.setenv("SAAS_SPEC", str(uncounted(tmp_path)))
    connector.setenv("split_probes", "false")
    splits, _ = connector.splits("contacts")
    assert len(splits) == 10  # the hint's 180-day windows from 2021 to mid-2025, whatever the data's size
    deals, _ = connector.splits("deals")
    assert sorted(dict(s.properties)[PARTITION_VALUE] for s in deals) == sorted(load_spec("demo").entity(
        "deals").partitions.values)  # type: ignore[union-attr]  # fmt: skip


@pytest.fixture
def small_api() -> Iterator[DemoServer]:
    with DemoServer(port=0, scale=0.25) as srv:
        yield srv


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_union_of_sized_splits_is_exactly_the_data(
    connector: Connector, small_api: DemoServer, entity: str
) -> None:
    use(connector, small_api, target=400)
    connector = Connector(small_api, connector.monkeypatch)  # dumps from this API
    result = connector.query(entity, ["id"])
    got = result.table.column("id").to_pylist()
    assert len(got) == len(set(got)), "a record was read by two splits"
    assert sorted(got) == sorted(r["id"] for r in connector.dump(entity))
    assert len(result.splits) > 5


def test_records_created_between_the_count_probes_and_the_reads_are_read_once(
    connector: Connector, small_api: DemoServer
) -> None:
    use(connector, small_api, target=400)
    connector = Connector(small_api, connector.monkeypatch)
    schema = connector.table_schema("contacts")
    splits, _ = connector.splits("contacts")
    headers = {"X-API-Key": small_api.api_key}
    created = []
    for i in range(30):  # new contacts: updated now, beyond every planned edge: the open-ended tail reads them
        body = {"first_name": f"New{i}", "last_name": "Contact", "email": f"new{i}@example.com", "status": "lead"}
        answer = requests.post(f"{small_api.base_url}/contacts", json=body, headers=headers, timeout=10)
        assert answer.status_code == 201, answer.text
        created.append(answer.json()["id"])
    got: list[int] = []
    for split in splits:
        table, _ = connector.read_split("contacts", split, schema)
        got += table.column("id").to_pylist()
    assert len(got) == len(set(got))
    assert sorted(got) == sorted(r["id"] for r in connector.dump("contacts"))
    assert set(created) <= set(got)


@pytest.mark.parametrize("entity", ENTITIES)
def test_without_a_count_probe_pages_size_the_splits_exactly(
    connector: Connector, small_api: DemoServer, tmp_path: Path, entity: str
) -> None:
    """No count declared: GetSplits estimates from probe pages; the API's own counts check the sizes."""
    client = use(connector, small_api, target=400)
    connector.setenv("SAAS_SPEC", str(uncounted(tmp_path)))
    connector = Connector(small_api, connector.monkeypatch)
    result = connector.query(entity, ["id"])
    got = result.table.column("id").to_pylist()
    assert len(got) == len(set(got)), "a record was read by two splits"
    assert sorted(got) == sorted(r["id"] for r in connector.dump(entity))
    counts = [split_count(client, entity, dict(s.properties)) for s in result.splits]
    assert max(counts) <= 400 < sum(counts) == len(got)
