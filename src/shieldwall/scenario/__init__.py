"""The scenario file: pydantic models, YAML loading with line numbers, checks, JSON Schema."""

from shieldwall.scenario.checks import (
    MAX_DISTANCE_FROM_ORIGIN_M,
    ScenarioIssue,
    check_scenario,
    format_path,
    resolve_scenario,
)
from shieldwall.scenario.io import (
    dump_scenario,
    line_of,
    load_scenario,
    load_scenario_text,
    scenario_json_schema,
)
from shieldwall.scenario.models import (
    Asset,
    Battery,
    Doctrine,
    LatLon,
    LaunchArea,
    LauncherGroup,
    Raid,
    Salvo,
    Scenario,
    Sensor,
    Wave,
)

__all__ = [
    "MAX_DISTANCE_FROM_ORIGIN_M",
    "Asset",
    "Battery",
    "Doctrine",
    "LatLon",
    "LaunchArea",
    "LauncherGroup",
    "Raid",
    "Salvo",
    "Scenario",
    "ScenarioIssue",
    "Sensor",
    "Wave",
    "check_scenario",
    "dump_scenario",
    "format_path",
    "line_of",
    "load_scenario",
    "load_scenario_text",
    "resolve_scenario",
    "scenario_json_schema",
]
