"""The passive IRST sensor kind (sensors.passive) and the scenario selectors of issue 13.

References: the calibration Pd(reference range) = reference_pd, the Gaussian-noise detection
law against scipy.stats.norm, the empirical per-scan detection frequency (binomial bounds),
angle-noise statistics against the geometry of ``geo``; a scenario with an IRST runs, records
angle-only plots and fuses none of them; unknown kinds / component names exit 2 with a
suggestion; components are chosen by name from the scenario.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from shieldwall import geo
from shieldwall.catalog import load_catalog
from shieldwall.engine import simulate
from shieldwall.engine.gun import ProximityConeGun
from shieldwall.engine.simulate import Simulation
from shieldwall.scenario import load_scenario_text
from shieldwall.sensors.passive import IrstDetector, IrstSite

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_scenario import tiny_document  # noqa: E402

REC = load_catalog().passive_sensors["spynel-class"]
LAT, LON = 50.0, 30.0


def detector() -> IrstDetector:
    return IrstDetector(IrstSite(3, "irst", REC, LAT, LON, 0.0, 0.0))


def points(range_m: np.ndarray, az_deg: float = 30.0, el_deg: float = 3.0) -> np.ndarray:
    """ECEF points at slant ranges from the sensor head along one azimuth/elevation."""
    site = detector().site
    az, el = np.radians(az_deg), np.radians(el_deg)
    enu = np.stack([np.sin(az) * np.cos(el) * range_m, np.cos(az) * np.cos(el) * range_m,
                    np.sin(el) * range_m], axis=-1)
    return site.origin_ecef + enu @ site.rotation


def reference_pd(range_m: np.ndarray) -> np.ndarray:
    """Independent form of the model: Q(T - S(R)) with T = Q^-1(pfa), S from the calibration."""
    tnr = stats.norm.isf(REC.pfa)
    s_ref = tnr - stats.norm.isf(REC.reference_pd)
    snr = s_ref * (REC.reference_range_m / range_m) ** 2 * np.exp(
        -REC.extinction_per_m * (range_m - REC.reference_range_m))
    return stats.norm.sf(tnr - snr)


def test_calibration_and_detection_law() -> None:
    d = detector()
    r = np.array([2e3, 8e3, REC.reference_range_m, 14e3, 19e3])
    pd = d.detection_probability(points(r))
    np.testing.assert_allclose(pd[2], REC.reference_pd, rtol=1e-12)
    np.testing.assert_allclose(pd, reference_pd(r), rtol=1e-9, atol=1e-15)
    # beyond the processing range and below the elevation limit: nothing
    assert d.detection_probability(points(np.array([21e3])))[0] == 0.0
    assert d.detection_probability(points(np.array([5e3]), el_deg=-10.0))[0] == 0.0


@settings(max_examples=30, deadline=None)
@given(st.floats(100.0, 19_000.0), st.floats(1.0, 1000.0))
def test_pd_falls_with_range(r: float, dr: float) -> None:
    far = min(r + dr, REC.max_range_m - 1.0)
    pd = detector().detection_probability(points(np.array([r, far])))
    assert pd[0] >= pd[1]


def test_empirical_pd_and_angle_noise() -> None:
    d = detector()
    r = np.array([REC.reference_range_m, 13e3])
    pos = points(r)
    vel = np.zeros_like(pos)
    rng = np.random.default_rng(11)
    n = 3000
    hits = np.zeros(2, int)
    az_err, el_err = [], []
    _, az_true, el_true = geo.enu2aer((pos - d.site.origin_ecef) @ d.site.rotation.T)
    for k in range(n):
        det = d.detect(pos, vel, np.ones(2), np.ones(2, np.int64), np.ones(2, bool), float(k),
                       rng)
        assert np.isnan(det.range_m).all() and np.isnan(det.range_rate_mps).all()
        real = det.truth_index >= 0
        hits += np.bincount(det.truth_index[real], minlength=2)
        i = det.truth_index[real]
        az_err.extend(((det.azimuth_rad[real] - np.mod(az_true[i], 2 * np.pi) + np.pi)
                       % (2 * np.pi) - np.pi).tolist())
        el_err.extend((det.elevation_rad[real] - el_true[i]).tolist())
    for j, p in enumerate(reference_pd(r)):
        lo, hi = stats.binom.interval(0.9999, n, p)
        assert lo <= hits[j] <= hi, (j, hits[j], p * n)
    for err, sigma in ((np.array(az_err), REC.sigma_azimuth_rad),
                       (np.array(el_err), REC.sigma_elevation_rad)):
        m = err.size
        assert abs(err.mean()) < 5 * sigma / np.sqrt(m)
        lo, hi = stats.chi2.interval(0.9999, m - 1)
        assert lo <= (m - 1) * err.var(ddof=1) / sigma**2 <= hi


def _irst_doc(**extra: Any) -> dict[str, Any]:
    d = tiny_document()
    bat = d["batteries"][0]
    d["sensors"] = [{"id": "irst-1", "kind": "irst", "radar": "spynel-class",
                     "lat_deg": bat["lat_deg"], "lon_deg": bat["lon_deg"], **extra}]
    return d


def test_scenario_with_an_irst_runs_and_fuses_no_angle_only_plot() -> None:
    sc = load_scenario_text(yaml.safe_dump(_irst_doc()), name="irst.yaml")
    sim = Simulation.start(sc, seed=42)
    assert isinstance(sim.pipe.sensors[0], IrstDetector)
    assert 0 not in sim.fused and len(sim.fused) == len(sim.pipe.sensors) - 1
    res = simulate(sc, seed=42)
    s = res.summary
    assert sum(s["fates"].values()) == s["threats"] == 3
    det = res.tables["detections"]
    mine = det["sensor_id"] == 0
    assert mine.any(), "the IRST saw nothing"
    assert np.isnan(det["range_m"][mine]).all()
    assert np.isfinite(det["range_m"][~mine]).all()
    # The trackers fused radar plots only: every track is fed by a radar-detected threat.
    tracked = set(res.tables["tracks"]["truth_id"].tolist()) - {-1}
    assert tracked <= set(det["truth_id"][~mine].tolist())
    assert s["detections"] == len(det["time_s"])


def _validate(tmp_path: Path, doc: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    exe = Path(sys.executable).with_name("shieldwall")
    return subprocess.run([str(exe), "validate", str(path)], capture_output=True, text=True,
                          check=False)


@pytest.mark.parametrize(("where", "value", "field", "hint"), [
    ("sensor_kind", "irts", "sensors[0].kind", "did you mean 'irst'"),
    ("lethality", "pk_curv", "components.lethality", "did you mean 'pk_curve'"),
    ("gun", "proximity_cones", "components.gun", "did you mean 'proximity_cone'"),
    ("irst_record", "spynel", "sensors[0].radar", "did you mean 'spynel-class'"),
])
def test_unknown_names_exit_2_with_a_suggestion(tmp_path: Path, where: str, value: str,
                                                field: str, hint: str) -> None:
    d = _irst_doc()
    if where == "sensor_kind":
        d["sensors"][0]["kind"] = value
    elif where == "irst_record":
        d["sensors"][0]["radar"] = value
    else:
        d["components"] = {where: value}
    out = _validate(tmp_path, d)
    assert out.returncode == 2, out.stderr
    assert field in out.stderr and hint in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_components_are_chosen_by_name_from_the_scenario() -> None:
    d = tiny_document()
    d["components"] = {"gun": "proximity_cone", "lethality": "pk_curve",
                       "fire_control": "track_uplink", "damage": "cookie_cutter",
                       "flyout": "pronav", "threat_evaluator": "impact_prediction"}
    sc = load_scenario_text(yaml.safe_dump(d), name="c.yaml")
    sim = Simulation.start(sc, seed=1)
    assert isinstance(sim.pipe.gun, ProximityConeGun)
    schema = type(sc).model_json_schema()
    assert schema["$defs"]["Components"]["properties"]["lethality"]["enum"] == ["pk_curve"]
    assert schema["$defs"]["Sensor"]["properties"]["kind"]["enum"] == ["radar", "irst"]
