"""Output safety: no command removes or moves anything shieldwall did not create.

Every writer (run, mc, sweep, report, track, wta, schema) goes through
``shieldwall.core.outputs``: a file, a device, a symbolic link, a foreign non-empty directory
or a results directory of another kind is refused with exit 2 and a message naming the path;
a previous results directory of the same kind is replaced only with ``--overwrite``; an
interrupted write leaves neither a partial directory nor a lost old one.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shieldwall.analysis.results import write_run_directory
from shieldwall.cli import app
from shieldwall.core.errors import InputError
from shieldwall.core.outputs import (
    MARKER,
    check_output_dir,
    install_directory,
)
from test_cli_track import write_scene
from tiny_scenario import tiny_document

runner = CliRunner()


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (not following links): relative path -> kind and content
    hash, so a test can assert that nothing changed."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st_ = os.lstat(p)
            if stat.S_ISLNK(st_.st_mode):
                out[str(p.relative_to(root))] = "link:" + os.readlink(p)
            elif stat.S_ISDIR(st_.st_mode):
                out[str(p.relative_to(root))] = "dir"
            else:
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def invoke(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, [str(a) for a in args])
    text = res.output + (res.stderr if res.stderr_bytes is not None else "")
    assert "Traceback" not in text, text
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, text


@pytest.fixture(scope="module")
def tiny_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_document()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mc_study(tmp_path_factory: pytest.TempPathFactory, tiny_yaml: Path) -> Path:
    """A real two-replication Monte Carlo study written by ``shieldwall mc``."""
    out = tmp_path_factory.mktemp("mc") / "study"
    code, text = invoke("mc", tiny_yaml, "-n", "2", "-o", out, "--workers", "1", "--seed", "4")
    assert code == 0, text
    return out


def run_cli(scenario: Path, out: Path | str, *extra: str) -> tuple[int, str]:
    return invoke("run", scenario, "-o", out, *extra)


def no_hidden_siblings(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------------- run -o
def test_reproduction_source_tree_and_scenario_survive(tiny_yaml: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "p"
    (p / "src").mkdir(parents=True)
    (p / "src" / "main.c").write_text("code\n")
    scenario = p / "capital_region.yaml"
    scenario.write_bytes(tiny_yaml.read_bytes())
    before = tree(tmp_path)
    monkeypatch.chdir(p)
    code, text = run_cli(Path("capital_region.yaml"), "../p")
    assert code == 2
    assert "../p" in text and "not empty" in text and MARKER in text
    assert tree(tmp_path) == before
    assert (p / "src" / "main.c").read_text() == "code\n"


@pytest.mark.parametrize("make", ["dev_null", "fifo"])
def test_device_or_fifo_is_never_replaced(tiny_yaml: Path, tmp_path: Path, make: str) -> None:
    if make == "dev_null":
        target = Path("/dev/null")
    else:
        target = tmp_path / "pipe"
        os.mkfifo(target)
    code, text = run_cli(tiny_yaml, target)
    assert code == 2 and str(target) in text
    assert ("character device" if make == "dev_null" else "FIFO") in text
    mode = os.lstat(target).st_mode
    assert stat.S_ISCHR(mode) if make == "dev_null" else stat.S_ISFIFO(mode)
    # The single-file writers refuse devices too (never replace /dev/null by a CSV).
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps({"values": [1.0], "counts": [1], "pk": [[0.5]]}))
    code, text = invoke("wta", instance, "-o", target, "--solver", "greedy")
    assert code == 2 and str(target) in text
    code, text = invoke("schema", "-o", target)
    assert code == 2 and str(target) in text
    mode = os.lstat(target).st_mode
    assert stat.S_ISCHR(mode) if make == "dev_null" else stat.S_ISFIFO(mode)
    if make == "fifo":
        assert no_hidden_siblings(tmp_path)


def test_existing_file_and_foreign_directory_are_refused(tiny_yaml: Path,
                                                         tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine\n")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "a.jpg").write_bytes(b"\xff\xd8")
    before = tree(tmp_path)
    code, text = run_cli(tiny_yaml, a_file)
    assert code == 2 and str(a_file) in text and "existing file" in text
    for extra in ((), ("--overwrite",)):
        code, text = run_cli(tiny_yaml, foreign, *extra)
        assert code == 2 and str(foreign) in text and "not empty" in text
    assert tree(tmp_path) == before


def test_run_into_a_study_of_another_kind_is_refused(tiny_yaml: Path, mc_study: Path) -> None:
    before = tree(mc_study)
    for extra in ((), ("--overwrite",)):
        code, text = run_cli(tiny_yaml, mc_study, *extra)
        assert code == 2 and "`shieldwall mc`" in text and "`shieldwall run`" in text
    assert tree(mc_study) == before


def test_same_kind_needs_overwrite_then_is_replaced_whole(tiny_yaml: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run_cli(tiny_yaml, out, "--seed", "1")[0] == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["kind"] == "run" and marker["version"]
    assert marker["files"] == sorted(p.name for p in out.iterdir() if p.name != MARKER)
    first = tree(out)
    code, text = run_cli(tiny_yaml, out, "--seed", "2")
    assert code == 2 and "--overwrite" in text and str(out) in text
    assert tree(out) == first
    code, text = run_cli(tiny_yaml, out, "--seed", "2", "--overwrite")
    assert code == 0, text
    assert json.loads((out / "summary.json").read_text())["seed"] == 2
    assert (out / "report.html").is_file() and (out / MARKER).is_file()
    assert no_hidden_siblings(tmp_path)
    # A file the user added to a results directory is never deleted by --overwrite.
    (out / "my-notes.md").write_text("keep me\n")
    kept = tree(out)
    code, text = run_cli(tiny_yaml, out, "--overwrite")
    assert code == 2 and "my-notes.md" in text
    assert tree(out) == kept


def test_results_of_an_older_version_without_marker(tiny_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "old"
    assert run_cli(tiny_yaml, out, "--seed", "1")[0] == 0
    (out / MARKER).unlink()  # as written before the marker existed
    before = tree(out)
    code, text = run_cli(tiny_yaml, out, "--seed", "3")
    assert code == 2 and "older" in text and "--overwrite" in text
    assert tree(out) == before
    code, text = run_cli(tiny_yaml, out, "--seed", "3", "--overwrite")
    assert code == 0, text
    assert json.loads((out / "summary.json").read_text())["seed"] == 3
    assert json.loads((out / MARKER).read_text())["kind"] == "run"
    # An old-style mc study (study.json, no marker) is not a run directory.
    legacy = tmp_path / "legacy-mc"
    legacy.mkdir()
    (legacy / "study.json").write_text("{}")
    (legacy / "summary.json").write_text("{}")
    code, text = run_cli(tiny_yaml, legacy, "--overwrite")
    assert code == 2 and "`shieldwall mc`" in text
    assert sorted(p.name for p in legacy.iterdir()) == ["study.json", "summary.json"]


def test_symlink_is_not_followed(tiny_yaml: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    assert run_cli(tiny_yaml, real)[0] == 0
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    link_empty = tmp_path / "link-empty"
    link_empty.symlink_to(empty, target_is_directory=True)
    before = tree(tmp_path)
    for target in (link, link_empty):
        code, text = run_cli(tiny_yaml, target, "--overwrite")
        assert code == 2 and "symbolic link" in text and str(target) in text
    assert tree(tmp_path) == before


def test_empty_path_and_path_under_a_file(tiny_yaml: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    code, text = run_cli(tiny_yaml, "")
    assert code == 2 and "current working directory" in text
    assert cwd.is_dir() and not list(cwd.iterdir())
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    sub = a_file / "sub"
    code, text = run_cli(tiny_yaml, sub)
    assert code == 2 and f"{a_file} is a file, not a directory" in text
    code, text = invoke("mc", tiny_yaml, "-n", "1", "-o", sub, "--workers", "1")
    assert code == 2 and f"{a_file} is a file, not a directory" in text
    code, text = invoke("sweep", tiny_yaml, "--set", "doctrine.policy=shoot_shoot", "-n", "1",
                        "-o", sub, "--workers", "1")
    assert code == 2 and f"{a_file} is a file, not a directory" in text
    assert a_file.read_text() == "x"


def test_empty_directory_is_used(tiny_yaml: Path, tmp_path: Path) -> None:
    out = tmp_path / "e"
    out.mkdir()
    code, text = run_cli(tiny_yaml, out)
    assert code == 0, text
    assert (out / "summary.json").is_file() and (out / MARKER).is_file()
    assert no_hidden_siblings(tmp_path)


# ------------------------------------------------------------------------------ mc / sweep
def test_mc_refuses_a_file_and_replaces_only_its_own_study(tiny_yaml: Path, mc_study: Path,
                                                           tmp_path: Path) -> None:
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    code, text = invoke("mc", tiny_yaml, "-n", "1", "-o", a_file, "--workers", "1")
    assert code == 2 and str(a_file) in text and "existing file" in text
    assert a_file.read_text() == "x"
    run_dir = tmp_path / "run"
    assert run_cli(tiny_yaml, run_dir)[0] == 0
    before = tree(run_dir)
    code, text = invoke("mc", tiny_yaml, "-n", "1", "-o", run_dir, "--workers", "1",
                        "--overwrite")
    assert code == 2 and "`shieldwall run`" in text
    assert tree(run_dir) == before
    # Without --overwrite the study stays; the message offers --overwrite and --resume.
    study_before = tree(mc_study)
    code, text = invoke("mc", tiny_yaml, "-n", "1", "-o", mc_study, "--workers", "1")
    assert code == 2 and "--overwrite" in text and "--resume" in text
    assert tree(mc_study) == study_before
    # A copy of the study is replaced by a new one with --overwrite.
    copy = tmp_path / "copy"
    copy.mkdir()
    for rel, kind in sorted(study_before.items()):
        src, dst = mc_study / rel, copy / rel
        if kind == "dir":
            dst.mkdir()
        else:
            dst.write_bytes(src.read_bytes())
    code, text = invoke("mc", tiny_yaml, "-n", "1", "-o", copy, "--workers", "1", "--seed", "9",
                        "--overwrite")
    assert code == 0, text
    study = json.loads((copy / "study.json").read_text())
    assert study["seed"] == 9 and study["n_requested"] == 1
    summary = json.loads((copy / "summary.json").read_text())
    assert summary["replications"] == 1
    assert json.loads((copy / MARKER).read_text())["kind"] == "mc"
    assert no_hidden_siblings(tmp_path)


def test_sweep_refuses_other_kinds_and_overwrites_its_own(tiny_yaml: Path, mc_study: Path,
                                                          tmp_path: Path) -> None:
    args = ["sweep", tiny_yaml, "--set", "doctrine.policy=shoot_shoot", "-n", "1",
            "--workers", "1"]
    before = tree(mc_study)
    code, text = invoke(*args, "-o", mc_study, "--overwrite")
    assert code == 2 and "`shieldwall mc`" in text and "`shieldwall sweep`" in text
    assert tree(mc_study) == before
    out = tmp_path / "sweep"
    assert invoke(*args, "-o", out, "--seed", "1")[0] == 0
    assert json.loads((out / MARKER).read_text())["kind"] == "sweep"
    code, text = invoke(*args, "-o", out, "--seed", "2")
    assert code == 2 and "--overwrite" in text
    code, text = invoke(*args, "-o", out, "--seed", "2", "--overwrite")
    assert code == 0, text
    assert json.loads((out / "sweep.json").read_text())["seed"] == 2
    assert no_hidden_siblings(tmp_path)


# ------------------------------------------------------------------------ single-file outputs
def test_track_output_file_rules(tmp_path: Path) -> None:
    dets = tmp_path / "dets.csv"
    write_scene(dets, n_targets=2, scans=8)
    a_dir = tmp_path / "outdir"
    a_dir.mkdir()
    (a_dir / "keep.txt").write_text("k")
    code, text = invoke("track", dets, "-o", a_dir)
    assert code == 2 and str(a_dir) in text and "is a directory" in text
    assert tree(a_dir) == {"keep.txt": hashlib.sha256(b"k").hexdigest()}
    sub = dets / "sub.csv"
    code, text = invoke("track", dets, "-o", sub)
    assert code == 2 and f"{dets} is a file, not a directory" in text
    code, text = invoke("track", dets, "-o", dets)
    assert code == 2 and "input" in text
    # An existing regular file is replaced (documented in --help); a missing parent is made.
    out = tmp_path / "new" / "tracks.csv"
    out.parent.mkdir()
    out.write_text("old\n")
    code, text = invoke("track", dets, "-o", out)
    assert code == 0, text
    assert out.read_text().startswith("time_s,track_id")
    nested = tmp_path / "a" / "b" / "tracks.csv"
    assert invoke("track", dets, "-o", nested)[0] == 0
    assert nested.read_text() == out.read_text()
    # A symbolic link to a file is written through: the link stays, its file is replaced.
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert invoke("track", dets, "-o", link)[0] == 0
    assert link.is_symlink() and target.read_text() == out.read_text()
    assert not [p for p in tmp_path.rglob(".*")]


def test_wta_and_schema_refuse_a_directory(tmp_path: Path) -> None:
    instance = tmp_path / "instance.json"
    instance.write_text(json.dumps({"values": [1.0], "counts": [1], "pk": [[0.5]]}))
    a_dir = tmp_path / "d"
    a_dir.mkdir()
    for args in (("wta", instance, "-o", a_dir), ("schema", "-o", a_dir)):
        code, text = invoke(*args)
        assert code == 2 and str(a_dir) in text and "is a directory" in text
    assert not list(a_dir.iterdir())
    code, _ = invoke("wta", instance, "-o", instance)
    assert code == 2 and json.loads(instance.read_text())["values"] == [1.0]
    schema = tmp_path / "schema.json"
    schema.write_text("old")
    assert invoke("schema", "-o", schema)[0] == 0
    assert json.loads(schema.read_text())["type"] == "object"


# ------------------------------------------------------------------------------- report
def test_report_with_a_missing_table_exits_2_and_writes_nothing(tiny_yaml: Path,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert run_cli(tiny_yaml, out)[0] == 0
    (out / "events.parquet").unlink()
    before = tree(out)
    code, text = invoke("report", out)
    assert code == 2 and str(out / "events.parquet") in text and "missing" in text
    assert tree(out) == before


# ------------------------------------------------------------------- interrupted writes
def _tables() -> dict[str, dict[str, list[int]]]:
    return {name: {"x": [1, 2]} for name in
            ("truth", "tracks", "detections", "interceptors", "events")}


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_interrupted_finalize_leaves_no_partial_and_keeps_the_old(tmp_path: Path,
                                                                  error: type) -> None:
    def boom(tmp: Path) -> None:
        (tmp / "report.html").write_text("half")
        raise error("disk on fire")

    fresh = tmp_path / "fresh"
    with pytest.raises(error):
        write_run_directory(fresh, {"seed": 1}, {}, _tables(), finalize=boom)
    assert not fresh.exists() and not list(tmp_path.iterdir())

    old = tmp_path / "old"
    write_run_directory(old, {"seed": 1}, {}, _tables())
    before = tree(old)
    with pytest.raises(error):
        write_run_directory(old, {"seed": 2}, {}, _tables(), finalize=boom, overwrite=True)
    assert tree(old) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]
    # Without the failure, the same call replaces it.
    write_run_directory(old, {"seed": 2}, {}, _tables(), overwrite=True)
    assert json.loads((old / "summary.json").read_text()) == {"seed": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


# ------------------------------------------------------------------------------ invariant
NAMES = st.text(alphabet="abcdefghij._-", min_size=1, max_size=8).filter(
    lambda s: s not in (".", ".."))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.sets(NAMES, min_size=1, max_size=5), overwrite=st.booleans(),
       kind=st.sampled_from(["run", "mc", "sweep"]))
def test_a_directory_without_marker_or_index_is_never_touched(
        tmp_path_factory: pytest.TempPathFactory, names: set[str], overwrite: bool,
        kind: str) -> None:
    root = tmp_path_factory.mktemp("inv")
    target = root / "out"
    target.mkdir()
    legacy = {"summary.json", "study.json", "sweep.json", MARKER}
    for name in names:
        if name not in legacy:
            (target / name).write_text(name)
    if not any(target.iterdir()):
        (target / "x").write_text("x")
    before = tree(root)
    with pytest.raises(InputError) as err:
        check_output_dir(target, kind, overwrite=overwrite, resume=True)
    assert str(target) in str(err.value)
    assert tree(root) == before
    # The same directory appearing while the results are being built (checked as new) is
    # refused at the move, and the temporary directory is removed.
    late = root / "late"
    plan = check_output_dir(late, kind, overwrite=overwrite)

    def someone_else_writes(tmp: Path) -> None:
        (tmp / "summary.json").write_text("{}")
        late.mkdir()
        for name in os.listdir(target):
            (late / name).write_bytes((target / name).read_bytes())

    with pytest.raises(InputError):
        install_directory(plan, someone_else_writes)
    assert tree(late) == tree(target)
    assert sorted(p.name for p in root.iterdir()) == ["late", "out"]
