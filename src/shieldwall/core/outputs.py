"""Output safety: the one place that decides whether a command may write to a path.

The rule for every writer: **never remove or move anything shieldwall did not create.**

Results directories (``run``, ``mc``, ``sweep``, ...) carry a marker file, ``MARKER``
(``.shieldwall-results.json``: ``{"kind": ..., "version": ...}``), written into every results
directory shieldwall creates. A directory output may be

- a path that does not exist yet (missing parent directories are created);
- an existing *empty* directory (it is replaced by the new one);
- a results directory of the *same kind* with ``overwrite=True`` (it carries the marker, so
  shieldwall made it; it is renamed aside and removed only once the new one is in place), or
  with ``resume=True`` for the kinds that resume (``mc``, ``sweep``).

Anything else is refused with ``InputError`` (exit 2): a file, a device, FIFO or socket, a
symbolic link (never followed into replacing its target), a non-empty directory without the
marker, a results directory of another kind, or one holding entries shieldwall does not write
(a user's notes are never deleted by ``--overwrite``). Result directories written before the
marker existed are recognised by their index file (``summary.json``, ``study.json``,
``sweep.json``) and replaced only with ``overwrite=True`` when that file names the same kind.

Single-file outputs (``track -o``, ``wta -o``, ``schema -o``) are written through a temporary
file in the same directory and ``os.replace``: an existing regular file is replaced (the usual
behaviour of such tools), a symbolic link is followed to its file (the link stays), a directory
or a device is never replaced, the empty path and a path under a file are refused, and missing
parent directories are created.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shieldwall.core.errors import InputError

MARKER = ".shieldwall-results.json"

#: index file by which results directories of older versions (without the marker) are known,
#: in the order they are tested (an mc study also holds a summary.json).
LEGACY_INDEX = (("sweep", "sweep.json"), ("mc", "study.json"), ("run", "summary.json"))

#: top-level entries each kind writes (besides the marker, which may list more under "files");
#: ``--overwrite`` refuses a results directory holding anything else, so files a user added
#: are never deleted.
KNOWN_ENTRIES: dict[str, frozenset[str]] = {
    "run": frozenset({"summary.json", "scenario.json", "run_info.json", "truth.parquet",
                      "tracks.parquet", "detections.parquet", "interceptors.parquet",
                      "events.parquet", "report.html", "run.geojson", "run.kml",
                      "run.czml"}),
    "mc": frozenset({"study.json", "scenario.json", "resolved_scenario.json", "summary.json",
                     "run_info.json", "replications.parquet", "report.html"}),
    "sweep": frozenset({"sweep.json", "sweep.parquet", "points", "report.html"}),
    "models": frozenset({"validation.json", "validation.html"}),
}

#: kinds that continue into an existing directory of their kind with ``resume=True``
RESUMABLE = frozenset({"mc", "sweep"})

NEW, EMPTY, REPLACE, RESUME = "new", "empty", "replace", "resume"


def _version() -> str:
    # importlib.metadata, not ``shieldwall.__version__``: core imports nothing above it.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("shieldwall")
    except PackageNotFoundError:
        return "unknown"


def _describe(mode: int) -> str | None:
    """What a non-directory, non-regular file is, or None for a directory / regular file."""
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return None


def _lstat(path: Path) -> os.stat_result | None:
    """``os.lstat`` or None when nothing is there; a path under a file is an ``InputError``."""
    try:
        return os.lstat(path)
    except FileNotFoundError:
        pass
    except NotADirectoryError:
        pass
    except OSError as err:
        raise InputError(str(path), f"cannot inspect the output path ({err.strerror})") \
            from None
    # Nothing there: every existing ancestor must be a directory (FILE/sub is refused).
    for parent in path.parents:
        try:
            st = os.stat(parent)
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            continue
        except OSError as err:
            raise InputError(str(path), f"cannot inspect {parent} ({err.strerror})") from None
        if not stat.S_ISDIR(st.st_mode):
            raise InputError(str(path), f"cannot create it: {parent} is a file, not a "
                                        "directory")
        break
    return None


def _absolute(path: str | os.PathLike[str], option: str) -> Path:
    if str(path) == "":
        raise InputError(option, "the output path is empty; give a file or directory name")
    # abspath, not resolve(): a symbolic link at the path itself must stay visible.
    return Path(os.path.abspath(os.fspath(path)))


#: Largest JSON file of a results directory shieldwall reads back (a marker is ~1 kB, a
#: summary or scenario document of a large raid a few MB).
MAX_RESULTS_JSON_BYTES = 256 * 2**20
#: ... and of the marker.
MAX_MARKER_BYTES = 2**20


def read_json_file(path: str | os.PathLike[str], what: str,
                   max_bytes: int = MAX_RESULTS_JSON_BYTES) -> Any:
    """The JSON document of a results file, or ``InputError`` naming it for whatever a hand
    edit (or a truncated copy) may have made of it: unreadable, larger than ``max_bytes``,
    not UTF-8, not JSON (with its line), nested too deeply, a number Python refuses (over
    4300 digits) or too large for memory."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > max_bytes:
            raise InputError(str(p), f"cannot read {what}: {size} bytes, more than the "
                                     f"{max_bytes} this file can hold when shieldwall wrote it")
        text = p.read_bytes().decode("utf-8")
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(str(p), f"cannot read {what}: not valid JSON ({err.msg}, column "
                                 f"{err.colno})", line=err.lineno) from None
    except UnicodeDecodeError as err:
        raise InputError(str(p), f"cannot read {what}: not UTF-8 text (byte "
                                 f"{err.start})") from None
    except RecursionError:
        raise InputError(str(p), f"cannot read {what}: JSON nested too deeply (shieldwall "
                                 "writes at most a few levels)") from None
    except MemoryError:
        raise InputError(str(p), f"cannot read {what}: its JSON does not fit in memory"
                         ) from None
    except ValueError as err:  # an integer of more than 4300 digits
        raise InputError(str(p), f"cannot read {what}: {str(err).split(':')[0]}") from None
    except OSError as err:
        raise InputError(str(p), f"cannot read {what} ({err.strerror or err})") from None


