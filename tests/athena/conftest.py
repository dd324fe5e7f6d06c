"""Fixtures for the Athena wire-layer tests.

The protocol vectors are in the repository (``tests/fixtures/athena-vectors``, origin and licence in
``tests/fixtures/README.md``); a missing file is a failure, never a skip.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from athena_connector.wire.arrow_ipc import framing_of, metadata_version_of

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS_DIR = REPO_ROOT / "tests" / "fixtures" / "athena-vectors"


@pytest.fixture
def vectors_dir() -> Path:
    assert VECTORS_DIR.is_dir(), f"Athena wire vectors missing from the repository: {VECTORS_DIR}"
    return VECTORS_DIR


@pytest.fixture
def load_vector(vectors_dir: Path) -> Callable[[str], Any]:
    """Load one vector JSON by file name (key order preserved)."""
    return lambda name: json.loads((vectors_dir / name).read_text())


def _schema(b64: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(b64)))


def _same_schema(ours: str, theirs: str, path: str) -> pa.Schema:
    a, b = _schema(ours), _schema(theirs)
    assert a.equals(b, check_metadata=False), f"{path}: schema {a} != {b}"
    assert (a.metadata or {}) == (b.metadata or {}), f"{path}: schema metadata differs"
    raw_a, raw_b = base64.b64decode(ours), base64.b64decode(theirs)
    assert framing_of(raw_a) == framing_of(raw_b), f"{path}: IPC framing differs"
    assert metadata_version_of(raw_a) == metadata_version_of(raw_b), f"{path}: metadata version differs"
    return a


def _same_records(ours: str, theirs: str, schema: pa.Schema, path: str) -> None:
    assert (ours == "") == (theirs == ""), f"{path}: one block is empty, the other is not"
    if ours == "":
        return
    raw_a, raw_b = base64.b64decode(ours), base64.b64decode(theirs)
    assert framing_of(raw_a) == framing_of(raw_b), f"{path}: IPC framing differs"
    a = pa.ipc.read_record_batch(pa.py_buffer(raw_a), schema)
    b = pa.ipc.read_record_batch(pa.py_buffer(raw_b), schema)
    assert a.to_pydict() == b.to_pydict(), f"{path}: records differ"
    assert a.num_rows == b.num_rows


def assert_same_wire(ours: Any, theirs: Any, path: str = "$") -> None:
    """Same keys in the same order at every level, equal scalars, Arrow payloads that decode equal."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), f"{path}: expected an object, got {type(ours).__name__}"
        assert list(ours.keys()) == list(theirs.keys()), f"{path}: key order {list(ours)} != {list(theirs)}"
        if list(theirs.keys()) == ["aId", "schema", "records"]:
            assert ours["aId"] == theirs["aId"], f"{path}.aId"
            schema = _same_schema(ours["schema"], theirs["schema"], f"{path}.schema")
            _same_records(ours["records"], theirs["records"], schema, f"{path}.records")
            return
        for key, value in theirs.items():
            if key in ("schema", "outputSchema") and isinstance(value, str):
                _same_schema(ours[key], value, f"{path}.{key}")
            else:
                assert_same_wire(ours[key], value, f"{path}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), f"{path}: expected an array"
        assert len(ours) == len(theirs), f"{path}: length {len(ours)} != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same_wire(a, b, f"{path}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{path}: {ours!r} != {theirs!r}"


@pytest.fixture
def same_wire() -> Callable[..., None]:
    """Compare an emitted dict with a vector; also proves the emitted dict survives json.dumps."""

    def _check(ours: Any, theirs: Any) -> None:
        assert json.loads(json.dumps(ours)) == ours
        assert_same_wire(ours, theirs)

    return _check
