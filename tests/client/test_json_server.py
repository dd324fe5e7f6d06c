"""The bundled ``json_server`` spec against a real json-server 0.17 (npm), a server nobody here wrote.

Every entity is read completely and compared with the db.json it serves; pushed filters give exactly what
evaluating the predicates locally gives; the nested route (comments under posts) reads as a child
resource; a fresh client resumes from a token; writes go through json-server's POST, PATCH and PUT.

json-server is pinned in ``tests/json_server/package.json`` (+ lockfile); CI installs it with
``npm ci --prefix tests/json_server``. Without Node.js these tests skip; when node is there but the
install fails, they fail with npm's output.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.client import SaaSClient
from shared.predicates import Op, Predicate, matches
from shared.records import Extractor
from shared.spec import SourceSpec, load_spec
from tests.support.processes import stop_process

JSON_SERVER_DIR = Path(__file__).resolve().parents[1] / "json_server"
JSON_SERVER_BIN = JSON_SERVER_DIR / "node_modules" / ".bin" / "json-server"
START_TIMEOUT_S = 30.0

CITIES = ["Lisbon", "Porto", "Berlin", "Nairobi", "Osaka", "Quito", "São Paulo"]
ROLES = ["admin", "editor", "viewer", None]
TAGS = ["alpha", "beta", "gamma", "delta", "epsilon"]
N_USERS, N_POSTS, N_COMMENTS = 200, 300, 450


# -- the data ------------------------------------------------------------------------------------------
def _timestamp(rng: random.Random) -> str:
    """Mixed precision on purpose: JavaScript's toISOString() (milliseconds) and whole seconds."""
    base = dt.datetime(2023, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(0, 2 * 365 * 86400))
    if rng.random() < 0.5:
        return base.strftime("%Y-%m-%dT%H:%M:%S") + f".{rng.randrange(1000):03d}Z"
    return base.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_db() -> dict[str, list[dict[str, Any]]]:
    """A deterministic db.json: nested objects, arrays (some empty), nulls, every declared type."""
    rng = random.Random(20240501)
    users = []
    for i in range(1, N_USERS + 1):
        address = None
        if i % 11:
            address = {
                "street": f"{i} Rua Augusta",
                "suite": None if i % 3 == 0 else f"Apt. {i % 50}",
                "city": CITIES[i % len(CITIES)],
                "zipcode": f"{(i * 37) % 99999:05d}",
                "geo": {"lat": round(rng.uniform(-90, 90), 4), "lng": round(rng.uniform(-180, 180), 4)},
            }
        balance: Any = round(rng.uniform(-250, 5000), 2)
        if i % 17 == 0:
            balance = None
        elif i % 10 == 0:
            balance = int(balance)  # an integral JSON number for a decimal field
        users.append(
            {
                "id": i,
                "name": "Zoë Ångström" if i == 7 else f"User {i}",
                "username": f"user{i:03d}",
                "email": None if i % 13 == 0 else f"user{i}@example.com",
                "role": ROLES[i % 4],
                "isActive": i % 3 != 0,
                "balance": balance,
                "score": None if i % 19 == 0 else rng.random(),
                "bornOn": None
                if i % 9 == 0
                else (dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 40 * 365))).isoformat(),
                "createdAt": _timestamp(rng),
                "address": address,
                "tags": rng.sample(TAGS, rng.randrange(0, 4)),
                "preferences": None
                if i % 5 == 0
                else {
                    "theme": rng.choice(["dark", "light"]),
                    "notifications": {"email": rng.random() < 0.5, "sms": False},
                    "langs": rng.sample(["en", "pt", "de", "ja"], 2),
                },
            }
        )
    posts = []
    for i in range(1, N_POSTS + 1):
        published = i % 4 != 0
        posts.append(
            {
                "id": i,
                "userId": 1 + (i * 7) % N_USERS,
                "title": f'Post {i}: "quoted", {{braces}} & ünïcödé',
                "body": f"line one of {i}\nline two\ttabbed",
                "published": published,
                "publishedOn": (dt.date(2023, 1, 1) + dt.timedelta(days=i)).isoformat() if published else None,
                "views": rng.randrange(0, 5000),
                "rating": None if i % 6 == 0 else round(rng.uniform(0, 5), 3),
                "createdAt": _timestamp(rng),
                "tags": rng.sample(TAGS, rng.randrange(0, 3)),
                "coauthors": [
                    {"name": f"User {rng.randrange(1, N_USERS)}", "role": rng.choice(["editor", None])}
                    for _ in range(rng.randrange(0, 3))
                ],
                "meta": None if i % 7 == 0 else {"wordCount": rng.randrange(50, 3000), "lang": "en"},
            }
        )
    comments = []
    for i in range(1, N_COMMENTS + 1):
        # post 5 gets many comments (several pages of a small page size); posts 291..300 get none
        post_id = 5 if i % 25 == 0 else 1 + (i * i) % 290
        comments.append(
            {
                "id": i,
                "postId": post_id,
                "name": f"comment {i}",
                "email": f"c{i}@example.org",
                "body": f"body {i}",
                "likes": rng.randrange(0, 50),
                "createdAt": _timestamp(rng),
                "author": None if i % 8 == 0 else {"name": f"User {i % N_USERS}", "verified": i % 2 == 0},
                "flags": [rng.random() < 0.5 for _ in range(rng.randrange(0, 3))],
            }
        )
    return {"users": users, "posts": posts, "comments": comments}