def read_marker(directory: Path) -> dict[str, Any] | None:
    """The marker of ``directory`` (None when it has none); unreadable is an ``InputError``."""
    path = Path(directory) / MARKER
    if not path.is_file():
        return None
    doc = read_json_file(path, "the results marker", MAX_MARKER_BYTES)
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        raise InputError(str(path), "expected a JSON object with a 'kind' string "
                                    "(the shieldwall results marker)", field="kind")
    return doc


def write_marker(directory: Path, kind: str, **extra: Any) -> Path:
    """Write the marker of a results directory shieldwall is creating (atomically)."""
    doc = {"kind": kind, "version": _version(), **extra}
    return write_text_atomic(Path(directory) / MARKER, json.dumps(doc, indent=2) + "\n")


def results_kind(directory: str | os.PathLike[str]) -> tuple[str, bool] | None:
    """``(kind, has_marker)`` of a results directory, or None when it is not one.

    The marker decides; without it, the index file of an older version (``LEGACY_INDEX``).
    """
    d = Path(directory)
    marker = read_marker(d)
    if marker is not None:
        return str(marker["kind"]), True
    for kind, index in LEGACY_INDEX:
        if (d / index).is_file():
            return kind, False
    return None


def _is_temp_leftover(name: str) -> bool:
    """A hidden temporary file of shieldwall's atomic writers (left by a killed writer)."""
    return name.startswith(".") and name.endswith((".tmp", ".part")) or ".tmp-" in name


def _command(kind: str) -> str:
    return f"`shieldwall {kind}`"


def _refuse_current_directory(p: Path, shown: str) -> None:
    """A directory that is replaced as a whole must not hold the working directory."""
    with contextlib.suppress(OSError):
        cwd = Path(os.getcwd())
        if os.path.samefile(p, cwd) or any(os.path.samefile(p, a) for a in cwd.parents):
            raise InputError(shown, "is the current working directory or contains it (an "
                                    "empty -o '' means the current directory too); a results "
                                    "directory is replaced as a whole, so give a new "
                                    "directory name, e.g. -o results")


