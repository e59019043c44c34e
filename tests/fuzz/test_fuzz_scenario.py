"""Fuzz: mutated scenario files through ``shieldwall validate`` and (small ones) ``shieldwall run``.

Invariant (tests/fuzz/fuzzkit.py): exit 2 with one paragraph naming the file, or exit 0 -- and
for ``run``: exit 2 writes nothing at -o, exit 0 leaves the whole results directory; a scenario
``validate`` accepts must run (exit 0) within the time bound.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzzkit import Findings, fuzz_settings, invoke
from hypothesis import given
from hypothesis import strategies as st
from mutants import OPS, dump_yaml, mutated_document, mutated_yaml_bytes

from shieldwall.catalog import load_catalog
from tiny_scenario import tiny_document

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_TEXT = (ROOT / "examples" / "capital_region.yaml").read_text(encoding="utf-8")
EXAMPLE = yaml.safe_load(EXAMPLE_TEXT)
TINY = tiny_document()
VALIDATE_BOUND_S = 10.0
RUN_BOUND_S = 90.0
RUN_FILES = {"summary.json", "scenario.json", "run_info.json", "truth.parquet",
             "tracks.parquet", "detections.parquet", "interceptors.parquet", "events.parquet",
             "report.html", "run.geojson", "run.kml", "run.czml"}
_counter = itertools.count()


def _validate(findings: Findings, path: Path, data: bytes) -> tuple[bool, str]:
    """Write ``data`` to ``path``, run ``validate`` and check the invariant; (accepted, stdout)."""
    path.write_bytes(data)
    outcome = invoke(["validate", path], VALIDATE_BOUND_S)
    more = []
    if outcome.exit_code == 0 and not outcome.stdout.startswith("OK: "):
        more.append(("exit 0 without the OK line", outcome.stdout[:300]))
    findings.check(outcome, [path], data, ".yaml", more)
    return outcome.exit_code == 0 and not more, outcome.stdout


@pytest.mark.slow
def test_validate_mutated_example(tmp_path: Path) -> None:
    """Structural, numeric, string, list-length and geography mutations of the bundled
    scenario (as documents, dumped to YAML: repeated objects become anchors/aliases)."""
    findings = Findings("validate-example")
    path = tmp_path / "scenario.yaml"
    accepted = [0]

    @fuzz_settings("scenario_example")
    @given(doc=st.one_of(mutated_document(EXAMPLE), mutated_document(TINY)))
    def case(doc: dict[str, Any]) -> None:
        ok, _ = _validate(findings, path, dump_yaml(doc).encode("utf-8"))
        accepted[0] += ok

    # the unmutated inputs pass (the harness does not flag what is right)
    assert _validate(findings, path, EXAMPLE_TEXT.encode())[0]
    assert _validate(findings, path, dump_yaml(TINY).encode())[0]
    with findings.saved():
        case()
    findings.assert_none()


@pytest.mark.slow
def test_validate_mutated_text(tmp_path: Path) -> None:
    """Byte- and text-level mutations: encodings, BOM, NUL, truncation, flipped bytes, tabs,
    CRLF, duplicated lines (duplicate keys), deep nesting, alias bombs, merge keys."""
    findings = Findings("validate-text")
    path = tmp_path / "scenario.yaml"
    texts = [EXAMPLE_TEXT, dump_yaml(TINY)]

    @fuzz_settings("scenario_text")
    @given(data=st.sampled_from(texts).flatmap(mutated_yaml_bytes))
    def case(data: bytes) -> None:
        _validate(findings, path, data)

    with findings.saved():
        case()
    findings.assert_none()


# ----------------------------------------------------------------------------- validate -> run
_CAT = load_catalog()


def _positions(doc: Any) -> list[dict[str, Any]]:
    """Every mapping with lat_deg/lon_deg in the document."""
    out = []
    if isinstance(doc, dict):
        if "lat_deg" in doc and "lon_deg" in doc:
            out.append(doc)
        for v in doc.values():
            out += _positions(v)
    elif isinstance(doc, list):
        for v in doc:
            out += _positions(v)
    return out


@st.composite
def runnable_mutant(draw: st.DrawFn) -> dict[str, Any]:
    """The tiny scenario with 1-3 edits that mostly keep it valid (doctrine, tracker, counts,
    windows, time step, relocation next to a pole or the antimeridian, another battery or
    threat), and now and then one arbitrary mutation."""
    d = copy.deepcopy(TINY)
    wave = d["raid"]["waves"][0]
    bat = d["batteries"][0]
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(st.sampled_from([
            "tracker", "mode", "salvo", "min_pk", "count", "threat", "window", "dispersion",
            "radius", "dt", "duration", "seed", "sensor", "system", "launchers", "relocate",
            "reserve", "asset"]))
        if edit == "tracker":
            d["tracker"] = {"kind": draw(st.sampled_from(["imm", "ekf"])),
                            "association": draw(st.sampled_from(["gnn", "jpda"])),
                            "filter": draw(st.sampled_from(["ekf", "ukf"]))}
        elif edit == "mode":
            d["doctrine"]["command_mode"] = draw(st.sampled_from(["integrated", "autonomous"]))
            d["doctrine"]["policy"] = draw(st.sampled_from(["shoot_look_shoot", "shoot_shoot"]))
            d["perfect_information"] = draw(st.booleans())
            d["doctrine"]["cost_aware"] = draw(st.booleans())
        elif edit == "salvo":
            cls = draw(st.sampled_from(["ballistic", "aeroballistic", "cruise", "drone", "decoy"]))
            d["doctrine"]["salvo"][cls] = draw(st.integers(1, 8))
        elif edit == "min_pk":
            d["doctrine"]["min_pk"] = draw(st.floats(0, 1))
        elif edit == "count":
            wave["count"] = draw(st.integers(1, 8))
        elif edit == "threat":
            wave["threat"] = draw(st.sampled_from(sorted(_CAT.threats)))
        elif edit == "window":
            a, b = sorted(draw(st.lists(st.floats(-400, 200), min_size=2, max_size=2)))
            wave["launch_window_s"] = [a, b]
        elif edit == "dispersion":
            wave["dispersion_m"] = draw(st.sampled_from([0.0, 1.0, 5000.0, 100_000.0]))
        elif edit == "radius":
            wave["launch"]["radius_km"] = draw(st.sampled_from([0.0, 0.001, 50.0, 500.0]))
        elif edit == "dt":
            d["dt_s"] = draw(st.one_of(st.sampled_from([0.1, 0.5, 1.0, 2.5, 5.0, 10.0]),
                                       st.floats(0.05, 10.0)))
        elif edit == "duration":
            d["duration_s"] = draw(st.sampled_from([1, 2.5, 10, 60, 150, 300]))
        elif edit == "seed":
            d["seed"] = draw(st.integers(0, 2**63 - 1))
        elif edit == "sensor":
            d["sensors"] = copy.deepcopy(EXAMPLE["sensors"])
        elif edit == "system":
            bat["system"] = draw(st.sampled_from(sorted(_CAT.systems)))
            bat.pop("launchers", None)
        elif edit == "launchers":
            bat["launchers"] = [{"interceptor": "pac3-mse", "count": draw(st.integers(1, 100)),
                                 "rounds": draw(st.integers(1, 1000))}]
        elif edit == "relocate":
            dlat = draw(st.sampled_from([0.0, 44.9, -134.9]))
            dlon = draw(st.sampled_from([0.0, 219.95, -140.01, 180.0]))
            for p in _positions(d):
                p["lat_deg"] = max(-90.0, min(90.0, p["lat_deg"] + dlat))
                p["lon_deg"] = (p["lon_deg"] + dlon + 180.0) % 360.0 - 180.0
        elif edit == "reserve":
            d["doctrine"]["reserve_fraction"] = {"pac3-mse": draw(st.floats(0, 0.99))}
        elif edit == "asset":
            a = draw(st.sampled_from(d["assets"]))
            a["value"] = draw(st.sampled_from([0.0, 1e-9, 1e12]))
            a["radius_m"] = draw(st.sampled_from([1e-3, 1.0, 100_000.0]))
    if draw(st.integers(0, 4)) == 0:  # now and then one arbitrary mutation
        d = draw(mutated_document(d, max_ops=1, ops=OPS))
    return d


def _run_problems(outcome_code: int | None, out: Path, n_threats: int) -> list[tuple[str, str]]:
    """Whole or nothing at -o."""
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    if leftovers:
        return [("temporary files left next to -o", str(leftovers))]
    if outcome_code != 0:
        return [("something written at -o without exit 0", str(sorted(p.name for p in
                                                                      out.iterdir())))
                ] if out.exists() else []
    if not out.is_dir():
        return [("exit 0 without the results directory", str(out))]
    missing = RUN_FILES - {p.name for p in out.iterdir()}
    if missing:
        return [("exit 0 with an incomplete results directory", str(sorted(missing)))]
    summary = json.loads((out / "summary.json").read_text())
    if summary.get("threats") != n_threats:
        return [("summary threat count differs from validate's",
                 f"{summary.get('threats')} vs {n_threats}")]
    return []


@pytest.mark.slow
def test_validate_ok_implies_run_ok(tmp_path: Path) -> None:
    """Mutants of the tiny scenario (<= 12 threats, <= 300 s) that ``validate`` accepts must
    ``run`` to exit 0 with the whole results directory; rejected ones write nothing."""
    findings = Findings("run")
    path = tmp_path / "scenario.yaml"
    ran = [0, 0]

    def one(doc: dict[str, Any]) -> None:
        data = dump_yaml(doc).encode("utf-8")
        ok, stdout = _validate(findings, path, data)
        m = re.search(r"(\d+) threats in", stdout)
        n_threats = int(m.group(1)) if m else -1
        duration = doc.get("duration_s") if isinstance(doc, dict) else None
        if ok and (n_threats > 12 or not isinstance(duration, int | float) or duration > 300):
            return  # too big for the per-case bound; validate alone was checked
        out = tmp_path / f"out-{next(_counter)}" / "run"
        out.parent.mkdir()
        outcome = invoke(["run", path, "-o", out], RUN_BOUND_S)
        more = _run_problems(outcome.exit_code, out, n_threats)
        if ok and outcome.exit_code != 0 and not outcome.timed_out:
            more.append(("validate accepted it but run did not exit 0",
                         outcome.stderr[-400:]))
        findings.check(outcome, [path], data, ".yaml", more, validate="OK" if ok else "rejected")
        ran[0] += 1
        ran[1] += ok

    one(TINY)  # warms the compiled kernels, and the harness passes a good run
    assert ran == [1, 1] and not findings.items, findings.report()

    @fuzz_settings("scenario_run")
    @given(doc=runnable_mutant())
    def case(doc: dict[str, Any]) -> None:
        one(doc)

    with findings.saved():
        case()
    print(f"run: {ran[0]} cases went through run, {ran[1]} of them accepted by validate")
    findings.assert_none()
