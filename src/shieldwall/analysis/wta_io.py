"""The WTA instance and solution files of ``shieldwall wta`` (docs/formats.md §8).

Instance JSON::

    {"values": [V_j], "counts": [n_i], "pk": [[p_ij for each target j] for each type i]}

Solution JSON::

    {"objective": float, "assignment": [[x_ij]], "solver": str, "optimal": bool,
     "seconds": float, "lower_bound": float | null, "gap": float | null}

(``lower_bound`` and ``gap`` are extra keys: the proven bound on the optimum and the relative
gap ``(objective - lower_bound) / objective``.) Every defect of an instance is reported as one
``InputError`` naming the file, the field (``pk[3][7]``) and what was expected.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shieldwall.c2.wta import WTASolution, solve_wta
from shieldwall.core.errors import InputError
from shieldwall.core.outputs import atomic_output_file, check_output_file
from shieldwall.core.types import FloatArray, IntArray
from shieldwall.core.vocabulary import WTA_SOLVERS

#: Largest weapon count: 2**53, beyond which a JSON number (a double) is not an exact integer.
MAX_COUNT = 2**53
#: Largest target value (sums over targets and the exact solver's rescaling stay finite).
MAX_VALUE = 1e150


@dataclass(frozen=True)
class WTAInstance:
    """A validated instance: values (J,), counts (I,) int64, pk (I, J)."""

    values: FloatArray
    counts: IntArray
    pk: FloatArray


def _number(file: str, field: str, item: Any, what: str) -> float:
    """``item`` as a finite float, or an ``InputError`` saying ``what`` was expected."""
    if isinstance(item, bool) or not isinstance(item, int | float):
        raise InputError(file, f"expected {what}, got {json.dumps(item)[:40]}", field)
    value = float(item)
    if not math.isfinite(value):
        raise InputError(file, f"expected {what}, got {item}", field)
    return value


def _list(file: str, field: str, item: Any, what: str) -> list[Any]:
    if not isinstance(item, list):
        raise InputError(file, f"expected a list of {what}, got {json.dumps(item)[:40]}", field)
    return item


def parse_instance(document: Any, file: str = "<input>") -> WTAInstance:
    """Validate a decoded instance document (see the module docstring).

    Raises ``InputError`` at the first defect: a missing key, a value that is not a list or not a
    number (NaN and infinities included), a negative value or count, a fractional count, a count
    above ``MAX_COUNT`` or a value above ``MAX_VALUE``, a probability outside [0, 1], or ``pk``
    not of shape (len(counts), len(values)). Empty lists are valid (nothing to assign).
    """
    if not isinstance(document, dict):
        raise InputError(file, "expected a JSON object with keys 'values', 'counts' and 'pk'")
    for key in ("values", "counts", "pk"):
        if key not in document:
            raise InputError(file, "missing; the instance needs 'values' (target values), "
                             "'counts' (weapons per type) and 'pk' (kill probabilities)", key)
    raw_values = _list(file, "values", document["values"], "target values (numbers >= 0)")
    values = np.empty(len(raw_values))
    for j, item in enumerate(raw_values):
        field = f"values[{j}]"
        values[j] = _number(file, field, item, "a target value (a number >= 0)")
        if values[j] < 0:
            raise InputError(file, f"expected a target value >= 0, got {item}", field)
        if values[j] > MAX_VALUE:
            raise InputError(file, f"expected a target value of at most {MAX_VALUE:g} (sums "
                             f"and the solver's scaling must stay finite), got {item}", field)
    raw_counts = _list(file, "counts", document["counts"], "weapon counts (integers >= 0)")
    counts = np.empty(len(raw_counts), np.int64)
    for i, item in enumerate(raw_counts):
        field = f"counts[{i}]"
        count = _number(file, field, item, "a weapon count (an integer >= 0)")
        if count < 0 or count != int(count):
            raise InputError(file, f"expected a weapon count (an integer >= 0), got {item}",
                             field)
        if count > MAX_COUNT:
            raise InputError(file, f"expected a weapon count of at most 2**53 = {MAX_COUNT} "
                             f"(the largest integer a JSON number holds exactly), got {item}",
                             field)
        counts[i] = int(count)
    raw_pk = _list(file, "pk", document["pk"], "rows, one per weapon type")
    if len(raw_pk) != counts.size:
        raise InputError(file, f"has {len(raw_pk)} rows but 'counts' has {counts.size} weapon "
                         "types; expected one row per weapon type", "pk")
    pk = np.empty((counts.size, values.size))
    for i, row in enumerate(raw_pk):
        row = _list(file, f"pk[{i}]", row, "kill probabilities, one per target")
        if len(row) != values.size:
            raise InputError(file, f"has {len(row)} entries but 'values' has {values.size} "
                             "targets; expected one kill probability per target", f"pk[{i}]")
        for j, item in enumerate(row):
            field = f"pk[{i}][{j}]"
            pk[i, j] = _number(file, field, item, "a kill probability (a number in [0, 1])")
            if not 0.0 <= pk[i, j] <= 1.0:
                raise InputError(file, f"expected a kill probability in [0, 1], got {item}",
                                 field)
    return WTAInstance(values, counts, pk)


def read_instance(path: str | Path) -> WTAInstance:
    """Read and validate an instance JSON file (``InputError`` on any defect)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(file, f"cannot read the file ({err.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(file, "not a UTF-8 text file; expected an instance JSON") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(file, f"not valid JSON ({err.msg}, column {err.colno})",
                         line=err.lineno) from None
    except RecursionError:
        raise InputError(file, "JSON nested too deeply; expected an object of flat lists "
                         "(values, counts) and a list of rows (pk)") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise InputError(file, "not a usable JSON number ("
                         f"{str(err).split(':')[0]}); expected numbers of at most 4300 digits"
                         ) from None
    return parse_instance(document, file)


