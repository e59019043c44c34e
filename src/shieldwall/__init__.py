"""shieldwall: an open simulator and planner for integrated air and missile defense.

All performance figures are notional, from public open sources (see ``shieldwall catalog``).

Public API (imported lazily so that ``import shieldwall`` stays cheap)::

    from shieldwall import load_scenario, simulate
    result = simulate(load_scenario("examples/capital_region.yaml"), seed=1)
    result.summary["fates"]
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "build_world", "load_catalog", "load_scenario", "monte_carlo",
           "simulate"]


def __getattr__(name: str) -> Any:
    if name == "load_scenario":
        from shieldwall.scenario import load_scenario

        return load_scenario
    if name == "load_catalog":
        from shieldwall.catalog import load_catalog

        return load_catalog
    if name == "monte_carlo":
        # Dynamic import: the engine imports this package for __version__ and must not depend,
        # even through it, on the analysis layer above it (import-linter layers contract).
        import importlib

        return importlib.import_module("shieldwall.analysis.montecarlo").monte_carlo
    if name in ("simulate", "build_world"):
        from shieldwall import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'shieldwall' has no attribute {name!r}")