DB = make_db()


# -- json-server ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def json_server_bin() -> Path:
    """The pinned json-server; installed with ``npm ci`` once when absent (a failed install fails)."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the json-server tests need Node.js and npm (apt-get install nodejs npm)")
    if not JSON_SERVER_BIN.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("node is installed but npm is not: cannot install json-server (apt-get install npm)")
        proc = subprocess.run(
            [npm, "ci", "--prefix", str(JSON_SERVER_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if proc.returncode != 0 or not JSON_SERVER_BIN.exists():
            pytest.fail(
                f"`npm ci --prefix {JSON_SERVER_DIR}` failed (exit {proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
    return JSON_SERVER_BIN


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("json_server") / "db.json"
    path.write_text(json.dumps(DB, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def json_server(json_server_bin: Path, db_path: Path) -> Iterator[str]:
    with run_json_server(json_server_bin, db_path) as base:
        yield base


class run_json_server:
    """Start json-server on a free loopback port, wait until it answers, stop it after."""

    def __init__(self, binary: Path, db: Path) -> None:
        self.binary, self.db = binary, db
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = db.with_suffix(".log")

    def __enter__(self) -> str:
        last_error = ""
        for _ in range(3):  # another process may take the free port before json-server binds it
            port = _free_port()
            with self.log.open("wb") as log:
                self.proc = subprocess.Popen(
                    [str(self.binary), str(self.db), "--port", str(port), "--host", "127.0.0.1", "--quiet"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if requests.get(f"{base}/users?_limit=1", timeout=1).status_code == 200:
                        return base
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            last_error = self.log.read_text(errors="replace")[-4000:]
            self._stop()
        pytest.fail(f"json-server did not start:\n{last_error}")

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@functools.cache
def spec_for(base: str) -> SourceSpec:
    """Loaded once per server (loading is ~75 ms); every client built from it is still a fresh one."""
    return load_spec("json_server", base_url=base)


def client_for(base: str) -> SaaSClient:
    return SaaSClient(spec_for(base), {})


def typed(entity_name: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as the entity's typed rows (``Extractor.typed_row``), for the API's and the file's alike."""
    extractor = Extractor(spec_for("http://127.0.0.1:3000").entity(entity_name))  # the bundled default
    return [extractor.typed_row(r) for r in records]


def expected_child_records() -> list[dict[str, Any]]:
    """What post_comments must read: each post's comments, posts in id order, comments in id order."""
    by_post: dict[int, list[dict[str, Any]]] = {}
    for c in DB["comments"]:
        by_post.setdefault(c["postId"], []).append(c)
    return [
        c
        for p in sorted(DB["posts"], key=lambda p: p["id"])
        for c in sorted(by_post.get(p["id"], []), key=lambda c: c["id"])
    ]


