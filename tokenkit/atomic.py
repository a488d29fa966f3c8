"""Atomic, recoverable writes of whole directories and single files.

One helper for both packages: a vocabulary, a checkpoint, an export and a plot are all written
to a hidden sibling first and renamed into place only when complete, so a reader never sees a
half-written output.

Replacing an existing directory takes three renames, and a kill can land between any two:

1. ``.NAME.tmp-PID-*``  (being written)  ->  ``.NAME.new-PID-*``  (complete)
2. ``NAME``                               ->  ``.NAME.old-PID-*``  (the previous copy)
3. ``.NAME.new-PID-*``                    ->  ``NAME``

:func:`recover` (run before every write and by loaders before every read) looks at what a
*dead* process left behind and finishes its work: the newest complete ``new`` copy becomes
``NAME``; without one, a lone ``old`` copy is put back when ``NAME`` is missing; unfinished
``tmp`` directories and superseded copies are removed. Leftovers of live processes (another
writer right now) are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tokenkit.errors import TokenkitError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|new|old)-(?P<pid>\d+)-[^/]*$")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def leftovers(target: Path, *, assume_dead: bool = False) -> dict[str, list[Path]]:
    """Hidden siblings of ``target`` that dead processes left, by kind (newest first).

    ``assume_dead``: the caller holds a lock that every writer of ``target`` takes, so no
    leftover can belong to a live writer, whatever process id it names (ids mean nothing in
    another PID namespace or on another host sharing the directory).
    """
    found: dict[str, list[Path]] = {"tmp": [], "new": [], "old": []}
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        return found
    prefix = f".{target.name}."
    for entry in parent.iterdir():
        if not entry.name.startswith(prefix):
            continue
        m = _LEFTOVER.match(entry.name)
        if not m or m["name"] != target.name or (not assume_dead and _pid_alive(int(m["pid"]))):
            continue
        found[m["kind"]].append(entry)
    for paths in found.values():
        paths.sort(key=lambda p: p.lstat().st_mtime_ns, reverse=True)
    return found


def recover(target: str | os.PathLike[str], *, assume_dead: bool = False) -> bool:
    """Finish a swap a killed writer left half-done and clear its leftovers.

    Returns True when ``target`` was restored or replaced from a leftover copy. Only a writer
    should call this (readers use :func:`readable`); ``assume_dead`` as in :func:`leftovers`.
    """
    target = Path(target)
    found = leftovers(target, assume_dead=assume_dead)
    restored = False
    for tmp in found["tmp"]:
        _remove(tmp)
    if found["new"]:
        newest, *stale = found["new"]
        if target.exists() or target.is_symlink():
            aside = target.with_name(f".{target.name}.old-{os.getpid()}-recover")
            os.replace(target, aside)
            found["old"].append(aside)
        os.replace(newest, target)
        restored = True
        for path in stale:
            _remove(path)
    elif found["old"] and not (target.exists() or target.is_symlink()):
        newest, *_ = found["old"]
        os.replace(newest, target)
        found["old"].remove(newest)
        restored = True
    for old in found["old"]:
        _remove(old)
    return restored


def readable(target: str | os.PathLike[str]) -> Path:
    """Where a reader finds ``target`` without changing anything: while a swap is half-done
    (by a live or a killed writer) its newest complete ``new`` copy, as :func:`recover` would
    choose; else ``target``; else the ``old`` copy a swap moved aside. Readers never rename or
    delete: a live writer's files are safe."""
    target = Path(target)
    parent = target.parent if str(target.parent) else Path(".")
    found: dict[str, list[Path]] = {"new": [], "old": []}
    try:
        entries = list(parent.iterdir())
    except OSError:
        return target
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m and m["name"] == target.name and m["kind"] in found:
            found[m["kind"]].append(entry)
    for kind in ("new", "old"):
        paths = sorted(found[kind], key=lambda p: p.lstat().st_mtime_ns, reverse=True)
        if paths and (kind == "new" or not target.exists()):
            return paths[0]
    return target


