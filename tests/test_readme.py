"""Every command in the README works as written after `make demo` / `make test` and
`source .venv/bin/activate`.

The README's ``sh``/``bash`` blocks and its inline ``python …`` commands are read as a user
would read them. Every ``tokenkit``/``gptcore`` command must name an existing subcommand and
only existing options (usage lines such as ``tokenkit report VOCAB --text "…" | --file F
[--json]`` included); every ``python -m`` module and script must exist and answer ``--help``;
every ``make`` target must exist. The cheap commands (the seed story, export, bench) run for
real, in order, in a temporary directory, through the installed console scripts, and the
report the README prints is compared with the real one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
import pytest

from gptcore.cli import main as gptcore_main
from tests.conftest import corpus_path
from tokenkit.cli import main as tokenkit_main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV_BIN = Path(sys.executable).parent
CLIS = {"tokenkit": tokenkit_main, "gptcore": gptcore_main}
#: Subcommands cheap enough to run for real (seconds); the rest are checked, not run.
RUN_FOR_REAL = {("tokenkit", "train"), ("tokenkit", "report"), ("tokenkit", "oov"),
                ("tokenkit", "export"), ("tokenkit", "bench"), ("gptcore", "list")}
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*(\.\.\.)?$|…|^\.\.\.$|\[|\]|^\|$")


def code_blocks(language: tuple[str, ...]) -> list[str]:
    return [m["body"] for m in re.finditer(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", README, re.M | re.S)
            if m["lang"] in language]


def shell_lines() -> list[str]:
    """Commands of the sh/bash blocks: comments dropped, continuation lines joined."""
    lines: list[str] = []
    for body in code_blocks(("sh", "bash")):
        body = body.replace("\\\n", " ")
        for raw in body.splitlines():
            line = " ".join(shlex.split(raw, comments=True, posix=False)) if raw.strip() else ""
            if not line:
                continue
            if raw[:1].isspace() and lines and line.split()[0] not in (*CLIS, "make", "python"):
                lines[-1] += " " + line  # a usage line continued without a backslash
            else:
                lines.append(line)
    return lines


def inline_python_commands() -> list[str]:
    return sorted(set(re.findall(r"`((?:\.venv/bin/)?python [^`]+)`", README)))


def resolve(words: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """``tokenkit corpora fetch NAME`` -> (["tokenkit", "corpora", "fetch"], command, rest)."""
    command: click.Command = CLIS[words[0]]
    path = [words[0]]
    rest = words[1:]
    while isinstance(command, click.Group) and rest and subcommand(command, rest[0]):
        command = subcommand(command, rest[0])
        path.append(rest.pop(0))
    return path, command, rest


def subcommand(group: click.Command, name: str) -> click.Command | None:
    """A group's subcommand by name (the groups load their commands lazily)."""
    if not isinstance(group, click.Group):
        return None
    return group.get_command(click.Context(group), name)


def option_names(command: click.Command) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def commands() -> list[tuple[str, list[str]]]:
    """(line, argv) for every tokenkit/gptcore command, alternatives ``a | b`` split apart."""
    found = []
    for line in shell_lines():
        previous: list[str] | None = None
        for segment in re.split(r"\s+\|\s+", line):
            words = [w.strip('"') for w in shlex.split(segment.split(" < ")[0], posix=False)]
            if words[0] in CLIS:
                argv = words
            elif previous and subcommand(resolve(resolve(previous)[0][:-1])[1], words[0]):
                argv = resolve(previous)[0][:-1] + words  # `tokenkit corpora list | path NAME`
            elif previous:
                argv = resolve(previous)[0] + words  # `--text "…" | --file F`: more options
            else:
                continue
            found.append((line, argv))
            previous = argv
    return found


def test_the_readme_says_to_activate_the_venv():
    setup = README.index("make test")
    activate = README.index("source .venv/bin/activate")
    assert setup < activate < README.index("tokenkit train"), "activation must come before first use"


def test_every_command_block_is_tagged_as_shell():
    untagged = [body.splitlines()[0] for body in code_blocks(("",))]
    assert not [first for first in untagged if first.split(" ")[0] in (*CLIS, "python", "make")]


