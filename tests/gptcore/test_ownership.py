"""The one rule every writing command asks (gptcore.ownership): what ``--force`` may replace."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gptcore.errors import GptcoreError
from gptcore.ownership import check_output, protected
from gptcore.runs.directory import FORMAT, RUN_ENTRIES, RUN_KIND

NAMES = st.text(alphabet="abcdefghij._-", min_size=1, max_size=8).filter(lambda n: n not in (".", ".."))


def _run_dir(root: Path, extra: list[str]) -> Path:
    out = root / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"format": FORMAT, "version": 1}))
    (out / "checkpoints").mkdir()
    for name in extra:
        if not (out / name).exists():
            (out / name).write_text("the user's")
    return out


@settings(max_examples=80, deadline=None)
@given(extra=st.lists(NAMES, max_size=5), force=st.booleans())
def test_a_run_with_any_file_it_did_not_write_is_refused_naming_it(extra, force):
    with tempfile.TemporaryDirectory() as tmp:
        out = _run_dir(Path(tmp), extra)
        before = sorted(p.name for p in out.iterdir())
        foreign = sorted(n for n in set(extra) if n not in RUN_ENTRIES)
        try:
            verdict = check_output(out, RUN_KIND, force=force)
        except GptcoreError as exc:
            message = str(exc)
            assert "\n" not in message
            if foreign:
                assert "files gptcore did not write" in message and foreign[0] in message
            else:
                assert not force and "holds a run" in message and "--force" in message
        else:
            assert force and not foreign and not verdict.new
        assert sorted(p.name for p in out.iterdir()) == before  # asking never changes anything


def test_the_working_directory_its_parents_home_and_inputs_are_never_replaced(tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    assert protected(Path(".")) == "the working directory"
    assert protected(Path("..")) == "a parent of the working directory"
    assert protected(tmp_path / "home") == "the home directory"
    assert protected(tmp_path / "elsewhere") is None
    run = _run_dir(work, [])
    with pytest.raises(GptcoreError, match="is an input of this command"):
        check_output(run, RUN_KIND, force=True, inputs=[str(run)])
    with pytest.raises(GptcoreError, match="holds an input of this command"):
        check_output(run, RUN_KIND, force=True, inputs=[str(run / "checkpoints")])
    with pytest.raises(GptcoreError, match="lies inside an input"):
        check_output(run, RUN_KIND, force=True, inputs=[str(work)])
    assert check_output(work / "new", RUN_KIND, force=False, inputs=[str(work)]).new  # nothing replaced
    shutil.move(str(run / "config.json"), str(work / "config.json"))
    shutil.rmtree(run)
    with pytest.raises(GptcoreError, match="working directory, which --force never replaces"):
        check_output(Path("."), RUN_KIND, force=True)
    with pytest.raises(GptcoreError, match="the working directory; give a new directory"):
        check_output(Path("."), RUN_KIND, force=False, swap=True)


def test_a_run_killed_in_its_set_up_is_recognised_by_its_leftovers_alone(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".lock").write_text("pid 1\n")
    (out / ".config.json.tmp-123-abc.json").write_text("{")
    (out / ".data.tmp-123-xyz").mkdir()
    assert RUN_KIND.describe(out) == "an unfinished run set-up (no config.json yet)"
    (out / "data").mkdir()  # a plain entry without config.json: could be the user's
    assert RUN_KIND.describe(out) is None