def _hidden(target: Path, kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-{os.getpid()}-", dir=target.parent))


def _swap_in(tmp: Path, target: Path) -> None:
    """Steps 1-3 of the module docstring: after step 1 the new copy is recoverable."""
    new = target.with_name(tmp.name.replace(".tmp-", ".new-", 1))
    os.replace(tmp, new)
    if target.exists() or target.is_symlink():
        old = target.with_name(tmp.name.replace(".tmp-", ".old-", 1))
        os.replace(target, old)
        os.replace(new, target)
        _remove(old)
    else:
        os.replace(new, target)


def _write_error(target: Path, exc: OSError) -> TokenkitError:
    return TokenkitError(f"cannot write output {target}: {exc.strerror or exc}")


# Rust writers (tokenizers' save, safetensors) report I/O errors as plain exceptions whose
# message carries the OS error: "No space left on device (os error 28)", "Os { code: 28, ...".
_OS_ERROR = re.compile(r"os error (\d+)|Os \{ code: (\d+)")


def as_os_error(exc: BaseException) -> OSError | None:
    """``exc`` as an ``OSError`` when it is one or reports one (Rust libraries), else None."""
    if isinstance(exc, OSError):
        return exc
    m = _OS_ERROR.search(str(exc))
    if m is None:
        return None
    code = int(m.group(1) or m.group(2))
    return OSError(code, os.strerror(code))


@contextmanager
def atomic_directory(target: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield an empty hidden directory that becomes ``target`` only if the block succeeds.

    An existing ``target`` is refused unless ``force``; on any error the temp directory is
    removed and ``target`` is left as it was. ``OSError`` (disk full, permissions) becomes a
    one-line :class:`TokenkitError` naming ``target``.
    """
    target = Path(target)
    if not str(target.parent):
        target = Path(".") / target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        recover(target)
    except OSError as e:
        raise _write_error(target, e) from e
    if (target.exists() or target.is_symlink()) and not force:
        raise TokenkitError(f"output {target} already exists (use --force to overwrite)")
    why = protected(target) if target.exists() else None
    if why is not None:  # replacing it would delete the user's files, and the cwd under them
        raise TokenkitError(f"output {target} is {why}, which is never replaced: name a new "
                            "directory for the output")
    try:
        tmp = _hidden(target, "tmp")
    except OSError as e:
        raise _write_error(target, e) from e
    try:
        yield tmp
        _swap_in(tmp, target)
    except BaseException as exc:
        _remove(tmp)
        os_error = as_os_error(exc)
        if os_error is not None:
            raise _write_error(target, os_error) from exc
        raise


@contextmanager
def atomic_file(target: str | os.PathLike[str], *, force: bool = True) -> Iterator[Path]:
    """Yield a hidden temp file path (same suffix) that replaces ``target`` on success.

    A single ``os.replace`` is atomic, so no recovery step is needed; a failed block removes
    the temp file and leaves ``target`` untouched.
    """
    target = Path(target)
    if not str(target.parent):
        target = Path(".") / target
    if target.exists() and not force:
        raise TokenkitError(f"output {target} already exists (use --force to overwrite)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in leftovers(target)["tmp"]:
            _remove(stale)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-",
                                    suffix=target.suffix, dir=target.parent)
        os.close(fd)
    except OSError as e:
        raise _write_error(target, e) from e
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        os_error = as_os_error(exc)
        if os_error is not None:
            raise _write_error(target, os_error) from exc
        raise


def protected(path: str | os.PathLike[str]) -> str | None:
    """Why directory ``path`` must never be replaced, whatever ``force`` says: it is the
    working directory, a parent of it, the home directory or the root; else None."""
    def real(p: Path) -> Path:
        try:
            return p.resolve()
        except (OSError, RuntimeError):
            return Path(os.path.abspath(p))

    target, cwd = real(Path(path)), real(Path.cwd())
    if target == cwd:
        return "the working directory"
    if target in cwd.parents:
        return "a parent of the working directory"
    home = os.environ.get("HOME")
    if home and target == real(Path(home)):
        return "the home directory"
    if target == Path(target.anchor):
        return "the root directory"
    return None
