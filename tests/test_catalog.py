"""The packaged notional catalog: provenance of every number, radar calibration, consistency."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from scipy.integrate import quad
from scipy.optimize import brentq

from shieldwall.catalog import (
    CONFIDENCE_LEVELS,
    Catalog,
    CatalogError,
    catalog_table_rows,
    load_catalog,
    parse_catalog_text,
    reference_detection_range_m,
    reference_snr_db,
)
from shieldwall.catalog.types import Radar
from shieldwall.core.types import ThreatClass

K_BOLTZMANN = 1.380649e-23
T0_K = 290.0
C_MPS = 299_792_458.0


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _numeric_fields(prefix: str, value: object) -> list[str]:
    """Dotted paths of every number (or None, an explicit 'not applicable') inside a value."""
    if isinstance(value, BaseModel):
        out: list[str] = []
        for name in type(value).model_fields:
            if name in ("name", "label"):
                continue
            out += _numeric_fields(f"{prefix}.{name}", getattr(value, name))
        return out
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out += _numeric_fields(f"{prefix}.{getattr(key, 'value', key)}", item)
        return out
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return [prefix]
    return []


def test_every_number_has_a_source_or_notional_label(catalog: Catalog) -> None:
    paths: list[str] = []
    for section in ("threats", "radars", "interceptors", "systems"):
        for name, record in getattr(catalog, section).items():
            paths += _numeric_fields(f"{section}.{name}", record)
    assert len(paths) > 300
    missing = [p for p in paths if p not in catalog.sources]
    assert missing == []
    for path in paths:
        info = catalog.sources[path]
        assert info["confidence"] in CONFIDENCE_LEVELS, path
        assert info["source"].strip(), path
        if info["confidence"] == "notional":
            assert info.get("note", "").strip(), f"{path}: notional figure needs a reason"
        else:  # a sourced figure cites a public page or a textbook
            assert info["source"].startswith(("http://", "https://")) or "Skolnik" in \
                info["source"], path


def test_no_bare_number_enters_the_catalog() -> None:
    text = """
radars:
  r1:
    label: test
    role: surveillance
    peak_power_w: 1000
