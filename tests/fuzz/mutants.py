"""hypothesis strategies that mutate the project's user inputs (documents, text and bytes)."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import yaml
from hypothesis import strategies as st

from shieldwall.catalog import load_catalog

_CATALOG = load_catalog()
CATALOG_NAMES = sorted({*_CATALOG.systems, *_CATALOG.radars, *_CATALOG.interceptors,
                        *_CATALOG.threats})

NUMBERS: list[Any] = [0, -1, 1, 2, 0.5, -0.0, 2.5, -1.5, 1e308, -1e308, math.nan, math.inf,
                      -math.inf, 5e-324, 1e-300, 1e-9, 10**20, -(10**20), 2**63, 2**64,
                      10**400, 604801, 100001, 99999.5, 3.0, 1e6, 1e9]
STRINGS: list[str] = ["", " ", "patriott", "ISKANDER-M", "iskander-m ", "ünïcødé-ß", "名前",
                      "\u202e", "a\nb", "a\tb", "\x00", "x" * 10000, "🚀" * 100, "null", "~",
                      "yes", "1e5", "-.inf", ".nan", "0x1F", "1_000", "12", "-3",
                      "aldmere-centre"]
LATS: list[float] = [91.0, -91.0, 90.0, -90.0, 89.9999, 1e9, -1e9, math.nan]
LONS: list[float] = [181.0, -181.0, 180.0, -180.0, 179.9999, 540.0, 1e9, math.inf]


def weird_value(depth: int = 3) -> st.SearchStrategy[Any]:
    """Any value a mistaken (or hostile) user might write in place of another."""
    leaves = st.one_of(
        st.none(), st.booleans(), st.sampled_from(NUMBERS), st.sampled_from(STRINGS),
        st.sampled_from(CATALOG_NAMES), st.integers(), st.floats(),
        st.text(max_size=30), st.just([]), st.just({}))
    if depth <= 0:
        return leaves
    return st.one_of(leaves, st.lists(weird_value(depth - 1), max_size=3),
                     st.dictionaries(st.sampled_from(["value", "lat_deg", "id", "count", "x"]),
                                     weird_value(depth - 1), max_size=2))


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document of dicts and lists (depth first)."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for k, v in items:
        out.append((*prefix, k))
        out += paths(v, (*prefix, k))
    return out


def get(doc: Any, path: tuple[Any, ...]) -> Any:
    for k in path:
        doc = doc[k]
    return doc


OPS = ["delete", "replace", "replace", "number", "number", "string", "wrap_list", "wrap_dict",
       "multiply", "rename", "geography", "stringify", "duplicate_item"]


@st.composite
def mutated_document(draw: st.DrawFn, base: dict[str, Any], max_ops: int = 4,
                     ops: list[str] | None = None) -> dict[str, Any]:
    """``base`` with 1..max_ops structural / numeric / string / list / geography mutations."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_ops))):
        all_paths = paths(doc)
        if not all_paths:
            break
        path = all_paths[draw(st.integers(0, len(all_paths) - 1))]
        parent, key = get(doc, path[:-1]), path[-1]
        value = parent[key]
        op = draw(st.sampled_from(ops or OPS))
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(weird_value())
        elif op == "number":
            parent[key] = draw(st.one_of(
                st.sampled_from(NUMBERS),
                st.just(-value if isinstance(value, int | float) else 0),
                # an int times an int: a huge int (10**400) must not overflow the harness
                st.just(value * (10**6 if isinstance(value, int) else 1e6)
                        if isinstance(value, int | float) else 1e6),
                st.just(value + (1 if isinstance(value, int) else 0.5)
                        if isinstance(value, int | float) else 0.5)))
        elif op == "string":
            parent[key] = draw(st.one_of(st.sampled_from(STRINGS), st.sampled_from(CATALOG_NAMES),
                                         st.text(min_size=1, max_size=20)))
        elif op == "wrap_list":
            parent[key] = [value]
        elif op == "wrap_dict":
            parent[key] = {"value": value}
        elif op == "multiply" and isinstance(value, list):
            parent[key] = value * draw(st.sampled_from([0, 2, 3, 1000, 5000]))
        elif op == "rename" and isinstance(parent, dict):
            new = draw(st.sampled_from([f"{key}x", str(key).upper(), f"{key} ", "", "<<"]))
            parent[new] = parent.pop(key)
        elif op == "geography" and isinstance(parent, dict):
            if "lat_deg" in parent:
                parent["lat_deg"] = draw(st.sampled_from(LATS))
            if "lon_deg" in parent:
                parent["lon_deg"] = draw(st.sampled_from(LONS))
        elif op == "stringify":
            parent[key] = str(value)
        elif op == "duplicate_item" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(value))
    return doc


