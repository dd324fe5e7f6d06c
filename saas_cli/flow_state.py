"""The small state file of local flow runs: per flow, its entity, incremental field and watermark (the end
of the last window read), and a short history of runs. Written atomically."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saas_cli.errors import CliError

DEFAULT_STATE_FILE = ".saas-connectors/flows.json"
HISTORY = 20


@dataclass
class FlowState:
    entity: str
    incremental_field: str | None = None
    watermark: str | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)


class StateFile:
    def __init__(self, path: str | Path = DEFAULT_STATE_FILE) -> None:
        self.path = Path(path)

    def _load_all(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CliError(f"cannot read the flow state file {self.path}: {exc}") from None
        if not isinstance(data, dict):
            raise CliError(f"the flow state file {self.path} is not a JSON object")
        return data

    def get(self, flow_name: str) -> FlowState | None:
        raw = self._load_all().get(flow_name)
        if not isinstance(raw, dict):
            return None
        return FlowState(
            entity=str(raw.get("entity")),
            incremental_field=raw.get("incremental_field"),
            watermark=raw.get("watermark"),
            runs=list(raw.get("runs") or []),
        )

    def put(self, flow_name: str, state: FlowState) -> None:
        data = self._load_all()
        state.runs = state.runs[-HISTORY:]
        data[flow_name] = asdict(state)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
