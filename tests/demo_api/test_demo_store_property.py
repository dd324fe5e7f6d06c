"""The store's position arithmetic agrees with a naive list model under random writes and deletes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from demo_api.data import CONTACT_FIELDS, Dataset, Sizes
from demo_api.filters import Condition, Query
from demo_api.store import Store

BASE = 40
ops = st.lists(
    st.one_of(
        st.tuples(st.just("delete"), st.integers(1, BASE + 10)),
        st.tuples(st.just("create"), st.just(0)),
        st.tuples(st.just("put"), st.integers(1, BASE + 20)),
        st.tuples(st.just("mutate"), st.integers(1, BASE + 10)),
    ),
    max_size=25,
)
VALUES = {field: None for field in CONTACT_FIELDS} | {"email": "p@example.com", "status": "lead", "tags": []}


@settings(max_examples=60, deadline=None)
@given(
    ops=ops,
    id_min=st.none() | st.integers(0, BASE + 20),
    id_max=st.none() | st.integers(0, BASE + 20),
    filtered=st.booleans(),
    offset=st.integers(0, BASE + 20),
    limit=st.integers(1, 15),
)
def test_pages_and_counts_match_a_naive_model(
    ops: list[tuple[str, int]], id_min: int | None, id_max: int | None, filtered: bool, offset: int, limit: int
) -> None:
    store = Store(Dataset(3, Sizes.resolve(rows={"accounts": 5, "contacts": BASE, "deals": 0})))
    for op, arg in ops:
        if op == "delete":
            store.delete("contacts", arg)
        elif op == "create":
            store.create("contacts", VALUES, CONTACT_FIELDS)
        elif op == "put":
            store.replace("contacts", arg, VALUES, CONTACT_FIELDS)
        else:
            store.mutate("contacts", ids=[arg])
    conditions = (Condition("status", "in", frozenset({"lead", "customer"}), "enum"),) if filtered else ()
    query = Query(conditions, id_min, id_max)

    everything = store.all_records("contacts")
    expected = [
        r
        for r in everything
        if (id_min is None or r["id"] >= id_min)
        and (id_max is None or r["id"] <= id_max)
        and (not filtered or r["status"] in ("lead", "customer"))
    ]
    records, total = store.page_at("contacts", query, offset, limit)
    assert total == len(expected) == store.count("contacts", query)
    assert records == expected[offset : offset + limit]
    after = expected[offset - 1]["id"] if 0 < offset <= len(expected) else 0
    if offset <= len(expected):
        assert store.scan("contacts", after, query, limit) == expected[offset : offset + limit]
