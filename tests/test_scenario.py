"""The scenario language: models, YAML loading with lines, reference checks, dump/load, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from geographiclib.geodesic import Geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shieldwall.catalog import load_catalog
from shieldwall.core.errors import InputError
from shieldwall.scenario import (
    Scenario,
    check_scenario,
    dump_scenario,
    format_path,
    line_of,
    load_scenario,
    load_scenario_text,
    resolve_scenario,
    scenario_json_schema,
)

GEOD = Geodesic.WGS84

MINIMAL = """\
name: minimal
origin: {lat_deg: 10.0, lon_deg: 20.0}
duration_s: 600
assets:
  - {id: a1, kind: city, lat_deg: 10.0, lon_deg: 20.0, value: 10, radius_m: 1000}
  - {id: a2, kind: substation, lat_deg: 10.1, lon_deg: 20.1, value: 1, radius_m: 200}
batteries:
  - {id: b1, system: iris-t-slm, lat_deg: 10.05, lon_deg: 20.05}
raid:
  waves:
    - threat: shahed-136
      count: 3
      launch: {lat_deg: 11.0, lon_deg: 21.0, radius_km: 5}
      launch_window_s: [0, 60]
      targets: [a1, a2]
"""


def _load(text: str) -> Scenario:
    return load_scenario_text(text, name="s.yaml")


def _error(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        _load(text)
    return info.value


def _line_containing(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_example_loads_and_resolves_catalog_defaults(example_path: Path) -> None:
    s = load_scenario(example_path)
    assert s.name == "Capital region (notional)"
    assert (len(s.assets), len(s.sensors), len(s.batteries)) == (6, 1, 6)
    assert len(s.raid.waves) == 7 and s.n_threats == 8 + 4 + 12 + 40 + 20
    assert {w.threat for w in s.raid.waves} == {"iskander-m", "kinzhal", "kh-101",
                                                "shahed-136", "gerbera"}
    assert s.origin.lat_deg == 45.0 and s.origin.lon_deg == -40.0
    patriot = next(b for b in s.batteries if b.system == "patriot")
    assert [(g.interceptor, g.count, g.rounds) for g in patriot.launchers or []] == [
        ("pac3-mse", 4, 12), ("pac2-gem-t", 2, 4)]
    iris = next(b for b in s.batteries if b.system == "iris-t-slm")
    assert [(g.interceptor, g.count, g.rounds) for g in iris.launchers or []] == [
        ("iris-t-slm", 3, 8)]
    assert sum(b.system == "gepard" for b in s.batteries) == 2
    assert not s.perfect_information and s.dt_s == 0.5 and s.duration_s == 2700


def test_defaults() -> None:
    s = _load(MINIMAL)
    assert s.dt_s == 0.5 and s.seed == 0 and s.perfect_information is False
    assert s.doctrine.salvo.ballistic == 2 and s.doctrine.salvo.drone == 1
    assert s.doctrine.policy == "shoot_look_shoot" and s.sensors == []
    assert s.batteries[0].launchers is not None
    assert s.batteries[0].launchers[0].rounds == 8


def test_dump_load_round_trip_of_the_example(example_path: Path) -> None:
    s = load_scenario(example_path)
    again = load_scenario_text(dump_scenario(s))
    assert again == s
    assert resolve_scenario(again, load_catalog()) == again  # resolution is a fixed point


_lat = st.floats(-1.0, 1.0, allow_nan=False)
_ident = st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    ids = draw(st.lists(_ident, min_size=1, max_size=4, unique=True))
    assets = [{"id": i, "kind": draw(st.sampled_from(["city", "power_plant", "other"])),
               "lat_deg": 50.0 + draw(_lat), "lon_deg": 10.0 + draw(_lat),
               "value": draw(st.floats(0, 1e3)), "radius_m": draw(st.floats(1.0, 5e3)),
               "name": draw(st.none() | st.text(max_size=8))} for i in ids]
    catalog = load_catalog()
    batteries = []
    for k in range(draw(st.integers(0, 3))):
        system = draw(st.sampled_from(sorted(catalog.systems)))
        launchers = draw(st.none() | st.just([
            {"interceptor": catalog.systems[system].interceptors[-1],
             "count": draw(st.integers(1, 6)), "rounds": draw(st.none() | st.integers(1, 20))}]))
        batteries.append({"id": f"bat-{k}", "system": system, "lat_deg": 50.0 + draw(_lat),
                          "lon_deg": 10.0 + draw(_lat), "launchers": launchers,
                          "radar_heading_deg": draw(st.floats(-360, 360))})
    waves = []
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.floats(-1e4, 1e4))
        wave: dict[str, Any] = {
            "threat": draw(st.sampled_from(["shahed-136", "kh-101", "iskander-m"])),
            "count": draw(st.integers(1, 50)),
            "launch": {"lat_deg": 51.0 + draw(_lat), "lon_deg": 11.0 + draw(_lat),
                       "radius_km": draw(st.floats(0, 20))},
            "launch_window_s": [start, start + draw(st.floats(0, 1e3))],
            "dispersion_m": draw(st.floats(0, 500)),
        }
        if draw(st.booleans()):
            wave["targets"] = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
        else:
            wave["aim_points"] = [{"lat_deg": 50.0 + draw(_lat), "lon_deg": 10.0 + draw(_lat)}]
        waves.append(wave)
    data = {"name": draw(st.text(min_size=1, max_size=20)), "origin": {"lat_deg": 50.0,
                                                                        "lon_deg": 10.0},
            "duration_s": draw(st.floats(1.0, 1e4)), "dt_s": draw(st.floats(0.01, 10.0)),
            "seed": draw(st.integers(0, 2**63 - 1)), "assets": assets, "batteries": batteries,
            "raid": {"waves": waves},
            "doctrine": {"reserve_fraction": {"pac3-mse": draw(st.floats(0, 0.99))}}}
    s = Scenario.model_validate(data)
    assert check_scenario(s, catalog) == []
    return resolve_scenario(s, catalog)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_dump_load_round_trip_is_exact(s: Scenario) -> None:
    assert load_scenario_text(dump_scenario(s)) == s


@pytest.mark.parametrize("name", ["\x85", "a\u2028b", "c\u2029", "x\x85y\nz"])
def test_unicode_line_breaks_survive_the_round_trip(example_path: Path, name: str) -> None:
    # hypothesis found NEL (U+0085): PyYAML writes it raw in a single-quoted scalar and
    # reads it back as a space; the dumper double-quotes such text, where YAML escapes it.
    s = load_scenario(example_path)
    asset = s.assets[0].model_copy(update={"name": name})
    s = s.model_copy(update={"assets": [asset, *s.assets[1:]]})
    assert load_scenario_text(dump_scenario(s)).assets[0].name == name


def test_line_of_maps_paths_to_yaml_lines() -> None:
    node = yaml.compose(MINIMAL)
    assert line_of(node, ("raid", "waves", 0, "count")) == _line_containing(MINIMAL, "count: 3")
    assert line_of(node, ("assets", 1, "kind")) == _line_containing(MINIMAL, "id: a2")
    assert line_of(node, ("raid", "waves", 0, "targets", 1)) == _line_containing(MINIMAL,
                                                                                "targets:")
    # A missing field points at its parent mapping.
    assert line_of(node, ("raid", "waves", 0, "route")) == _line_containing(MINIMAL,
                                                                            "threat: shahed")
    assert format_path(("raid", "waves", 2, "count")) == "raid.waves[2].count"


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment", "match"),
    [
        ("count: 3", "cout: 3", "raid.waves[0].cout", "cout", "did you mean 'count'"),
        ("count: 3", "count: -3", "raid.waves[0].count", "count: -3", "greater than or equal"),
        ("system: iris-t-slm", "system: iris", "batteries[0].system", "system: iris",
         "unknown system 'iris'"),
        ("targets: [a1, a2]", "targets: [a1, a9]", "raid.waves[0].targets[1]", "targets:",
         "aim point 'a9' is no asset"),
        ("launch_window_s: [0, 60]", "launch_window_s: [60, 0]", "raid.waves[0].launch_window_s",
         "launch_window_s", "start 60 s is after its end 0 s"),
        ("lat_deg: 10.1, lon_deg: 20.1", "lat_deg: 91, lon_deg: 20.1", "assets[1].lat_deg",
         "lat_deg: 91", "less than or equal to 90"),
        ("lat_deg: 10.1, lon_deg: 20.1", "lat_deg: 10.1, lon_deg: 181", "assets[1].lon_deg",
         "lon_deg: 181", "less than or equal to 180"),
        ("id: a2", "id: a1", "assets[1].id", "id: a1, kind: substation", "duplicate id 'a1'"),
        ("shahed-136", "shahed-137", "raid.waves[0].threat", "threat:", "did you mean"),
        ("kind: city", "kind: town", "assets[0].kind", "kind: town", "'city'"),
    ],
)
def test_errors_name_field_and_line(old: str, new: str, field: str, fragment: str,
                                    match: str) -> None:
    text = MINIMAL.replace(old, new, 1)
    err = _error(text)
    assert err.file == "s.yaml"
    assert err.field == field
    assert err.line == _line_containing(text, fragment)
    assert match in err.message


def test_interceptor_must_be_loadable_by_the_system() -> None:
    text = MINIMAL.replace("system: iris-t-slm, lat_deg: 10.05, lon_deg: 20.05",
                           "system: nasams, lat_deg: 10.05, lon_deg: 20.05, launchers: "
                           "[{interceptor: pac3-mse, count: 2}]")
    err = _error(text)
    assert err.field == "batteries[0].launchers[0].interceptor"
    assert "cannot be loaded on a 'nasams' battery; it loads: amraam" in err.message
    err = _error(text.replace("pac3-mse", "pac9"))
    assert "unknown interceptor 'pac9'" in err.message


def test_exactly_one_of_targets_and_aim_points() -> None:
    both = MINIMAL.replace("targets: [a1, a2]",
                           "targets: [a1]\n      aim_points: [{lat_deg: 10, lon_deg: 20}]")
    neither = MINIMAL.replace("      targets: [a1, a2]\n", "")
    for text in (both, neither):
        err = _error(text)
        assert err.field == "raid.waves[0]" and "exactly one" in err.message
        assert err.line == _line_containing(text, "threat: shahed")


def _destination(lat: float, lon: float, azimuth_deg: float, distance_m: float) -> tuple:
    d = GEOD.Direct(lat, lon, azimuth_deg, distance_m)
    return d["lat2"], d["lon2"]


@pytest.mark.parametrize("azimuth_deg", [0.0, 77.0, 200.0])
def test_positions_must_lie_within_3000_km_of_the_origin(azimuth_deg: float) -> None:
    for distance_km, ok in ((2980.0, True), (3030.0, False)):
        lat, lon = _destination(10.0, 20.0, azimuth_deg, distance_km * 1e3)
        text = MINIMAL.replace("batteries:", f"sensors:\n  - {{id: ew, radar: ew-radar, "
                                             f"lat_deg: {lat!r}, lon_deg: {lon!r}}}\nbatteries:")
        if ok:
            _load(text)
        else:
            err = _error(text)
            assert err.field == "sensors[0].lat_deg"
            assert err.line == _line_containing(text, "id: ew")
            assert "within 3000 km" in err.message


def test_threat_must_be_able_to_reach_its_aim_point() -> None:
    lat, lon = _destination(10.0, 20.0, 90.0, 700e3)  # Iskander class range 500 km
    text = MINIMAL.replace("shahed-136", "iskander-m").replace(
        "launch: {lat_deg: 11.0, lon_deg: 21.0, radius_km: 5}",
        f"launch: {{lat_deg: {lat!r}, lon_deg: {lon!r}, radius_km: 5}}")
    err = _error(text)
    assert err.field == "raid.waves[0].targets[0]"
    assert "cannot reach" in err.message and "range is 500 km" in err.message


def test_malformed_and_empty_yaml() -> None:
    err = _error(MINIMAL.replace("  waves:", "  waves: [", 1))
    assert "malformed YAML" in err.message and err.line is not None
    err = _error("")
    assert "empty" in err.message
    err = _error("- just\n- a list\n")
    assert "mapping" in err.message and err.line == 1
    duplicated = MINIMAL.replace("duration_s: 600", "duration_s: 600\nduration_s: 900")
    err = _error(duplicated)
    assert err.field == "duration_s" and "duplicate key" in err.message
    assert err.line == _line_containing(duplicated, "duration_s: 900")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found") as info:
        load_scenario(tmp_path / "nope.yaml")
    assert info.value.file.endswith("nope.yaml")


def _schema_keys_ok(data: Any, schema: dict[str, Any], defs: dict[str, Any], path: str) -> None:
    """A minimal structural walk: every key of the data is a property of its schema object."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    for option in schema.get("anyOf", []):
        if option.get("type") != "null" and data is not None:
            _schema_keys_ok(data, option, defs, path)
            return
    if isinstance(data, dict) and "properties" in schema:
        assert schema.get("additionalProperties") is False, path
        for key, value in data.items():
            assert key in schema["properties"], f"{path}.{key}"
            _schema_keys_ok(value, schema["properties"][key], defs, f"{path}.{key}")
        for key in schema.get("required", []):
            assert key in data, f"{path}.{key} required"
    elif isinstance(data, list) and "items" in schema:
        for i, item in enumerate(data):
            _schema_keys_ok(item, schema["items"], defs, f"{path}[{i}]")


def test_json_schema_describes_the_file(example_path: Path) -> None:
    schema = scenario_json_schema()
    json.dumps(schema)  # serializable
    assert schema["title"] == "shieldwall scenario"
    assert set(schema["properties"]) == set(Scenario.model_fields)
    assert {"name", "origin", "duration_s", "assets", "raid"} <= set(schema["required"])
    assert "examples" in schema["$defs"]["Battery"]["properties"]["system"]
    assert "patriot" in schema["$defs"]["Battery"]["properties"]["system"]["examples"]
    data = yaml.safe_load(example_path.read_text())
    _schema_keys_ok(data, schema, schema["$defs"], "")
    for name, definition in schema["$defs"].items():
        if "properties" in definition:
            assert definition["additionalProperties"] is False, name