"""
    with pytest.raises(CatalogError, match=r"radars\.r1\.peak_power_w: bare number"):
        parse_catalog_text(text)


def test_malformed_sourced_values_are_rejected() -> None:
    bad_confidence = "threats:\n  t:\n    max_range_m: {value: 1, source: x, confidence: sure}\n"
    with pytest.raises(CatalogError, match="confidence"):
        parse_catalog_text(bad_confidence)
    notional_without_note = ("threats:\n  t:\n    max_range_m: {value: 1, source: x, "
                             "confidence: notional}\n")
    with pytest.raises(CatalogError, match="note"):
        parse_catalog_text(notional_without_note)
    bad_unit = ("threats:\n  t:\n    max_range_m: {value: 1, unit: furlong, source: x, "
                "confidence: low}\n")
    with pytest.raises(CatalogError, match="unit"):
        parse_catalog_text(bad_unit)


def test_units_are_converted_to_si(catalog: Catalog) -> None:
    assert catalog.threats["iskander-m"].max_range_m == 500_000.0
    assert catalog.sources["threats.iskander-m.max_range_m"]["as_written"] == "500 km"
    assert catalog.radars["mpq-65"].sector_half_width_rad == pytest.approx(math.pi / 3)
    assert catalog.radars["mpq-65"].frequency_hz == pytest.approx(5.5e9)
    assert catalog.radars["trml-4d"].sector_half_width_rad is None  # 360 deg
    assert catalog.systems["gepard"].reload_time_s == pytest.approx(3600.0)


def test_published_figures_from_the_shared_catalog(catalog: Catalog) -> None:
    """Spot checks against the open-source figures in the shared catalog (catalog.md)."""
    t, i, s, r = catalog.threats, catalog.interceptors, catalog.systems, catalog.radars
    assert t["iskander-m"].max_range_m == 500e3 and t["iskander-m"].unit_cost_usd == 3e6
    assert t["shahed-136"].speed_mps == 51 and t["shahed-136"].unit_cost_usd == 35e3
    assert t["gerbera"].speed_mps == 44 and t["gerbera"].warhead_kg == 0
    assert t["gerbera"].lethal_radius_m == 0
    assert t["kh-22"].speed_mps == 1000 and t["kh-101"].speed_mps == 250
    assert s["patriot"].launchers == 6
    assert s["patriot"].rounds_per_launcher == {"pac3-mse": 12, "pac2-gem-t": 4}
    assert s["iris-t-slm"].launchers == 3 and s["iris-t-slm"].rounds_per_launcher == {
        "iris-t-slm": 8}
    assert s["nasams"].rounds_per_launcher == {"amraam": 6}
    assert s["gepard"].rounds_per_launcher == {"gepard-35mm": 640 // 40}
    assert i["pac3-mse"].unit_cost_usd == 4e6 and i["amraam"].unit_cost_usd == 1e6
    assert i["pac3-mse"].envelopes[ThreatClass.BALLISTIC].max_range_m == 40e3
    assert i["pac2-gem-t"].envelopes[ThreatClass.CRUISE].max_range_m == 160e3
    assert i["pac2-gem-t"].envelopes[ThreatClass.CRUISE].max_alt_m == 24e3
    assert i["iris-t-slm"].envelopes[ThreatClass.CRUISE].max_range_m == 40e3
    assert i["iris-t-slm"].envelopes[ThreatClass.CRUISE].max_alt_m == 20e3
    assert i["hawk"].envelopes[ThreatClass.CRUISE].max_alt_m == 18e3
    assert i["gepard-35mm"].envelopes[ThreatClass.DRONE].max_range_m == 5e3
    assert i["gepard-35mm"].envelopes[ThreatClass.DRONE].max_alt_m == 2.5e3
    assert r["trml-4d"].max_range_m == 250e3 and r["gepard-radar"].max_range_m == 15e3


def test_registry_contents(catalog: Catalog) -> None:
    assert set(catalog.threats) == {"iskander-m", "kinzhal", "kh-101", "kalibr", "kh-22",
                                    "shahed-136", "gerbera"}
    assert set(catalog.radars) == {"mpq-65", "trml-4d", "sentinel", "hawk-radar",
                                   "gepard-radar", "ew-radar"}
    assert set(catalog.interceptors) == {"pac3-mse", "pac2-gem-t", "iris-t-slm", "amraam",
                                         "hawk", "gepard-35mm"}
    assert set(catalog.systems) == {"patriot", "iris-t-slm", "nasams", "hawk", "gepard"}
    assert {t.threat_class for t in catalog.threats.values()} == set(ThreatClass)
    assert catalog.threats["kh-22"].profile == "dive_cruise"
    assert catalog.radars["ew-radar"].role == "early_warning"


def test_systems_reference_existing_records(catalog: Catalog) -> None:
    for name, system in catalog.systems.items():
        assert system.radar in catalog.radars, name
        assert set(system.interceptors) <= set(catalog.interceptors), name
        assert set(system.rounds_per_launcher) == set(system.interceptors), name


def _snr_db_independent(radar: Radar, range_m: float, rcs_m2: float) -> float:
    """The radar range equation written term by term in decibels."""
    wavelength = C_MPS / radar.frequency_hz
    return (10 * math.log10(radar.peak_power_w) + 2 * radar.antenna_gain_db
            + 20 * math.log10(wavelength) + 10 * math.log10(rcs_m2)
            + 10 * math.log10(radar.pulses_integrated) - 30 * math.log10(4 * math.pi)
            - 10 * math.log10(K_BOLTZMANN * T0_K * radar.bandwidth_hz)
            - radar.noise_figure_db - radar.losses_db - 40 * math.log10(range_m))


def test_radars_are_calibrated_to_13_db_at_instrumented_range(catalog: Catalog) -> None:
    for name, radar in catalog.radars.items():
        snr = _snr_db_independent(radar, radar.max_range_m, 1.0)
        assert snr == pytest.approx(13.0, abs=0.1), name
        assert float(reference_snr_db(radar, radar.max_range_m)) == pytest.approx(snr, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(rcs=st.floats(1e-4, 100.0), radar_index=st.integers(0, 5))
def test_detection_range_scales_as_fourth_root_of_rcs(rcs: float, radar_index: int) -> None:
    radar = list(load_catalog().radars.values())[radar_index]
    r1 = float(reference_detection_range_m(radar, 1.0))
    r_sigma = float(reference_detection_range_m(radar, rcs))
    assert r_sigma / r1 == pytest.approx(rcs**0.25, rel=1e-12)
    # Brute force: the range where the independent SNR crosses 13 dB.
    root = brentq(lambda r: _snr_db_independent(radar, r, rcs) - 13.0, 1.0, 1e8, xtol=1e-6)
    assert r_sigma == pytest.approx(root, rel=1e-8)


def _speed(t: float, vmax: float, tb: float, tau: float, vmin: float) -> float:
    if t < tb:
        return vmax * t / tb
    return max(vmin, vmax * math.exp(-(t - tb) / tau))


def test_interceptors_can_fly_out_to_their_envelopes(catalog: Catalog) -> None:
    """Distance flown within max_time_of_flight (quadrature of the speed profile) covers the
    slant range to the far corner of every envelope."""
    for name, i in catalog.interceptors.items():
        flown, _ = quad(_speed, 0.0, i.max_time_of_flight_s, limit=200, points=[i.burn_time_s],
                        args=(i.max_speed_mps, i.burn_time_s, i.speed_decay_s,
                              i.min_speed_mps))
        for threat_class, env in i.envelopes.items():
            assert env.min_range_m < env.max_range_m, (name, threat_class)
            assert env.min_alt_m < env.max_alt_m, (name, threat_class)
            assert flown >= math.hypot(env.max_range_m, env.max_alt_m), (name, threat_class)
        if i.kill_mechanism == "gun":
            assert i.max_accel_g == 0 and i.navigation_ratio == 0 and i.burn_time_s == 0
        else:
            assert 30 <= i.max_accel_g <= 60 or name == "hawk"
            assert 3 <= i.navigation_ratio <= 4
        # Decoys look like drones: whatever can engage a drone can engage a decoy.
        assert (ThreatClass.DRONE in i.envelopes) == (ThreatClass.DECOY in i.envelopes)


def test_table_rows_cover_every_record(catalog: Catalog) -> None:
    rows = catalog_table_rows(catalog)
    expected = sum(len(getattr(catalog, s)) for s in ("systems", "interceptors", "radars",
                                                      "threats", "asset_templates"))
    assert len(rows) == expected
    assert [r.kind for r in rows] == sorted((r.kind for r in rows),
                                            key=["system", "interceptor", "radar",
                                                 "threat", "asset"].index)
    by_name = {(r.kind, r.name): r for r in rows}
    patriot = by_name[("system", "patriot")]
    assert "pac3-mse x12" in patriot.summary and "kdhnews.com" in patriot.source
    assert by_name[("radar", "mpq-65")].figures["coverage"] == "+/-60 deg"
    for row in rows:
        assert row.source and row.label
        total = sum(row.confidence.values())
        prefix = {"system": "systems", "interceptor": "interceptors", "radar": "radars",
                  "threat": "threats", "asset": "asset_templates"}[row.kind]
        assert total == sum(k.startswith(f"{prefix}.{row.name}.") for k in catalog.sources)
    assert np.isfinite([r.figures.get("speed_mps", 0.0) for r in rows]).all()
