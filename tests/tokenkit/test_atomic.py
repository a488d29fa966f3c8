"""tokenkit.atomic: a kill at any instant of a write or swap leaves a recoverable state."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tokenkit.atomic import atomic_directory, atomic_file, readable, recover
from tokenkit.errors import TokenkitError

# A child process writes "new" over an existing "old" directory and dies (os._exit) at the
# K-th os.replace call, or inside the block (K = 0): a kill at every instant of the swap.
CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from tokenkit import atomic
    target, k = Path(sys.argv[1]), int(sys.argv[2])
    from tests.killswitch import die_at_kth_replace
    die_at_kth_replace(k)
    with atomic.atomic_directory(target, force=True) as tmp:
        (tmp / "data.txt").write_text("new")
        if k == 0:
            os._exit(9)
    """)


def _contents(target: Path) -> str:
    return (target / "data.txt").read_text()


@pytest.mark.parametrize("kill_at", [0, 1, 2, 3, 4])
def test_kill_at_each_step_of_the_swap_is_recovered(tmp_path: Path, kill_at: int) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "data.txt").write_text("old")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(target), str(kill_at)])
    died = proc.returncode == 9
    recover(target)
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name != "out")
    assert leftovers == [], leftovers
    # Died before the new copy was complete -> the old one survives; after -> the new one wins.
    expected = "old" if kill_at in (0, 1) else "new"
    if not died:  # k past the last rename: the write simply finished
        expected = "new"
    assert _contents(target) == expected


def test_kill_between_the_two_renames_leaves_no_target_until_recovered(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "data.txt").write_text("old")
    assert subprocess.run([sys.executable, "-c", CHILD, str(target), "3"]).returncode == 9
    assert not target.exists()  # the window the recovery exists for
    assert recover(target) is True
    assert _contents(target) == "new"


def test_next_write_recovers_before_refusing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "data.txt").write_text("old")
    subprocess.run([sys.executable, "-c", CHILD, str(target), "3"])
    with pytest.raises(TokenkitError, match="already exists"):
        with atomic_directory(target):
            pass
    assert _contents(target) == "new"


def test_failed_block_keeps_old_output_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "data.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target, force=True) as tmp:
            (tmp / "data.txt").write_text("half")
            raise RuntimeError("boom")
    assert _contents(target) == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_live_writers_leftovers_are_not_touched(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        (tmp / "data.txt").write_text("x")
        recover(target)  # our own pid is alive: the in-progress tmp must survive
        assert tmp.exists()
    assert _contents(target) == "x"


def test_atomic_file_replaces_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(ValueError):
        with atomic_file(target) as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError
    assert target.read_bytes() == b"old"
    with atomic_file(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
    with pytest.raises(TokenkitError, match="already exists"):
        with atomic_file(target, force=False):
            pass


def test_disk_errors_become_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(TokenkitError, match=r"cannot write output .*file/out"):
        with atomic_directory(blocker / "out"):
            pass


def _listing(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() if p.is_file() else b""
            for p in sorted(directory.rglob("*"))}


def test_readable_finds_the_complete_copy_of_a_half_done_swap_and_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "f").write_text("old")
    new = tmp_path / ".out.new-4000000-abc"  # a writer's complete copy (another namespace's pid)
    new.mkdir()
    (new / "f").write_text("new")
    tmp = tmp_path / ".out.tmp-4000000-def"
    tmp.mkdir()
    before = _listing(tmp_path)
    assert readable(target) == new  # as recover would choose, without renaming it
    new.rename(tmp_path / ".out.old-4000000-abc")  # between the swap's renames: only the old copy
    target.rename(tmp_path / "gone")
    assert readable(target) == tmp_path / ".out.old-4000000-abc"
    (tmp_path / "gone").rename(target)
    (tmp_path / ".out.old-4000000-abc").rename(new)
    assert _listing(tmp_path) == before


def test_recover_assume_dead_clears_leftovers_whatever_pid_they_name(tmp_path: Path) -> None:
    import os

    target = tmp_path / "out"
    target.mkdir()
    mine = tmp_path / f".out.tmp-{os.getpid()}-x"  # a live pid: kept unless the caller holds the lock
    mine.mkdir()
    recover(target)
    assert mine.exists()
    recover(target, assume_dead=True)
    assert not mine.exists() and target.is_dir()
