"""Reading and writing scenario files: YAML with line numbers, friendly errors, JSON Schema.

``load_scenario`` parses the YAML once into a node tree (``yaml.compose`` marks give each field
its line), validates the data with the pydantic models, runs ``check_scenario`` against the
catalog and returns the *resolved* scenario (catalog defaults filled in). Any problem becomes one
``InputError(file, message, field="raid.waves[2].count", line=17)``. ``dump_scenario`` writes
YAML such that ``load_scenario_text(dump_scenario(s)) == s`` for a resolved scenario ``s``.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from shieldwall.catalog.loader import (
    MAX_YAML_BYTES,
    YamlLimitError,
    YamlLoader,
    check_yaml_size,
    load_catalog,
)
from shieldwall.catalog.types import Catalog
from shieldwall.core.errors import InputError
from shieldwall.scenario.checks import (
    Path,
    ScenarioIssue,
    check_scenario,
    format_path,
    resolve_scenario,
)
from shieldwall.scenario.models import Scenario

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# ---------------------------------------------------------------------------- YAML and lines
def _parse_yaml(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    """(data, root node); malformed YAML and duplicate keys raise ``InputError``."""
    try:
        check_yaml_size(text)
    except YamlLimitError as err:
        raise InputError(file, f"{err.problem} (input limit)") from None
    try:
        loader = YamlLoader(text)
    except yaml.reader.ReaderError as err:  # PyYAML reads the whole text first: NUL, ESC, ...
        char = err.character if isinstance(err.character, int) else ord(err.character)
        raise InputError(file, f"malformed YAML: character #x{char:04x} is not allowed in YAML "
                         "text (control characters other than tab and line breaks)",
                         line=text.count("\n", 0, err.position) + 1) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _reject_duplicate_keys(node, (), file, set())
        data = loader.construct_document(node)
    except YamlLimitError as err:
        mark = err.problem_mark
        raise InputError(file, f"{err.problem} (input limit)",
                         line=None if mark is None else mark.line + 1) from None
    except ValueError as err:
        # PyYAML builds ints and dates with int() and datetime(): "2024-02-30" or a
        # 5000-digit number raise ValueError. The node marks are gone here; say what it was.
        raise InputError(file, f"a value cannot be read: {err}") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = " ".join(str(p) for p in (err.context, err.problem) if p)
        raise InputError(file, f"malformed YAML: {problem}",
                         line=None if mark is None else mark.line + 1) from None
    except yaml.YAMLError as err:
        raise InputError(file, f"malformed YAML: {err}") from None
    finally:
        loader.dispose()
    return data, node


def _reject_duplicate_keys(node: yaml.Node, path: Path, file: str, done: set[int]) -> None:
    # ``done``: ids of the collection nodes already checked. An alias is the same node object
    # as its anchor, so each is walked once (not once per alias: exponential for a bomb).
    if id(node) in done:
        return
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        done.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise InputError(file, f"duplicate key '{name}' (a later value would silently "
                                       "replace the first)", field=format_path((*path, name)),
                                 line=key.start_mark.line + 1)
            seen.add(name)
            _reject_duplicate_keys(value, (*path, name), file, done)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _reject_duplicate_keys(item, (*path, i), file, done)


def line_of(root: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """1-based line of the field at ``path`` (the key's line), or of its deepest existing parent.

    ``root`` is the ``yaml.compose`` node of the file. Returns None without a root.
    """
    if root is None:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if str(key.value) == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# ---------------------------------------------------------------------- pydantic -> messages
def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _model_at(path: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model class of the mapping at ``path`` inside a Scenario (None if not one)."""
    cls: type[BaseModel] | None = Scenario
    for part in path:
        if isinstance(part, int):
            continue
        if cls is None or part not in cls.model_fields:
            return None
        cls = _inner_model(cls.model_fields[part].annotation)
    return cls


def _clean_loc(loc: Sequence[str | int]) -> Path:
    # Pydantic adds union-member tags (e.g. "list[LauncherGroup]") and "[key]" markers.
    return tuple(p for p in loc
                 if isinstance(p, int) or not (("[" in p and "]" in p) or p == "[key]"))


def _message(error: Any) -> str:
    kind = error["type"]
    loc = _clean_loc(error["loc"])
    if kind == "extra_forbidden":
        field = str(loc[-1])
        model = _model_at(loc[:-1])
        valid = sorted(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(field, valid, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{field}'{hint}; valid fields here: {', '.join(valid)}"
    if kind == "missing":
        return f"required field '{loc[-1]}' is missing" if loc else "required field missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if kind not in ("model_type", "dict_type", "list_type") and isinstance(
            value, str | int | float | bool | None):
        message += f" (got {value!r})"
    if kind in ("model_type", "dict_type") and not isinstance(value, dict):
        message = f"expected a mapping of fields here (got {value!r})"
    return message


def _raise_validation(err: ValidationError, file: str, root: yaml.Node | None) -> typing.NoReturn:
    # A misspelled key shows up twice (unknown key + missing field): report the unknown key,
    # whose message suggests the right spelling.
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = _clean_loc(first["loc"])
    message = _message(first)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    raise InputError(file, message, field=format_path(loc) or None,
                     line=line_of(root, loc)) from None


def _raise_issues(issues: list[ScenarioIssue], file: str, root: yaml.Node | None) -> None:
    if not issues:
        return
    first = issues[0]
    message = first.message
    if len(issues) > 1:
        message += f" (and {len(issues) - 1} more problem{'s' if len(issues) > 2 else ''})"
    raise InputError(file, message, field=format_path(first.path), line=line_of(root,
                                                                                first.path))


# ---------------------------------------------------------------------------------- public API
def load_scenario_text(text: str, name: str = "<string>",
                       catalog: Catalog | None = None) -> Scenario:
    """Parse, validate, check against the catalog and resolve scenario YAML ``text``.

    ``name`` is the file name used in error messages. Raises ``InputError``.
    """
    data, root = _parse_yaml(text, name)
    if data is None:
        raise InputError(name, "the file is empty; a scenario needs at least name, origin, "
                               "duration_s, assets and raid")
    if not isinstance(data, dict):
        raise InputError(name, "a scenario must be a YAML mapping with at least name, origin, "
                               f"duration_s, assets and raid (got {type(data).__name__})",
                         line=line_of(root, ()))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        _raise_validation(err, name, root)
    catalog = load_catalog() if catalog is None else catalog
    _raise_issues(check_scenario(scenario, catalog), name, root)
    return resolve_scenario(scenario, catalog)


def load_scenario(path: str | FilePath, catalog: Catalog | None = None) -> Scenario:
    """Load a scenario file (YAML). Raises ``InputError`` naming the file, field and line."""
    file = FilePath(path)
    try:
        if file.is_file() and file.stat().st_size > MAX_YAML_BYTES:
            raise InputError(str(path), f"the file is {file.stat().st_size:,} bytes, more than "
                                        f"the limit of {MAX_YAML_BYTES:,} bytes for a "
                                        "scenario (input limit)")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a directory, not a scenario file") from None
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"not UTF-8 text ({err.reason})") from None
    except OSError as err:
        raise InputError(str(path), f"cannot read the file ({err.strerror})") from None
    return load_scenario_text(text, name=str(path), catalog=catalog)


class _ScenarioDumper(yaml.SafeDumper):
    """Safe YAML with one fix: text holding a Unicode line break (NEL U+0085, LS U+2028, PS
    U+2029) is double-quoted, where YAML escapes it. PyYAML with ``allow_unicode`` otherwise
    writes it raw in a single-quoted scalar, and reading folds it into a space."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(c in text for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ScenarioDumper.add_representer(str, _represent_str)


def dump_scenario(scenario: Scenario) -> str:
    """YAML text of ``scenario``; ``load_scenario_text(dump_scenario(s)) == s`` when resolved."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    return yaml.dump(data, Dumper=_ScenarioDumper, sort_keys=False, allow_unicode=True,
                     width=100)


def scenario_json_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """JSON Schema (2020-12) of the scenario file, with the catalog's names as examples."""
    catalog = load_catalog() if catalog is None else catalog
    schema = Scenario.model_json_schema()
    schema = {"$schema": JSON_SCHEMA_DIALECT, **schema}
    schema["description"] = (
        "A shieldwall scenario (notional, for analysis and education): defended assets, "
        "sensors, batteries, doctrine and the raid. Positions in degrees (WGS84), heights in "
        "metres, times in seconds from scenario start.")
    defs = schema.get("$defs", {})
    names: dict[tuple[str, str], Mapping[str, object]] = {
        ("Battery", "system"): catalog.systems, ("Sensor", "radar"): catalog.radars,
        ("LauncherGroup", "interceptor"): catalog.interceptors,
        ("Wave", "threat"): catalog.threats}
    for (model, field), records in names.items():
        prop = defs.get(model, {}).get("properties", {}).get(field)
        if prop is not None:
            prop["examples"] = sorted(records)
            prop["description"] = (prop.get("description", "")
                                   + f" Catalog names: {', '.join(sorted(records))}.").strip()
    return schema