@dataclass(frozen=True)
class DirTarget:
    """The checked output directory: ``path`` (absolute, not resolved) and what is there:
    ``NEW`` (nothing), ``EMPTY``, ``REPLACE`` (a results directory of the same kind, with
    overwrite) or ``RESUME``."""

    path: Path
    kind: str
    state: str


def check_output_dir(path: str | os.PathLike[str], kind: str, *, overwrite: bool = False,
                     resume: bool = False, option: str = "-o/--out") -> DirTarget:
    """Decide whether ``kind`` results may be written to ``path`` (see the module docstring).

    Nothing is changed on disk. Raises ``InputError`` naming the path and what was expected.
    """
    p = _absolute(path, option)
    shown = str(path)
    st = _lstat(p)
    expected = (f"expected a new path, an empty directory or a results directory of "
                f"{_command(kind)}")
    if st is None:
        return DirTarget(p, kind, NEW)
    what = _describe(st.st_mode)
    if what is not None:
        tail = (" (shieldwall does not follow it, so its target is never replaced; give the "
                "target directory itself)" if stat.S_ISLNK(st.st_mode) else "")
        raise InputError(shown, f"is {what}{tail}; {expected}")
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(shown, f"is an existing file; {expected}. shieldwall never replaces "
                                "a file with a results directory")
    try:
        entries = sorted(os.listdir(p))
    except OSError as err:
        raise InputError(shown, f"cannot list the directory ({err.strerror})") from None
    if not entries:
        _refuse_current_directory(p, shown)
        return DirTarget(p, kind, EMPTY)
    found = results_kind(p)
    if found is None:
        raise InputError(shown, f"is a directory that is not empty and not a results "
                                f"directory (no {MARKER}); {expected}. shieldwall never "
                                "removes files it did not write: choose a new or empty "
                                "directory")
    other, marked = found
    marker = read_marker(p) if marked else None
    if other != kind:
        raise InputError(shown, f"holds the results of {_command(other)}, not of "
                                f"{_command(kind)}; choose another output directory")
    if resume and kind in RESUMABLE:
        return DirTarget(p, kind, RESUME)
    again = " or --resume to continue it" if kind in RESUMABLE else ""
    if not overwrite:
        if marked:
            raise InputError(shown, f"already holds results of {_command(kind)}; pass "
                                    f"--overwrite to replace them{again}, or choose another "
                                    "output directory")
        raise InputError(shown, f"looks like results of {_command(kind)} written by an older "
                                f"shieldwall (no {MARKER}); it is replaced only with "
                                f"--overwrite{again}, or choose another output directory")
    known = set(KNOWN_ENTRIES.get(kind, frozenset()))
    if marker is not None and isinstance(marker.get("files"), list):
        known.update(str(name) for name in marker["files"])
    foreign = [e for e in entries if e != MARKER and e not in known
               and not _is_temp_leftover(e)]
    if foreign:
        listed = ", ".join(foreign[:8]) + (", ..." if len(foreign) > 8 else "")
        raise InputError(shown, f"holds results of {_command(kind)} but also entries "
                                f"shieldwall does not write ({listed}); --overwrite never "
                                "deletes them: move them away or choose another output "
                                "directory")
    _refuse_current_directory(p, shown)
    return DirTarget(p, kind, REPLACE)