def test_readme_commands_were_found():
    found = {tuple(resolve(argv)[0]) for _, argv in commands()}
    expected = {("tokenkit", "train"), ("tokenkit", "report"), ("tokenkit", "oov"),
                ("tokenkit", "bench"), ("tokenkit", "sweep"), ("tokenkit", "export"),
                ("tokenkit", "corpora", "fetch"), ("tokenkit", "decode"), ("tokenkit", "demo"),
                ("gptcore", "pretrain"), ("gptcore", "generate"), ("gptcore", "next"),
                ("gptcore", "list"), ("gptcore", "diversity"), ("gptcore", "export")}
    assert expected <= found, expected - found


@pytest.mark.parametrize("line,argv", commands(), ids=lambda x: x if isinstance(x, str) else None)
def test_readme_command_names_a_real_subcommand_and_real_options(line, argv):
    path, command, rest = resolve(argv)
    assert not isinstance(command, click.Group) or len(path) == 1, f"{line}: no such subcommand"
    options = {re.sub(r"[\[\]]", "", w).split("=")[0] for w in rest}
    options = {o for o in options if re.fullmatch(r"--?[a-z][\w-]*", o)}
    unknown = options - option_names(command)
    assert not unknown, f"{' '.join(path)} has no option {sorted(unknown)} (README: {line})"
    result = CliRunner().invoke(CLIS[path[0]], [*path[1:], "--help"])
    assert result.exit_code == 0 and "Example" in result.output, result.output


def test_make_targets_exist():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    named = {line.split()[1] for line in shell_lines() if line.startswith("make ")}
    assert named and named <= targets, named - targets


@pytest.mark.parametrize("command", inline_python_commands())
def test_readme_python_commands_run_as_written(command):
    """``python -m bench.x`` / ``python bench/x.py`` / ``python -m pkg``: the module exists and
    answers ``--help`` (the benchmarks themselves are minutes long)."""
    words = shlex.split(command.split(" > ")[0])
    assert words[0] in ("python", ".venv/bin/python")
    if words[1] == "-m":
        assert importlib.util.find_spec(words[2]) is not None, command
        target = ["-m", words[2]]
    else:
        assert (ROOT / words[1]).is_file(), command
        target = [words[1]]
    if " > " in command or target[-1] in ("gptcore.cli.reference", "docs/gen_cli_reference.py"):
        return  # regenerates a checked-in file: the reference freshness tests cover it
    done = subprocess.run([sys.executable, *target, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), (command, done.stderr[-2000:])


def test_python_blocks_compile():
    for body in code_blocks(("python",)):
        compile(body, "README.md", "exec")


def test_cheap_readme_commands_really_run(tmp_path):
    """The seed story, export and bench, in README order, as a user types them."""
    for corpus in ("wagahai", "multilingual", "gpt2"):
        corpus_path(corpus)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "80",
           "OMP_NUM_THREADS": "1"}
    ran: dict[str, str] = {}
    for line, argv in commands():
        path = resolve(argv)[0]
        if (path[0], path[1]) not in RUN_FOR_REAL or line in ran or \
                any(PLACEHOLDER.search(w) for w in shlex.split(line, posix=False)):
            continue
        done = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        ran[line] = done.stdout
    assert len(ran) >= 8, list(ran)
    # the report block the README shows is what the command prints
    [shown] = [b for b in code_blocks(("",)) if b.startswith("vocabulary ")]
    [report] = [out for line, out in ran.items() if line.startswith("tokenkit report")]
    assert report == shown
    [oov] = [out for line, out in ran.items() if line.startswith("tokenkit oov")]
    assert "decoded:  論文を書くのは辛い l sy ongroo \ufffd\ufffd\ufffd" in oov
    for written in ("wagahai-5000", "wagahai-observed-5000", "wagahai-5000-tiktoken",
                    "wagahai-5000-hf", "bench.csv", "bench.json", "bench.png"):
        assert (tmp_path / written).exists(), written
    # the Python blocks that need only what the commands above wrote
    for body in code_blocks(("python",)):
        if "runs/verdict" in body or "VOCAB" in body:
            continue  # needs a pretrained checkpoint (minutes): compiled above, not run
        done = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{body}\n{done.stderr[-2000:]}"
