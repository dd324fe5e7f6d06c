"""A real Datasette (PyPI ``datasette``, pinned in pyproject's dev extra) over a SQLite database the tests write.

:func:`make_database` writes ``shop.db`` deterministically (every type, nulls, text keys with commas, slashes and
non-ASCII characters); :class:`DatasetteProcess` starts ``datasette serve`` on a free loopback port in its own
process, waits until it answers, and stops it. :func:`table` reads a table back with sqlite3: the source of truth.
"""

from __future__ import annotations

import datetime as dt
import random
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import stop_process

START_TIMEOUT_S = 30.0
COMMAND = [sys.executable, "-m", "datasette", "serve", "--setting", "sql_time_limit_ms", "5000"]
COUNTRIES = ["PT", "DE", "KE", "JP", "EC", "BR", "US"]
STATUSES = ["new", "paid", "shipped", "cancelled"]
N_CUSTOMERS, N_ORDERS, N_PRODUCTS = 230, 410, 75

SCHEMA = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT, vip INTEGER, balance REAL,
                        signed_up_on TEXT, updated_at TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, status TEXT, quantity INTEGER,
                     amount TEXT, placed_at TEXT, shipped_on TEXT, updated_at TEXT NOT NULL);
CREATE TABLE products (sku TEXT PRIMARY KEY, name TEXT, price REAL, stock INTEGER, updated_at TEXT NOT NULL);
"""


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_database(path: Path, seed: int = 20240917) -> Path:
    rng = random.Random(seed)
    start = dt.datetime(2023, 3, 1, tzinfo=dt.UTC)

    def moment() -> dt.datetime:
        return start + dt.timedelta(seconds=rng.randrange(0, 400 * 86400))

    customers = []
    for i in range(1, N_CUSTOMERS + 1):
        signed = moment()
        customers.append(
            (
                i,
                "Zoë Ångström" if i == 5 else f"Customer {i}",
                None if i % 9 == 0 else f"c{i}@example.com",
                COUNTRIES[i % len(COUNTRIES)],
                i % 4 == 0,
                None if i % 13 == 0 else round(rng.uniform(-100, 9000), 2),
                None if i % 17 == 0 else signed.date().isoformat(),
                stamp(signed + dt.timedelta(hours=rng.randrange(1, 2000))),
            )
        )
    orders = []
    for i in range(1, N_ORDERS + 1):
        placed = moment()
        shipped = None if i % 5 == 0 else (placed + dt.timedelta(days=rng.randrange(0, 9))).date().isoformat()
        orders.append(
            (
                i,
                rng.randrange(1, N_CUSTOMERS + 1),
                STATUSES[rng.randrange(len(STATUSES))],
                rng.randrange(1, 12),
                f"{rng.randrange(100, 200000) / 100:.2f}",
                stamp(placed),
                shipped,
                stamp(placed + dt.timedelta(minutes=rng.randrange(0, 90000))),
            )
        )
    products = []
    for i in range(1, N_PRODUCTS + 1):
        odd = ["A,1", "B/2", "C 3", "D~4", "É-5", "F%6", "G&7"][i % 7]
        products.append((f"{odd}-{i:03d}", f"Product {i}", round(rng.uniform(1, 500), 2), rng.randrange(0, 80),
                         stamp(moment())))  # fmt: skip
    if path.exists():
        path.unlink()
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", customers)
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", orders)
        db.executemany("INSERT INTO products VALUES (?, ?, ?, ?, ?)", products)
    return path


def table(path: Path, name: str) -> list[dict[str, Any]]:
    """Every row of a table as Datasette serves it (JSON values), in primary-key order."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        key = "sku" if name == "products" else "id"
        return [dict(row) for row in db.execute(f"SELECT * FROM {name} ORDER BY {key}")]


def execute(path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql, params)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DatasetteProcess:
    """``datasette serve DB`` on a free loopback port; the base URL (with the database's name) while running."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = db.with_suffix(".log")
        self.url = ""

    def __enter__(self) -> str:
        last_error = ""
        for _ in range(3):  # another process may take the free port before datasette binds it
            port = _free_port()
            with self.log.open("wb") as log:
                self.proc = subprocess.Popen(
                    [*COMMAND, str(self.db), "--host", "127.0.0.1", "--port", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            self.url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if requests.get(f"{self.url}/-/versions.json", timeout=1).status_code == 200:
                        return f"{self.url}/{self.db.stem}"
                except requests.RequestException:
                    pass
                time.sleep(0.05)
            last_error = self.log.read_text(errors="replace")[-4000:]
            self._stop()
        raise RuntimeError(f"datasette did not start:\n{last_error}")

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
