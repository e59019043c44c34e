"""Loading the packaged notional catalog and keeping the source next to every number.

The packaged ``catalog.yaml`` writes every number as a *sourced value*::

    max_range_m: {value: 500, unit: km, source: "https://...", confidence: high, note: "..."}

``load_catalog`` strips these mappings into plain SI values for the pydantic records
(``shieldwall.catalog.types``) and collects the provenance into ``Catalog.sources``, keyed by the
dotted path of the field, e.g. ``"threats.iskander-m.max_range_m"`` or
``"interceptors.pac3-mse.envelopes.ballistic.max_range_m"``. A bare number anywhere in the records
is an error: no figure enters the model without a source or a ``notional`` label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from shieldwall.catalog.types import (
    AirDefenseSystem,
    AssetTemplate,
    Catalog,
    Interceptor,
    PassiveSensor,
    Radar,
    ThreatType,
)
from shieldwall.core.errors import ShieldwallError

#: Confidence labels (the shared catalog's key plus ``notional`` for figures chosen by us).
CONFIDENCE_LEVELS: tuple[str, ...] = ("high", "moderate", "low", "notional")

#: Units a sourced value may be written in, with the factor to the field's SI unit.
UNIT_FACTORS: dict[str, float] = {
    "1": 1.0, "m": 1.0, "km": 1e3, "rad": 1.0, "deg": math.pi / 180.0, "s": 1.0, "min": 60.0,
    "h": 3600.0, "m/s": 1.0, "m2": 1.0, "kg": 1.0, "usd": 1.0, "W": 1.0, "kW": 1e3, "MW": 1e6,
    "Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9, "dB": 1.0, "g": 1.0, "Pa": 1.0, "kPa": 1e3,
}

_SOURCED_KEYS = frozenset({"value", "unit", "source", "confidence", "note"})
_SECTIONS: dict[str, type[ThreatType | Radar | PassiveSensor | Interceptor | AirDefenseSystem
                          | AssetTemplate]] = {
    "threats": ThreatType, "radars": Radar, "passive_sensors": PassiveSensor,
    "interceptors": Interceptor, "systems": AirDefenseSystem, "asset_templates": AssetTemplate,
}


class CatalogError(ShieldwallError):
    """The catalog file is malformed (a packaging bug, or a user catalog with a mistake)."""


#: Input limits of every YAML file shieldwall reads from users (scenarios, catalogs, sensor
#: configurations, ``--set`` values). A real scenario is a few kB with a nesting depth below 10
#: and a few thousand nodes; the limits stop an alias bomb ("billion laughs": 10 lines that
#: expand to 10^9 nodes) or a ``[[[[...]]]]`` nesting bomb within milliseconds instead of
#: minutes or a RecursionError. Pure-Python PyYAML reads ~100 kB/s, so the size limit also
#: bounds the parse time (~10 s).
MAX_YAML_BYTES = 1_048_576
#: Deepest nesting of mappings and sequences (the top-level mapping is level 1).
MAX_YAML_DEPTH = 64
#: Nodes of the document *with every alias expanded* (an alias counts as the size of its anchor).
MAX_YAML_NODES = 1_000_000


class YamlLimitError(yaml.MarkedYAMLError):
    """A YAML document exceeds ``MAX_YAML_BYTES``, ``MAX_YAML_DEPTH`` or ``MAX_YAML_NODES``.

    ``problem`` says which limit; ``problem_mark`` is where it was crossed (None for the size).
    """


def check_yaml_size(text: str) -> None:
    """Raise ``YamlLimitError`` when ``text`` is longer than ``MAX_YAML_BYTES`` (UTF-8)."""
    if len(text) > MAX_YAML_BYTES or len(text.encode("utf-8")) > MAX_YAML_BYTES:
        size = len(text.encode("utf-8"))
        raise YamlLimitError(problem=f"the file is {size:,} bytes, more than the limit of "
                                     f"{MAX_YAML_BYTES:,} bytes for a YAML input")


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e5`` and ``1.0e5`` as floats, within input limits.

    PyYAML follows YAML 1.1, whose float pattern needs a dot and a signed exponent, so ``3e6``
    would otherwise load as a string. This adds the YAML 1.2 form.

    Composing a node past ``MAX_YAML_DEPTH`` levels, or past ``MAX_YAML_NODES`` nodes counting
    every alias as the expanded size of its anchor, raises ``YamlLimitError`` at once (the
    count is kept while composing, so a bomb is stopped after reading a few lines). Check
    the text with ``check_yaml_size`` first (``yaml.load`` with this loader does it).
    """

    def __init__(self, stream: Any) -> None:
        if isinstance(stream, str):
            check_yaml_size(stream)
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._anchor_sizes: dict[str, int] = {}

    def _count(self, k: int, mark: Any) -> None:
        self._nodes += k
        if self._nodes > MAX_YAML_NODES:
            raise YamlLimitError(problem=f"the document expands to more than {MAX_YAML_NODES:,}"
                                         " nodes (aliases counted as the nodes they repeat);"
                                         " is this an alias bomb?", problem_mark=mark)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:  # noqa: N803 (PyYAML's)
        # The scanner looks up to 1024 characters ahead for a possible simple key in flow
        # context; stopping '[[[[...' here keeps that lookahead short (ms, not 0.5 s).
        if self.flow_level >= MAX_YAML_DEPTH:
            raise YamlLimitError(problem=f"nesting deeper than {MAX_YAML_DEPTH} levels",
                                 problem_mark=self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            self._count(self._anchor_sizes.get(str(event.anchor), 1), event.start_mark)
            return node
        if self._depth >= MAX_YAML_DEPTH and isinstance(
                event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            raise YamlLimitError(problem=f"nesting deeper than {MAX_YAML_DEPTH} levels",
                                 problem_mark=event.start_mark)  # type: ignore[arg-type]  # stubs: C Mark
        self._count(1, event.start_mark)
        before = self._nodes - 1
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if event.anchor is not None:
            self._anchor_sizes[str(event.anchor)] = self._nodes - before
        return node


YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                  |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                  |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _strip_sourced(node: Any, path: str, sources: dict[str, dict[str, str]]) -> Any:
    """Replace sourced-value mappings by their SI value, recording provenance under ``path``."""
    if isinstance(node, Mapping) and "value" in node:
        extra = set(node) - _SOURCED_KEYS
        if extra or "source" not in node or "confidence" not in node:
            raise CatalogError(
                f"{path}: a sourced value needs keys value, source, confidence (optional unit,"
                f" note); got {sorted(node)}")
        confidence = str(node["confidence"])
        if confidence not in CONFIDENCE_LEVELS:
            raise CatalogError(f"{path}: confidence {confidence!r} is not one of "
                               f"{', '.join(CONFIDENCE_LEVELS)}")
        source = node["source"]
        note = node.get("note")
        if not source or (confidence == "notional" and not note):
            raise CatalogError(f"{path}: needs a source, and a note when notional")
        value = node["value"]
        unit = str(node.get("unit", "1"))
        if unit not in UNIT_FACTORS:
            raise CatalogError(f"{path}: unknown unit {unit!r}; known: {', '.join(UNIT_FACTORS)}")
        if value is not None:
            if not _is_number(value):
                raise CatalogError(f"{path}: value must be a number or null, got {value!r}")
            factor = UNIT_FACTORS[unit]
            if factor != 1.0:
                value = float(value) * factor
        written = "null" if node["value"] is None else str(node["value"])
        if unit != "1" and node["value"] is not None:
            written += f" {unit}"
        info = {"source": str(source), "confidence": confidence, "as_written": written}
        if note:
            info["note"] = str(note)
        sources[path] = info
        return value
    if isinstance(node, Mapping):
        return {str(k): _strip_sourced(v, f"{path}.{k}", sources) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip_sourced(v, f"{path}[{i}]", sources) for i, v in enumerate(node)]
    if _is_number(node):
        raise CatalogError(f"{path}: bare number {node!r}: write {{value, source, confidence}}")
    return node


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build a ``Catalog`` from the parsed YAML mapping (sourced values, names as keys).

    Raises ``CatalogError`` on a bare number, a malformed sourced value, a record that fails its
    pydantic type, or a system naming a radar or interceptor that does not exist.
    """
    sources: dict[str, dict[str, str]] = {}
    sections: dict[str, dict[str, Any]] = {}
    for section, record_type in _SECTIONS.items():
        raw = data.get(section) or {}
        if not isinstance(raw, Mapping):
            raise CatalogError(f"{section}: expected a mapping of name -> record")
        records: dict[str, Any] = {}
        for name, body in raw.items():
            if not isinstance(body, Mapping):
                raise CatalogError(f"{section}.{name}: expected a mapping")
            plain = _strip_sourced(body, f"{section}.{name}", sources)
            try:
                records[str(name)] = record_type.model_validate({"name": str(name), **plain})
            except ValueError as err:
                raise CatalogError(f"{section}.{name}: {err}") from err
        sections[section] = records
    catalog = Catalog(**sections, sources=sources)
    for name, system in catalog.systems.items():
        if system.radar not in catalog.radars:
            raise CatalogError(f"systems.{name}.radar: unknown radar {system.radar!r}")
        for interceptor in (*system.interceptors, *system.rounds_per_launcher):
            if interceptor not in catalog.interceptors:
                raise CatalogError(f"systems.{name}: unknown interceptor {interceptor!r}")
        missing = set(system.interceptors) - set(system.rounds_per_launcher)
        if missing:
            raise CatalogError(f"systems.{name}.rounds_per_launcher: missing {sorted(missing)}")
    return catalog


def parse_catalog_text(text: str) -> Catalog:
    """Parse catalog YAML text (same format as the packaged file)."""
    try:
        data = yaml.load(text, Loader=YamlLoader)  # a SafeLoader subclass
    except yaml.YAMLError as err:
        raise CatalogError(f"catalog: cannot read the YAML ({err})") from None
    if not isinstance(data, Mapping):
        raise CatalogError("catalog: the top level must be a mapping")
    return parse_catalog(data)


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The packaged notional catalog (immutable, loaded once per process)."""
    text = resources.files("shieldwall.catalog").joinpath("catalog.yaml").read_text("utf-8")
    return parse_catalog_text(text)