def solution_document(solution: WTASolution) -> dict[str, Any]:
    """The solution JSON document of ``solution`` (module docstring)."""
    return {
        "objective": float(solution.objective),
        "assignment": np.asarray(solution.assignment, np.int64).tolist(),
        "solver": solution.solver,
        "optimal": bool(solution.optimal),
        "seconds": float(solution.seconds),
        "lower_bound": None if solution.lower_bound is None else float(solution.lower_bound),
        "gap": None if solution.gap is None else float(solution.gap),
    }


def write_solution(path: str | Path, solution: WTASolution) -> None:
    """Write the solution JSON atomically (``InputError`` when the file cannot be written:
    a directory, a device, the empty path, a path under a file; an existing regular file is
    replaced, missing parent directories are created)."""
    doc = solution_document(solution)
    fields = []
    for key, value in doc.items():
        if key == "assignment":  # one compact row per weapon type
            rows = ",\n    ".join(json.dumps(row, separators=(",", ":")) for row in value)
            fields.append(f'  "assignment": [\n    {rows}\n  ]' if value else
                          '  "assignment": []')
        else:
            fields.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    try:
        with atomic_output_file(path) as handle:
            handle.write("{\n" + ",\n".join(fields) + "\n}\n")
    except OSError as err:
        raise InputError(str(path), f"cannot write the file ({err.strerror})") from None


def solve_instance_file(instance_path: str | Path, solution_path: str | Path,
                        solver: str = "auto", time_limit_s: float | None = None
                        ) -> WTASolution:
    """Read an instance, solve it with ``solve_wta`` and write the solution file.

    ``InputError`` for an unreadable or invalid instance, an unknown solver, a negative time
    limit, or an unwritable solution path.
    """
    if time_limit_s is not None and not time_limit_s >= 0:
        raise InputError(str(instance_path), f"time limit must be >= 0 s, got {time_limit_s}",
                         "--time-limit")
    if solver not in WTA_SOLVERS:
        raise InputError(str(instance_path), f"unknown solver {solver!r}; expected "
                         f"{', '.join(WTA_SOLVERS[:-1])} or {WTA_SOLVERS[-1]}", "--solver")
    check_output_file(solution_path, inputs=[instance_path])  # before solving, not after
    instance = read_instance(instance_path)
    solution = solve_wta(instance.values, instance.counts, instance.pk, solver=solver,
                         time_limit_s=time_limit_s)
    write_solution(solution_path, solution)
    return solution
