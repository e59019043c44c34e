"""The fuzz tests import tests/tiny_scenario.py and their helpers (fuzzkit, mutants)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))
