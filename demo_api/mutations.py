"""What an admin "mutate" (or the ``mutate_between_pages`` fault) changes in a record."""

from __future__ import annotations

from typing import Any

from . import vocab
from .rand import Draws

Record = dict[str, Any]

_OPEN_STAGES = vocab.DEAL_STAGES[:4]


def mutated(entity: str, record: Record, d: Draws) -> Record:
    """A changed copy of ``record`` (``updated_at`` is the caller's job)."""
    new = dict(record)
    if entity == "contacts":
        new["score"] = round(d.unit() * 100, 1)
        if d.chance(50):
            new["status"] = d.pick([s for s in vocab.CONTACT_STATUSES if s != record.get("status")])
    elif entity == "accounts":
        new["rating"] = round(1 + d.unit() * 4, 2)
        employees = record.get("employees")
        new["employees"] = max(1, employees + d.between(-5, 50)) if isinstance(employees, int) else d.between(1, 500)
        if d.chance(10):
            new["is_active"] = not record.get("is_active")
    elif entity == "deals":
        stage = record.get("stage")
        if stage in _OPEN_STAGES:
            position = _OPEN_STAGES.index(stage)
            stage = "closed_lost" if d.chance(20) else vocab.DEAL_STAGES[position + 1]
            new["stage"] = stage
            new["probability"] = vocab.STAGE_PROBABILITY[stage]
        else:
            custom = dict(record.get("custom_fields") or {})
            custom["last_review"] = d.pick(("ok", "needs_follow_up", "escalated"))
            new["custom_fields"] = custom
    else:
        raise ValueError(f"{entity} records cannot be mutated")
    return new
