"""The Monte Carlo report draws the coverage the study ran with, read from the study directory
(``resolved_scenario.json``), not from the report's own (packaged) catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import shieldwall.engine.world as world_module
from shieldwall.catalog import load_catalog
from shieldwall.catalog.types import Catalog
from shieldwall.report import write_mc_report
from test_mc_report import MC_DIVS, check_page, page_data
from tiny_scenario import tiny_document

#: The tiny scenario's battery.
SYSTEM = "patriot"


def _modified_catalog() -> tuple[Catalog, float]:
    """The packaged catalog with the battery's radar at 0.37 of its range and each of its
    interceptors' envelopes at 0.41 of theirs; returns it with the new radar range (m)."""
    cat = load_catalog()
    system = cat.systems[SYSTEM]
    radar = cat.radars[system.radar]
    new_radar = radar.model_copy(update={"max_range_m": 0.37 * radar.max_range_m})
    interceptors = dict(cat.interceptors)
    for name in system.interceptors:
        rec = interceptors[name]
        envelopes = {k: env.model_copy(update={"max_range_m": 0.41 * env.max_range_m})
                     for k, env in rec.envelopes.items()}
        interceptors[name] = rec.model_copy(update={"envelopes": envelopes})
    modified = cat.model_copy(update={"radars": {**cat.radars, system.radar: new_radar},
                                      "interceptors": interceptors})
    return modified, new_radar.max_range_m


@pytest.fixture(scope="module")
def threads() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(1) as ex:  # in-process: the patched catalog reaches the engine
        yield ex


def _study(tmp_path: Path, threads: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch,
           catalog: Catalog | None) -> Path:
    from shieldwall.analysis.montecarlo import monte_carlo

    if catalog is not None:
        monkeypatch.setattr(world_module, "load_catalog", lambda: catalog)
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_document("catalog study"), sort_keys=False))
    out = tmp_path / "study"
    monte_carlo(scenario, 2, seed=3, executor=threads, outdir=out, progress=False)
    monkeypatch.undo()
    return out


def test_report_draws_the_ranges_the_study_ran_with(tmp_path: Path, threads: ThreadPoolExecutor,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    modified, radar_range_m = _modified_catalog()
    packaged = load_catalog()
    system = packaged.systems[SYSTEM]
    assert radar_range_m != packaged.radars[system.radar].max_range_m
    out = _study(tmp_path, threads, monkeypatch, modified)
    # The report runs with the packaged catalog (the patch is undone): it must still draw the
    # study's ranges, read from the study directory.
    resolved = json.loads((out / "resolved_scenario.json").read_text())
    sc = json.loads((out / "scenario.json").read_text())
    loads = {g["interceptor"] for g in sc["batteries"][0].get("launchers") or []} or \
        {system.interceptors[0]}
    reach = max(env.max_range_m for name in loads
                for env in modified.interceptors[name].envelopes.values())
    assert resolved["batteries"][0]["radar_range_m"] == pytest.approx(radar_range_m)
    assert resolved["batteries"][0]["engagement_range_m"] == pytest.approx(reach)
    html = write_mc_report(out).read_text(encoding="utf-8")
    check_page(html, MC_DIVS)
    bat = page_data(html)["map"]["batteries"][0]
    assert bat["radar_range_km"] == pytest.approx(radar_range_m / 1e3)
    assert bat["engagement_range_km"] == pytest.approx(reach / 1e3)
    assert "resolved_scenario.json is missing" not in html
    # the asset names still come from the scenario model
    assert {a["id"] for a in page_data(html)["map"]["assets"]} == \
        {a["id"] for a in sc["assets"]}


def test_an_older_study_falls_back_on_the_packaged_catalog_and_says_so(
        tmp_path: Path, threads: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _study(tmp_path, threads, monkeypatch, None)
    (out / "resolved_scenario.json").unlink()  # as written before this file existed
    html = write_mc_report(out).read_text(encoding="utf-8")
    cat = load_catalog()
    bat = page_data(html)["map"]["batteries"][0]
    assert bat["radar_range_km"] == pytest.approx(
        cat.radars[cat.systems[SYSTEM].radar].max_range_m / 1e3)
    assert "resolved_scenario.json is missing" in html
