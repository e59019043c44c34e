"""The smallest real raid the study tests run many times: the bundled laydown cut down to one
Patriot battery against three Iskander-class already in flight (they land inside 150 s)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def tiny_document(name: str = "tiny (test)", seed: int | None = None) -> dict[str, Any]:
    """The scenario as a YAML document (a dict the caller may still change)."""
    d = yaml.safe_load((ROOT / "examples" / "capital_region.yaml").read_text())
    d["name"] = name
    d["duration_s"] = 150.0
    d["dt_s"] = 2.5
    if seed is not None:
        d["seed"] = seed
    d["sensors"] = []
    d["batteries"] = [b for b in d["batteries"] if b["id"] == "patriot-1"]
    wave = copy.deepcopy(next(w for w in d["raid"]["waves"] if w["threat"] == "iskander-m"))
    wave["count"] = 3
    wave["launch_window_s"] = [-200.0, -120.0]
    d["raid"]["waves"] = [wave]
    return d
