"""The results directory of ``shieldwall run`` (docs/formats.md §4), written atomically.

Everything is first written into a hidden sibling directory; only when every file is complete
is it renamed into place, so a crash or Ctrl-C never leaves a partial directory that looks whole.
What may be replaced is decided by ``shieldwall.core.outputs`` (never anything shieldwall did
not create).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shieldwall.core.jsonutil import json_default
from shieldwall.core.outputs import check_output_dir, install_directory

TABLE_FILES = ("truth", "tracks", "detections", "interceptors", "events")


def _table(columns: Mapping[str, Any]) -> pa.Table:
    arrays = {}
    for name, col in columns.items():
        if isinstance(col, np.ndarray):
            arrays[name] = pa.array(col)
        else:
            arrays[name] = pa.array(list(col))
    return pa.table(arrays)


def write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False, default=json_default) + "\n",
                    encoding="utf-8")


def write_run_directory(
    outdir: Path,
    summary: Mapping[str, Any],
    scenario_doc: Mapping[str, Any],
    tables: Mapping[str, Mapping[str, Any]],
    run_info: Mapping[str, Any] | None = None,
    finalize: Callable[[Path], Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the results directory atomically and return its path.

    ``tables`` maps each of ``TABLE_FILES`` to its columns; ``finalize(tmpdir)`` runs after the
    data files are written and before the directory is moved into place (the report writer).
    ``run_info`` (wall time, host) is kept apart from ``summary.json`` so that the summary is
    bit-identical for the same seed.

    ``outdir`` must be new, an empty directory, or (with ``overwrite=True``) the results
    directory of an earlier run; anything else raises ``InputError`` and nothing is touched
    (``shieldwall.core.outputs``). The directory gets the results marker.
    """
    target = check_output_dir(outdir, "run", overwrite=overwrite)

    def build(tmp: Path) -> None:
        for name in TABLE_FILES:
            pq.write_table(_table(tables[name]), tmp / f"{name}.parquet")
        write_json(tmp / "scenario.json", scenario_doc)
        if run_info is not None:
            write_json(tmp / "run_info.json", run_info)
        write_json(tmp / "summary.json", summary)
        if finalize is not None:
            finalize(tmp)

    install_directory(target, build, shown=str(outdir))
    return Path(outdir)


def read_table(outdir: Path, name: str) -> pa.Table:
    """Read one of the parquet tables of a results directory."""
    return pq.read_table(Path(outdir) / f"{name}.parquet")
