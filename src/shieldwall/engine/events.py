"""The event log: one row per thing that happened, columns as in docs/internals.md."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shieldwall.core.jsonutil import json_default
from shieldwall.core.vocabulary import EVENT_KINDS, EventKind

__all__ = ["EVENT_KINDS", "EventKind", "EventLog"]



@dataclass
class EventLog:
    """Column lists appended in time order (events are sparse: hundreds to thousands a run)."""

    time_s: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    threat_id: list[int] = field(default_factory=list)
    track_id: list[int] = field(default_factory=list)
    battery_id: list[str] = field(default_factory=list)
    interceptor_id: list[int] = field(default_factory=list)
    interceptor_type: list[str] = field(default_factory=list)
    pos_ecef: list[tuple[float, float, float]] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)

    def add(self, time_s: float, kind: EventKind | str, *, threat_id: int = -1, track_id: int = -1,
            battery_id: str = "", interceptor_id: int = -1, interceptor_type: str = "",
            pos_ecef: Any = None, value: float = float("nan"),
            detail: dict[str, Any] | str | None = None) -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        self.time_s.append(float(time_s))
        self.kind.append(str(kind))
        self.threat_id.append(int(threat_id))
        self.track_id.append(int(track_id))
        self.battery_id.append(battery_id)
        self.interceptor_id.append(int(interceptor_id))
        self.interceptor_type.append(interceptor_type)
        if pos_ecef is None:
            self.pos_ecef.append((np.nan, np.nan, np.nan))
        else:
            p = np.asarray(pos_ecef, float)
            self.pos_ecef.append((float(p[0]), float(p[1]), float(p[2])))
        self.value.append(float(value))
        if detail is None:
            self.detail.append("")
        elif isinstance(detail, str):
            self.detail.append(detail)
        else:
            self.detail.append(json.dumps(detail, sort_keys=True, default=json_default))

    def __len__(self) -> int:
        return len(self.time_s)

    def count(self, kind: str) -> int:
        return sum(1 for k in self.kind if k == kind)
