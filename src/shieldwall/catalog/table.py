"""Rows summarising the catalog for people: the ``shieldwall catalog`` table and its JSON."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

from shieldwall.catalog.types import (
    AirDefenseSystem,
    AssetTemplate,
    Catalog,
    Interceptor,
    Radar,
    ThreatType,
)

KINDS: tuple[str, ...] = ("system", "interceptor", "radar", "threat", "asset")
_SECTION = {"system": "systems", "interceptor": "interceptors", "radar": "radars",
            "threat": "threats", "asset": "asset_templates"}


@dataclass(frozen=True)
class CatalogRow:
    """One catalog record in a table: key figures in SI-friendly display units and sources.

    ``figures`` maps a short label to a number (km, m/s, USD, ...) or text; ``summary`` is the
    same as one line; ``source`` is a short form (domains of the non-notional sources and the
    count of notional figures); ``confidence`` counts the record's figures per confidence label.
    """

    kind: str
    name: str
    label: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    summary: str = ""
    source: str = ""
    confidence: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready)."""
        return asdict(self)


def _money(x: float) -> str:
    if x >= 1e6:
        return f"${x / 1e6:.2g}M"
    if x >= 1e3:
        return f"${x / 1e3:.3g}k"
    return f"${x:.0f}"


def _km(x_m: float) -> float:
    return round(x_m / 1000.0, 3)


def _system_figures(s: AirDefenseSystem) -> dict[str, float | int | str]:
    loads = ", ".join(f"{name} x{s.rounds_per_launcher[name]}" for name in s.interceptors)
    return {"radar": s.radar, "launchers": s.launchers, "rounds_per_launcher": loads,
            "fire_channels": s.fire_channels, "reaction_s": s.reaction_time_s}


def _interceptor_figures(i: Interceptor) -> dict[str, float | int | str]:
    groups: dict[float, list[str]] = {}
    for threat_class, envelope in i.envelopes.items():
        if threat_class.value != "decoy":  # decoys share the drone envelope
            groups.setdefault(_km(envelope.max_range_m), []).append(threat_class.value)
    ranges = " / ".join(f"{km:g} ({', '.join(classes)})"
                        for km, classes in sorted(groups.items(), reverse=True))
    max_alt_m = max(e.max_alt_m for e in i.envelopes.values())
    return {"max_range_km": ranges, "max_alt_km": _km(max_alt_m),
            "speed_mps": i.max_speed_mps, "pk_max": i.pk_max, "cost": _money(i.unit_cost_usd)}


def _radar_figures(r: Radar) -> dict[str, float | int | str]:
    sector = ("360 deg" if r.sector_half_width_rad is None
              else f"+/-{math.degrees(r.sector_half_width_rad):.0f} deg")
    return {"role": r.role, "range_km": _km(r.max_range_m), "coverage": sector,
            "scan_s": r.scan_period_s}


def _threat_figures(t: ThreatType) -> dict[str, float | int | str]:
    return {"class": t.threat_class.value, "range_km": _km(t.max_range_m),
            "speed_mps": t.speed_mps, "rcs_m2": t.rcs_m2, "cost": _money(t.unit_cost_usd)}


def _asset_figures(t: AssetTemplate) -> dict[str, float | int | str]:
    rules = []
    for g in t.groups:
        n = len({c.train or c.name for c in t.components if c.group == g.name})
        rule = {"capacity": f"capacity {n}" + (f" (N-{g.spare})" if g.spare else ""),
                "k_out_of_n": f"{g.k} of {n}", "weighted": f"weighted {n}"}[g.rule]
        rules.append(f"{g.name}: {rule}")
    return {"components": len(t.components), "function": ", ".join(rules)}


def _source_short(catalog: Catalog, prefix: str) -> tuple[str, dict[str, int]]:
    infos = [v for k, v in catalog.sources.items() if k.startswith(prefix)]
    counts = Counter(v["confidence"] for v in infos)
    domains: list[str] = []
    for v in infos:
        if v["confidence"] == "notional":
            continue
        host = urlparse(v["source"]).netloc.removeprefix("www.") or v["source"][:30]
        if host not in domains:
            domains.append(host)
    parts = domains[:3]
    if len(domains) > 3:
        parts.append(f"+{len(domains) - 3} more")
    short = ", ".join(parts)
    if counts["notional"]:
        short += ("; " if short else "") + f"{counts['notional']} notional"
    return short, dict(counts)


def catalog_table_rows(catalog: Catalog, kinds: tuple[str, ...] = KINDS) -> list[CatalogRow]:
    """One row per record, grouped by kind in the order of ``kinds``, names sorted."""
    rows: list[CatalogRow] = []
    makers: dict[str, Callable[[Any], dict[str, float | int | str]]] = {
        "system": _system_figures, "interceptor": _interceptor_figures,
        "radar": _radar_figures, "threat": _threat_figures, "asset": _asset_figures}
    for kind in kinds:
        section = _SECTION[kind]
        records = getattr(catalog, section)
        for name in sorted(records):
            record = records[name]
            figures = makers[kind](record)
            summary = "; ".join(f"{k} {v}" for k, v in figures.items())
            source, counts = _source_short(catalog, f"{section}.{name}.")
            rows.append(CatalogRow(kind=kind, name=name, label=record.label, figures=figures,
                                   summary=summary, source=source, confidence=counts))
    return rows
