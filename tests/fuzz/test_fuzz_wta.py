"""Fuzz: mutated WTA instance JSON through ``shieldwall wta`` with a small ``--time-limit``.

Invariant (tests/fuzz/fuzzkit.py): exit 2 with one paragraph naming the instance file, or exit 0
with a whole solution at -o: the keys of ``analysis/wta_io.py``'s docstring, an assignment of
non-negative integers of shape (types, targets) within each type's count, an objective equal to
``sum_j V_j prod_i (1 - p_ij) ** x_ij`` recomputed here, and for exact/auto the time limit held
(plus ``TIME_SLACK_S``; greedy and heuristic take no limit). Exit 2 leaves no solution file.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from fuzzkit import Findings, fuzz_settings, invoke
from hypothesis import given
from hypothesis import strategies as st
from mutants import json_text, mutated_document, weird_value

TIME_LIMIT_S = 0.3
WTA_BOUND_S = 20.0
TIME_SLACK_S = 5.0  # reading, writing and a loaded 2-core machine
SOLUTION_KEYS = {"objective", "assignment", "solver", "optimal", "seconds", "lower_bound", "gap"}
_counter = itertools.count()


@st.composite
def instance(draw: st.DrawFn) -> dict[str, Any]:
    """A valid instance: 1-4 weapon types, 1-6 targets."""
    n_types, n_targets = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    return {
        "values": draw(st.lists(st.integers(0, 100) | st.floats(0, 1e3), min_size=n_targets,
                                max_size=n_targets)),
        "counts": draw(st.lists(st.integers(0, 6), min_size=n_types, max_size=n_types)),
        "pk": [draw(st.lists(st.floats(0, 1), min_size=n_targets, max_size=n_targets))
               for _ in range(n_types)],
    }


WTA_NUMBERS = [0, -1, 1.5, 1e20, 10**20, 2**63, 1e308, math.nan, math.inf, -math.inf, 1.0000001,
               -0.0, 1e6, 10**7, True, None, "1", 1e-320]


@st.composite
def mutated_instance_bytes(draw: st.DrawFn) -> bytes:
    """Shapes, counts (0, huge, float, negative), pk outside [0, 1], NaN, nesting, types,
    extra keys, encodings."""
    doc: Any = draw(instance())
    op = draw(st.sampled_from(["document", "document", "number", "number", "shape", "nest",
                               "top", "extra_key", "bytes", "big"]))
    if op == "document":
        doc = draw(mutated_document(doc, max_ops=3))
    elif op == "number":
        key = draw(st.sampled_from(["values", "counts", "pk"]))
        target = doc[key] if key != "pk" else draw(st.sampled_from(doc["pk"]))
        if target:
            target[draw(st.integers(0, len(target) - 1))] = draw(
                st.sampled_from(WTA_NUMBERS) | weird_value(1))
    elif op == "shape":
        shape_op = draw(st.sampled_from(["drop_row", "add_row", "short_row", "transpose",
                                         "empty_all", "empty_values", "flat_pk"]))
        if shape_op == "drop_row":
            doc["pk"] = doc["pk"][1:]
        elif shape_op == "add_row":
            doc["pk"].append(copy.deepcopy(doc["pk"][0]))
        elif shape_op == "short_row":
            doc["pk"][0] = doc["pk"][0][:-1]
        elif shape_op == "transpose":
            doc["pk"] = [list(col) for col in zip(*doc["pk"], strict=True)]
        elif shape_op == "empty_all":
            doc = {"values": [], "counts": [], "pk": []}
        elif shape_op == "empty_values":
            doc = {"values": [], "counts": doc["counts"], "pk": [[] for _ in doc["counts"]]}
        else:
            doc["pk"] = [p for row in doc["pk"] for p in row]
    elif op == "nest":
        depth = draw(st.sampled_from([3, 100, 1000, 10_000, 100_000]))
        key = draw(st.sampled_from(["values", "counts", "pk"]))
        return (json.dumps({k: v for k, v in doc.items() if k != key})[:-1]
                + f', "{key}": ' + "[" * depth + "]" * depth + "}").encode()
    elif op == "top":
        return draw(st.sampled_from([b"", b"null", b"[]", b"42", b'"x"', b"{}", b"[{}]",
                                     b'{"values": [1], "counts": [1]}', b"{,}"]))
    elif op == "extra_key":
        doc[draw(st.sampled_from(["solver", "VALUES", "", "pk "]))] = 1
    elif op == "big":  # many weapons or targets: the time limit must still hold
        n_types = draw(st.integers(1, 3))
        n_targets = draw(st.sampled_from([50, 200, 1000]))
        doc = {"values": [float(1 + j % 7) for j in range(n_targets)],
               "counts": [draw(st.sampled_from([10, 1000, 10**6, 10**9]))] * n_types,
               "pk": [[0.3 + 0.1 * ((i + j) % 6) for j in range(n_targets)]
                      for i in range(n_types)]}
    text = json_text(doc)
    if op == "bytes":
        enc = draw(st.sampled_from(["utf-8-sig", "utf-16", "latin-1", "flip", "truncate"]))
        data = text.encode("latin-1", "replace") + b"\xe9" if enc == "latin-1" else \
            text.encode("utf-8") if enc in ("flip", "truncate") else text.encode(enc)
        if enc == "flip":
            data = bytearray(data)
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
            data = bytes(data)
        elif enc == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        return data
    return text.encode("utf-8")


def _solution_problems(code: int | None, out: Path, inst: Path) -> list[tuple[str, str]]:
    if code != 0:
        return [("solution written without exit 0", str(out))] if out.exists() else []
    if not out.is_file():
        return [("exit 0 without the solution file", str(out))]
    try:
        sol = json.loads(out.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        return [("solution file is not JSON", str(err))]
    if not isinstance(sol, dict) or set(sol) != SOLUTION_KEYS:
        return [("solution keys differ from the documented ones",
                 str(sorted(sol) if isinstance(sol, dict) else type(sol)))]
    try:
        doc = json.loads(inst.read_bytes().decode("utf-8-sig"))
    except (ValueError, RecursionError):
        return []  # accepted what Python's json cannot read: nothing to recompute against
    try:
        return _check_assignment(doc, sol)
    except Exception as err:  # the instance holds what the recomputation cannot use
        return [("exit 0 on an instance whose objective cannot be recomputed",
                 f"{type(err).__name__}: {err}")]


def _check_assignment(doc: dict[str, Any], sol: dict[str, Any]) -> list[tuple[str, str]]:
    values, counts, pk = doc["values"], doc["counts"], doc["pk"]
    x = sol["assignment"]
    if len(x) != len(counts) or any(len(row) != len(values) for row in x):
        return [("assignment shape is not (types, targets)",
                 f"{len(x)} rows for {len(counts)} types")]
    for i, row in enumerate(x):
        if any(not isinstance(v, int) or v < 0 for v in row) or sum(row) > counts[i]:
            return [("assignment row not within its type's count", f"row {i}: {row[:20]}")]
    surviving = sum(v * math.prod((1.0 - pk[i][j]) ** x[i][j] for i in range(len(counts)))
                    for j, v in enumerate(values))
    obj = sol["objective"]
    if not isinstance(obj, int | float) or not math.isfinite(obj) or \
            abs(obj - surviving) > 1e-6 * max(1.0, abs(surviving)):
        return [("objective differs from the assignment's surviving value",
                 f"{obj} vs {surviving}")]
    return []


@pytest.mark.slow
def test_wta_mutated_instances(tmp_path: Path) -> None:
    findings = Findings("wta")

    def one(data: bytes, solver: str) -> None:
        case_dir = tmp_path / f"case-{next(_counter)}"
        case_dir.mkdir()
        inst = case_dir / "instance.json"
        inst.write_bytes(data)
        out = case_dir / "solution.json"
        outcome = invoke(["wta", inst, "-o", out, "--solver", solver, "--time-limit",
                          str(TIME_LIMIT_S)], WTA_BOUND_S)
        more = _solution_problems(outcome.exit_code, out, inst)
        if outcome.exit_code == 0 and solver in ("exact", "auto") and \
                outcome.seconds > TIME_LIMIT_S + TIME_SLACK_S:  # the others take no limit
            more.append((f"--time-limit {TIME_LIMIT_S} s not held",
                         f"took {outcome.seconds:.1f} s"))
        findings.check(outcome, [inst], data, ".json", more, solver=solver)
        for p in case_dir.iterdir():
            p.unlink()
        case_dir.rmdir()

    # Each solver once on a good instance: the harness passes it, and the compiled kernels
    # are built before the time limit is checked (a fresh `shieldwall wta` process pays the
    # compilation inside its --time-limit: benchmarks/RESULTS.md "Fuzz campaign").
    findings.t0 = time.perf_counter()
    for solver in ("greedy", "heuristic", "exact", "auto"):
        inst = b'{"values": [10, 5, 7], "counts": [2, 1], "pk": [[0.5, 0.2, 0.3], [0.9, 0.1, 0]]}'
        for _ in range(2):
            one(inst, solver)
    for signature in [k for k in findings.items if "--time-limit" in k]:
        del findings.items[signature]  # the first calls compile
    assert not findings.items, findings.report()
    assert findings.outcomes == {"exit 0": 8}, findings.report()

    @fuzz_settings("wta")
    @given(data=st.one_of(instance().map(lambda d: json_text(d).encode()),
                          mutated_instance_bytes()),
           solver=st.sampled_from(["auto", "greedy", "heuristic", "exact"]))
    def case(data: bytes, solver: str) -> None:
        one(data, solver)

    with findings.saved():
        case()
    findings.assert_none()