# -- complete reads ------------------------------------------------------------------------------------
@pytest.mark.parametrize("entity", ["users", "posts", "comments"])
@pytest.mark.parametrize("page_size", [None, 50, 37])
def test_every_entity_reads_completely_and_equals_the_file(
    json_server: str, entity: str, page_size: int | None
) -> None:
    client = client_for(json_server)
    pages = list(client.iter_pages(client.plan(entity), page_size=page_size))
    got = [r for p in pages for r in p.records]
    rows = DB[entity]
    assert [r["id"] for r in got] == sorted(r["id"] for r in rows)  # every id exactly once, in id order
    assert typed(entity, got) == typed(entity, sorted(rows, key=lambda r: r["id"]))
    # json-server's Link header has no rel="next" on the last page: no extra request for an empty page
    size = page_size or client.spec.pagination_for(client.entity(entity)).page_size
    assert len(pages) == -(-len(rows) // size)
    assert sum(p.stats.requests for p in pages) == len(pages)


@pytest.mark.parametrize("entity", ["users", "posts", "comments"])
def test_every_declared_field_is_really_read(json_server: str, entity: str) -> None:
    """Equal-after-coercion could hide a wrong path (None on both sides): every field has values."""
    client = client_for(json_server)
    got = typed(entity, list(client.iter_records(client.plan(entity))))
    for name in client.entity(entity).field_names:
        assert any(row[name] is not None for row in got), f"{entity}.{name} is never read"


def test_typed_values_match_the_file_independently(json_server: str) -> None:
    client = client_for(json_server)
    got = {r["id"]: r for r in typed("users", list(client.iter_records(client.plan("users"))))}
    for raw in DB["users"]:
        row = got[raw["id"]]
        address = raw["address"]
        assert row["city"] == (address["city"] if address else None)
        assert row["latitude"] == (float(address["geo"]["lat"]) if address else None)
        assert row["address"] == (
            None if address is None else {**address, "geo": {k: float(v) for k, v in address["geo"].items()}}
        )
        assert row["is_active"] is raw["isActive"]
        assert row["born_on"] == (dt.date.fromisoformat(raw["bornOn"]) if raw["bornOn"] else None)
        assert row["balance"] == (None if raw["balance"] is None else Decimal(str(raw["balance"])))
        created = dt.datetime.fromisoformat(raw["createdAt"].replace("Z", "+00:00"))
        assert row["created_at"] == created
        assert row["tags"] == raw["tags"]
        assert row["preferences"] == (
            None
            if raw["preferences"] is None
            else json.dumps(raw["preferences"], sort_keys=True, separators=(",", ":"))
        )
    assert got[7]["name"] == "Zoë Ångström"


# -- filters -------------------------------------------------------------------------------------------
def P(field: str, op: str, value: Any = None) -> Predicate:
    return Predicate(field, Op(op), value)


T0 = dt.datetime(2024, 3, 5, 12, 30, 15, tzinfo=dt.UTC)

FILTER_CASES: list[tuple[str, list[Predicate], bool]] = [
    # (entity, predicates, pushed exactly: the server alone returns the answer)
    ("users", [P("id", "ge", 20), P("id", "le", 80)], True),
    ("users", [P("id", "gt", 20), P("id", "lt", 80)], True),
    ("users", [P("id", "between", (150, 170))], True),
    ("users", [P("id", "in", (3, 14, 15, 92, 199, 5000))], True),
    ("users", [P("id", "eq", 42)], True),
    ("users", [P("role", "eq", "editor")], True),
    ("users", [P("role", "in", ("admin", "viewer"))], True),
    ("users", [P("role", "ne", "admin")], True),
    ("users", [P("city", "eq", "São Paulo")], True),
    ("users", [P("city", "in", ("Lisbon", "Osaka", "São Paulo"))], True),
    ("users", [P("is_active", "eq", False), P("role", "eq", "viewer")], True),
    ("users", [P("balance", "between", (Decimal("100.00"), Decimal("1500.50")))], True),
    ("users", [P("score", "ge", 0.25), P("score", "lt", 0.75)], False),  # lt on a float: no neighbour
    ("users", [P("born_on", "ge", dt.date(1970, 1, 1)), P("born_on", "le", dt.date(1979, 12, 31))], True),
    ("users", [P("born_on", "gt", dt.date(1990, 6, 1))], True),
    ("users", [P("created_at", "ge", T0)], False),
    ("users", [P("created_at", "gt", T0), P("role", "in", ("editor",))], False),
    ("posts", [P("user_id", "in", (8, 15, 22)), P("published", "eq", True)], True),
    ("posts", [P("views", "ge", 1000), P("views", "le", 2000), P("rating", "ge", 2.5)], True),
    (
        "posts",
        [P("published_on", "between", (dt.date(2023, 3, 1), dt.date(2023, 5, 31))), P("id", "lt", 120)],
        True,
    ),
    ("comments", [P("post_id", "in", (5, 10, 11)), P("likes", "le", 30)], True),
    ("comments", [P("created_at", "ge", dt.datetime(2024, 1, 1, tzinfo=dt.UTC)), P("likes", "ge", 40)], False),
]


@pytest.mark.parametrize(
    ("entity", "predicates", "exact"),
    FILTER_CASES,
    ids=[f"{e}:{' & '.join(map(str, ps))}" for e, ps, _ in FILTER_CASES],
)
def test_pushed_filters_give_what_local_evaluation_gives(
    json_server: str, entity: str, predicates: list[Predicate], exact: bool
) -> None:
    client = client_for(json_server)
    plan = client.plan(entity, predicates)
    assert set(plan.pushed) == set(predicates)  # the spec declares a parameter for every one of them
    got = typed(entity, list(client.iter_records(plan)))
    all_rows = typed(entity, sorted(DB[entity], key=lambda r: r["id"]))
    expected = [row for row in all_rows if matches(row, predicates)]
    assert expected, "a case that matches nothing proves little"
    assert len(expected) < len(all_rows)
    assert [row for row in got if matches(row, plan.residual)] == expected
    if exact:
        assert plan.residual == ()
        assert got == expected  # json-server alone applied the filter
    else:
        assert plan.residual
        assert len(expected) <= len(got) < len(all_rows)  # narrowed by the server, finished locally


def test_timestamps_compare_as_text_so_only_a_date_floor_is_pushed(json_server: str) -> None:
    """Why the spec pushes a timestamp bound as its date with ``exact: false``: json-server compares the
    text, and ``...:15.500Z`` sorts before ``...:15Z`` although it is later."""
    user = next(u for u in DB["users"] if "." in u["createdAt"])
    instant = dt.datetime.fromisoformat(user["createdAt"].replace("Z", "+00:00"))
    whole_second = instant.replace(microsecond=0)
    naive = requests.get(
        f"{json_server}/users",
        params={"createdAt_gte": whole_second.strftime("%Y-%m-%dT%H:%M:%SZ"), "id": user["id"]},
        timeout=10,
    ).json()
    assert naive == []  # an exact text bound would lose this user
    client = client_for(json_server)
    plan = client.plan("users", [P("created_at", "ge", whole_second), P("id", "eq", user["id"])])
    assert ("createdAt_gte", whole_second.date().isoformat()) in plan.params
    rows = [r for r in typed("users", list(client.iter_records(plan))) if matches(r, plan.residual)]
    assert [r["id"] for r in rows] == [user["id"]]


def test_repeated_parameters_push_in_and_equality_on_nested_paths(json_server: str) -> None:
    client = client_for(json_server)
    plan = client.plan("users", [P("city", "in", ("Porto", "Lisbon")), P("id", "le", 60)])
    assert ("address.city", "Lisbon") in plan.params
    assert ("address.city", "Porto") in plan.params
    assert ("id_lte", "60") in plan.params
    assert ("_page", "1") in plan.params


# -- the child resource (nested route) -----------------------------------------------------------------
def test_comments_under_posts_read_as_a_child_resource(json_server: str) -> None:
    client = client_for(json_server)
    got = list(client.iter_records(client.plan("post_comments"), page_size=4))
    expected = expected_child_records()
    assert [r["id"] for r in got] == [c["id"] for c in expected]
    assert typed("post_comments", got) == typed("post_comments", expected)
    assert sum(1 for c in expected if c["postId"] == 5) > 4  # post 5 really needed several child pages


def test_child_filters_on_the_parent_key_and_a_pushed_bound(json_server: str) -> None:
    client = client_for(json_server)
    predicates = [P("post_id", "in", (5, 11, 9999)), P("likes", "ge", 10)]
    plan = client.plan("post_comments", predicates)
    assert sorted(k["id"] for k in plan.parent_keys or ()) == [5, 11, 9999]
    assert plan.residual == ()
    got = typed("post_comments", list(client.iter_records(plan, page_size=3)))
    expected = [row for row in typed("post_comments", expected_child_records()) if matches(row, predicates)]
    assert expected
    assert sorted(got, key=lambda r: r["id"]) == sorted(expected, key=lambda r: r["id"])


# -- resume --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("entity", "page_size"), [("users", 37), ("comments", 100), ("post_comments", 5)])
def test_a_fresh_client_resumes_from_the_token(json_server: str, entity: str, page_size: int) -> None:
    ids: list[int] = []
    token = None
    pages = 0
    while True:
        client = client_for(json_server)  # a new Lambda each time: only the token survives
        page = client.fetch_page(client.plan(entity), token, page_size)
        ids.extend(r["id"] for r in page.records)
        pages += 1
        token = page.next_token
        if token is None:
            break
        assert pages < 1000
    expected = (
        [c["id"] for c in expected_child_records()]
        if entity == "post_comments"
        else sorted(r["id"] for r in DB[entity])
    )
    assert ids == expected
    assert pages > 2


def test_mid_page_resume_neither_skips_nor_repeats(json_server: str) -> None:
    ids: list[int] = []
    token = None
    take = 3
    while True:
        client = client_for(json_server)
        page = client.fetch_page(client.plan("users", [P("id", "le", 120)]), token, 25)
        ids.extend(r["id"] for r in page.records[:take])
        token = page.token_after(take)
        take = take % 29 + 7
        if token is None:
            break
    assert ids == list(range(1, 121))


# -- writes --------------------------------------------------------------------------------------------
def test_writes_through_post_patch_and_put(json_server_bin: Path, tmp_path: Path) -> None:
    db = tmp_path / "db.json"
    db.write_text(json.dumps({k: v[:5] for k, v in DB.items()}), encoding="utf-8")
    with run_json_server(json_server_bin, db) as base:
        client = client_for(base)
        created = client.write(
            "posts", "create", {"userId": 3, "title": "new", "published": False, "publishedOn": None, "tags": []}
        )
        assert created is not None
        new_id = created["id"]
        assert new_id == 6
        client.write("posts", "update", {"id": new_id, "title": "renamed", "published": True})
        client.write("posts", "upsert", {"id": 2, "userId": 9, "title": "replaced", "tags": ["x"]})
        assert client.get_record("posts", {"id": new_id}) == {
            "id": new_id,
            "userId": 3,
            "title": "renamed",
            "published": True,
            "publishedOn": None,
            "tags": [],
        }
        assert client.get_record("posts", {"id": 2}) == {"id": 2, "userId": 9, "title": "replaced", "tags": ["x"]}
        assert client.get_record("posts", {"id": 999}) is None
        assert [r["id"] for r in client.iter_records(client.plan("posts"))] == [1, 2, 3, 4, 5, 6]
    assert json.loads(db.read_text())["posts"][-1]["title"] == "renamed"  # json-server stored it
