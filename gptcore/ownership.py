"""What an output option may replace: only an output of the same kind that gptcore itself wrote.

Every command that writes a directory (``pretrain``, ``vocab-sweep``, ``prepare``, ``export``)
asks :func:`check_output` first. The rule, for every one of them:

* a missing or empty directory is new: write it;
* a directory is *ours* only when its manifest says so (a run's ``config.json``, the shards'
  ``manifest.json``, a sweep's ``sweep.json``, an export's ``gptcore-export.json``) and every
  entry in it is one that kind writes; ``--force`` replaces only such a directory;
* never replaced, whatever the flags: the working directory, a parent of it, the home
  directory, an input of the command (or a directory holding one), or a directory holding
  files gptcore cannot account for (the refusal lists them);
* the refusal without ``--force`` says what is there ("holds a run (step 40)"), so a user
  is not pushed to ``--force`` by a message that fits any directory.

Library code returns data; the caller decides. Nothing here writes or deletes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenkit.atomic import protected  # the one rule: cwd, its parents, home, root

from gptcore.errors import GptcoreError

#: Hidden siblings :mod:`tokenkit.atomic` leaves beside NAME while (or after) writing it.
_ATOMIC = re.compile(r"^\.(?P<name>.+?)\.(tmp|new|old)-\d+-[^/]*$")
#: Names listed in a refusal before "and N more".
SHOWN = 6


@dataclass(frozen=True)
class Kind:
    """One kind of output: how to recognise it and which entries it may hold.

    ``describe(path)`` returns what the directory holds ("a run (step 40)") when its manifest
    is ours, else None. ``entries(path)`` returns the top-level names that kind writes there
    (read from the manifest where the names vary, as for shard files and exports).
    ``reuse`` is the advice for a refusal without ``--force`` ("use --resume to continue it").
    """

    name: str
    describe: Callable[[Path], str | None]
    entries: Callable[[Path], Iterable[str]]
    reuse: str = ""


@dataclass(frozen=True)
class Verdict:
    """``new``: missing or empty (nothing to replace); ``ours``: a replaceable output of the kind."""

    new: bool
    description: str = ""


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def _input_clash(out: Path, inputs: Iterable[str | os.PathLike[str]], *, replacing: bool = True) -> str | None:
    """How ``out`` overlaps an input path; a new output may lie inside an input's directory
    (nothing there is replaced), an output being replaced may not."""
    target = _resolved(out)
    for item in inputs:
        if not item or not os.path.exists(item):
            continue  # a name (gpt2, a corpus), not a path
        source = _resolved(Path(item))
        if source == target:
            return f"{out} is an input of this command ({item})"
        if _inside(source, target):
            return f"{out} holds an input of this command ({item})"
        if replacing and _inside(target, source):
            return f"{out} lies inside an input of this command ({item})"
    return None


def unexpected(path: Path, allowed: Iterable[str]) -> list[str]:
    """Entries of ``path`` that are not in ``allowed`` nor an atomic-write leftover of one
    (directories shown with a trailing ``/``), sorted."""
    names = set(allowed)
    out = []
    for entry in path.iterdir():
        m = _ATOMIC.match(entry.name)
        if entry.name in names or (m and m["name"] in names):
            continue
        out.append(entry.name + ("/" if entry.is_dir() and not entry.is_symlink() else ""))
    return sorted(out)


def listed(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def check_output(out: str | os.PathLike[str], kind: Kind, *, force: bool, flag: str = "--out",
                 inputs: Iterable[str | os.PathLike[str]] = (), swap: bool = False,
                 ignore: Iterable[str] = (), reuse: bool = False) -> Verdict:
    """May ``out`` be written (new) or replaced (``force`` and ours)? A one-line
    :class:`GptcoreError` names what is there otherwise.

    ``swap=True`` for outputs written to a sibling and renamed into place (shards, exports):
    those refuse the working directory and its parents even when empty. ``ignore`` names
    entries that do not count (a run's ``.lock``). ``reuse=True``: an output of ours is
    returned (``new=False``) without ``force`` too, for callers that continue or reuse it
    when its settings match (shards, sweeps) and refuse otherwise.
    """
    path = Path(out)
    if path.is_symlink() and not path.exists():
        raise GptcoreError(f"{flag} {path} is a dangling symbolic link")
    if path.exists() and not path.is_dir():
        raise GptcoreError(f"{flag} {path} is a file, not a directory")
    why = protected(path)
    if why is not None and swap:
        raise GptcoreError(f"{flag} {path} is {why}; give a new directory for the {kind.name}")
    if not path.exists():
        clash = _input_clash(path, inputs, replacing=False)
        if clash:
            raise GptcoreError(f"{flag} {clash}; give another directory")
        return Verdict(new=True)
    allowed = set(ignore)
    present = unexpected(path, allowed)
    if not present:
        clash = _input_clash(path, inputs, replacing=False)
        if clash:
            raise GptcoreError(f"{flag} {clash}; give another directory")
        return Verdict(new=True)
    description = kind.describe(path)
    if description is None:
        raise GptcoreError(f"{flag} {path} holds files gptcore did not write: {listed(present)}; "
                           f"give a new or empty directory for the {kind.name}")
    foreign = unexpected(path, allowed | set(kind.entries(path)))
    if foreign:
        raise GptcoreError(f"{flag} {path} holds {description} and files gptcore did not write: "
                           f"{listed(foreign)}; move them away or give another directory")
    clash = _input_clash(path, inputs)
    if clash:
        raise GptcoreError(f"{flag} {clash}; give another directory")
    if reuse and not force:
        return Verdict(new=False, description=description)
    if why is not None:
        advice = f"; {kind.reuse}" if kind.reuse else ""
        raise GptcoreError(f"{flag} {path} holds {description} and is {why}, which --force never "
                           f"replaces{advice}")
    if not force:
        advice = f"{kind.reuse}, or --force to replace it" if kind.reuse else "use --force to replace it"
        raise GptcoreError(f"{flag} {path} holds {description}; {advice}")
    return Verdict(new=False, description=description)


__all__ = ["Kind", "Verdict", "check_output", "listed", "protected", "unexpected"]
