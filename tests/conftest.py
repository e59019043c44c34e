"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "capital_region.yaml"


@pytest.fixture(scope="session")
def example_path() -> Path:
    return EXAMPLE