def dump_yaml(doc: Any) -> str:
    """YAML text of a document (repeated objects become anchors and aliases)."""
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


TEXT_OPS = ["truncate", "flip", "insert_bytes", "bom", "utf16", "latin1", "crlf", "tabs",
            "nul", "duplicate_line", "delete_line", "deep_nesting", "alias_bomb", "alias_merge",
            "empty", "only_comment"]


@st.composite
def mutated_yaml_bytes(draw: st.DrawFn, text: str, top_key: str = "description") -> bytes:
    """Byte- and text-level mutations of a YAML file: encodings, BOM, truncation, flipped bytes,
    NUL, tabs, duplicate keys (duplicated lines), deep nesting, alias bombs and merge keys.
    ``top_key``: a top-level key whose value the nesting / alias mutations replace."""
    op = draw(st.sampled_from(TEXT_OPS))
    data = text.encode("utf-8")
    lines = text.splitlines(keepends=True)
    if op == "truncate":
        return data[:draw(st.integers(0, len(data)))]
    if op == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(out) - 1))
            out[i] = draw(st.integers(0, 255))
        return bytes(out)
    if op == "insert_bytes":
        i = draw(st.integers(0, len(data)))
        return data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "utf16":
        return text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32"])))
    if op == "latin1":
        return text.replace("Capital", "Capitàl").replace("tiny", "tïny").encode(
            "latin-1", "replace") + "# café\n".encode("latin-1")
    if op == "crlf":
        return text.replace("\n", "\r\n").encode("utf-8")
    if op == "tabs":
        return text.replace("  ", "\t").encode("utf-8")
    if op == "nul":
        i = draw(st.integers(0, len(data)))
        return data[:i] + b"\x00" + data[i:]
    if op in ("duplicate_line", "delete_line") and lines:
        i = draw(st.integers(0, len(lines) - 1))
        if op == "duplicate_line":
            lines.insert(i, lines[i])
        else:
            del lines[i]
        return "".join(lines).encode("utf-8")
    if op == "deep_nesting":
        n = draw(st.sampled_from([50, 500, 2000, 20000, 100000]))
        kind = draw(st.sampled_from(["[", "{a: "]))
        close = "]" if kind == "[" else "}"
        return _replace_top(text, top_key, kind * n + "1" + close * n).encode("utf-8")
    if op == "alias_bomb":
        width = draw(st.integers(2, 10))
        depth = draw(st.integers(1, 9))
        items = ["&a0 [x" + ", x" * (width - 1) + "]"]
        for k in range(1, depth + 1):
            items.append(f"&a{k} [" + ", ".join([f"*a{k - 1}"] * width) + "]")
        where = draw(st.sampled_from([top_key, "raid", "assets", "name"]))
        return _replace_top(text, where, "[" + ", ".join(items) + "]").encode("utf-8")
    if op == "alias_merge":
        # A legal use of anchors: the origin reused (merged) as another position.
        return (text.replace("origin:", "origin: &origin", 1)
                + "extra_point: {<<: *origin, radius_km: 1}\n").encode("utf-8")
    if op == "empty":
        return draw(st.sampled_from([b"", b"\n", b"---\n", b"...\n", b"null\n", b"[]\n",
                                     b"{}\n", b"42\n", b"'text'\n"]))
    return ("# " + text.replace("\n", "\n# ")).encode("utf-8")


def _replace_top(text: str, key: str, value: str) -> str:
    """``text`` with the top-level ``key`` (its first line) set to the flow ``value``."""
    out, skipping = [], False
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            out.append(f"{key}: {value}")
            skipping = True
            continue
        if skipping and (line.startswith(" ") or line.startswith("-") or not line.strip()):
            continue
        skipping = False
        out.append(line)
    if not any(line.startswith(f"{key}: ") for line in out):
        out.append(f"{key}: {value}")
    return "\n".join(out) + "\n"


def json_text(doc: Any) -> str:
    """JSON text; NaN and Infinity written as Python's json writes them (as a user might)."""
    return json.dumps(doc, allow_nan=True)