def _make_parent(target: Path, shown: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(shown, f"cannot create the parent directory {target.parent} "
                                f"({err.strerror})") from None


def _aside(path: Path, label: str) -> Path:
    """A new empty hidden sibling directory of ``path`` (mode from the umask, like mkdir)."""
    for _ in range(100):
        candidate = path.parent / f".{path.name}.{label}-{os.getpid()}-{os.urandom(4).hex()}"
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        except OSError as err:
            raise InputError(str(path), f"cannot create a directory beside it "
                                        f"({err.strerror})") from None
        return candidate
    raise InputError(str(path), "cannot create a temporary directory beside it")


def install_directory(target: DirTarget, build: Callable[[Path], Any],
                      shown: str | None = None) -> Path:
    """Build a results directory in a hidden temporary sibling and move it into place.

    ``build(tmpdir)`` writes every file (the marker is added here). On any exception the
    temporary directory is removed and ``target.path`` is untouched. A previous directory of
    the same kind (``REPLACE``) is renamed aside, replaced, and only then removed.
    """
    dest = target.path
    shown = shown or str(dest)
    _make_parent(dest, shown)
    tmp = _aside(dest, "partial")
    try:
        build(tmp)
        # The marker lists what was written, so a later --overwrite knows these are ours.
        write_marker(tmp, target.kind, files=sorted(os.listdir(tmp)))
        # Re-check right before the move: the path may have changed while we worked.
        now = check_output_dir(dest, target.kind, overwrite=target.state == REPLACE,
                               option=shown)
        if now.state == REPLACE:
            old = _aside(dest, "old")
            os.replace(dest, old)  # old is an empty directory: replaced by dest
            try:
                os.rename(tmp, dest)
            except BaseException:
                os.rename(old, dest)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:  # NEW, or EMPTY (rename replaces an empty directory)
            try:
                os.rename(tmp, dest)
            except OSError as err:
                raise InputError(shown, f"cannot move the results into place "
                                        f"({err.strerror})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def prepare_directory_in_place(target: DirTarget) -> Path:
    """Make ``target.path`` ready for a writer that fills it in place (Monte Carlo, sweep).

    ``NEW``/``EMPTY``: create it with its marker. ``RESUME``: add the marker to an older
    study that lacks it. ``REPLACE``: rename the old directory aside, create the new one with
    its marker, then remove the old one.
    """
    dest = target.path
    shown = str(dest)
    _make_parent(dest, shown)
    if target.state == REPLACE:
        old = _aside(dest, "old")
        os.replace(dest, old)
        try:
            dest.mkdir()
            write_marker(dest, target.kind)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            os.rename(old, dest)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return dest
    try:
        dest.mkdir(exist_ok=True)
    except OSError as err:
        raise InputError(shown, f"cannot create the directory ({err.strerror})") from None
    if read_marker(dest) is None:
        write_marker(dest, target.kind)
    return dest


# --------------------------------------------------------------------- single-file outputs
def check_output_file(path: str | os.PathLike[str], *, option: str = "-o/--out",
                      inputs: Iterable[str | os.PathLike[str] | None] = ()) -> Path:
    """The file a single-file output will replace: ``path`` itself, or the file a symbolic
    link at ``path`` points to. Refuses the empty path, a directory, a device/FIFO/socket,
    a path under a file, and an input of the same command. Nothing is changed on disk."""
    p = _absolute(path, option)
    shown = str(path)
    if os.path.islink(p):
        p = Path(os.path.realpath(p))
    st = _lstat(p)
    expected = "expected a file name (an existing regular file is replaced)"
    if st is None:
        return p
    what = _describe(st.st_mode)
    if what is not None:
        raise InputError(shown, f"is {what}; {expected}; shieldwall never replaces a device")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(shown, f"is a directory; {expected}, e.g. {Path(shown) / 'out'}")
    for other in inputs:
        if other is None:
            continue
        with contextlib.suppress(OSError):
            if os.path.samefile(p, other):
                raise InputError(shown, f"is also an input of this command ({other}); "
                                        "write the output to another file")
    return p


@contextlib.contextmanager
def atomic_output_file(path: str | os.PathLike[str], *, mode: str = "w",
                       option: str = "-o/--out") -> Iterator[Any]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    ``path`` is checked with ``check_output_file`` first. On any exception the temporary file
    is removed and ``path`` is untouched.
    """
    dest = check_output_file(path, option=option)
    shown = str(path)
    _make_parent(dest, shown)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    except OSError as err:
        raise InputError(shown, f"cannot write the file ({err.strerror})") from None
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same directory and
    ``os.replace`` (``path`` is the old file or the whole new one, never a partial one)."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return p
