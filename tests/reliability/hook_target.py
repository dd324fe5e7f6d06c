"""A hook module for the security tests: importing it is observable (``sys.modules``), its transform is visible."""

from __future__ import annotations

from typing import Any


def transform(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "name": f"hooked:{record.get('name')}"}
