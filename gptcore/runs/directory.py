"""Run directories that travel: everything a pretraining run needs, under one folder.

::

    RUN/config.json                  the options the run was started with, the model config,
                                     the vocabulary's sha256 (written atomically)
    RUN/vocab/                       the vocabulary, copied in (``Vocabulary.save``)
    RUN/data/                        token shards, when the run prepared them itself
    RUN/checkpoints/step-00000090/   numbered checkpoints (:mod:`gptcore.runs.checkpoint`)
    RUN/checkpoints/latest           the name of the newest complete one
    RUN/metrics.jsonl                one JSON object per log / eval step
    RUN/loss.png                     train and validation loss against tokens seen
    RUN/.lock                        held (``fcntl.flock``) by the process training into RUN

Checkpoints name their vocabulary *relatively* (``../../vocab``), so a moved or copied run still
finds it; they also record its sha256, so a different vocabulary of the same size is refused.
Every file is written through :mod:`tokenkit.atomic`: a kill at any instant leaves the previous
checkpoint or the new one, and :meth:`Run.latest` finishes or clears a half-done swap first.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import re
import shutil
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import tokenkit
from tokenkit.atomic import atomic_file, readable, recover

from gptcore.data.fingerprint import vocabulary_sha256
from gptcore.errors import GptcoreError
from gptcore.ownership import Kind, check_output
from gptcore.runs.checkpoint import save_checkpoint

FORMAT = "gptcore-run"
VERSION = 1
CONFIG = "config.json"
VOCAB = "vocab"
DATA = "data"
CHECKPOINTS = "checkpoints"
LATEST = "latest"
METRICS = "metrics.jsonl"
PLOT = "loss.png"
LOCK = ".lock"
_STEP = re.compile(r"step-(\d{8})")


#: Every entry a run directory may hold (``--force`` and a take-over replace no other).
RUN_ENTRIES = (CONFIG, VOCAB, DATA, CHECKPOINTS, METRICS, PLOT, LOCK)


def is_run(path: str | os.PathLike[str]) -> bool:
    """A directory holding a run's ``config.json``."""
    file = Path(path) / CONFIG
    if not file.is_file() or file.is_symlink():
        return False
    try:
        return json.loads(file.read_text(encoding="utf-8")).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def _describe_run(path: Path) -> str | None:
    """What ``--out`` holds when it is a run of ours (see :data:`RUN_KIND`)."""
    if is_run(path):
        steps = Run(path).steps()
        return f"a run (step {steps[-1]})" if steps else "a run with no checkpoint yet"
    if all(e.name == LOCK or _leftover_of_entry(e.name) for e in path.iterdir()):
        return "an unfinished run set-up (no config.json yet)"
    return None


def _leftover_of_entry(name: str) -> bool:
    m = _ATOMIC.match(name)
    return bool(m and m["name"] in RUN_ENTRIES)


_ATOMIC = re.compile(r"^\.(?P<name>.+?)\.(tmp|new|old)-\d+-[^/]*$")

#: A run directory as :func:`gptcore.ownership.check_output` recognises it.
RUN_KIND = Kind("run", _describe_run, lambda path: RUN_ENTRIES, reuse="use --resume to continue it")


def _open_nofollow(path: Path, flags: int) -> int:
    """``os.open`` that refuses a symbolic link (a run directory's files are not trusted)."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise GptcoreError(f"{path} is a symbolic link; a run's files must be its own "
                               "(refusing to write through it)") from None
        raise GptcoreError(f"cannot open {path}: {exc.strerror or exc}") from None


@dataclass
class Run:
    """One run directory. ``open`` it to train into it; reading needs no lock (and never
    changes anything: only the lock holder finishes or clears what a killed writer left)."""

    path: Path
    _lock: IO[str] | None = field(default=None, repr=False)
    #: Set by :meth:`create`: the directory was missing (``created``), held nothing of ours
    #: (``fresh``), or holds a run being replaced (``--force``) or taken over (no checkpoint).
    created: bool = field(default=False, repr=False)
    fresh: bool = field(default=False, repr=False)

    # -- creating and locking ------------------------------------------------------------
    @classmethod
    def create(cls, path: str | os.PathLike[str], *, resume: bool, force: bool,
               inputs: Iterable[str | os.PathLike[str]] = ()) -> Run:
        """Lock ``path`` for training: new, resumed, replaced (``force``: only a run of ours,
        see :mod:`gptcore.ownership`) or taken over (a run of ours that never completed a
        checkpoint: the same command starts it again). ``inputs`` are never replaced."""
        run = cls(Path(path))
        if resume:
            if run.path.exists() and not run.path.is_dir():
                raise GptcoreError(f"--out {run.path} is a file, not a run directory")
            if not is_run(run.path):
                unfinished = run.path.is_dir() and _describe_run(run.path)
                if unfinished:
                    raise GptcoreError(f"nothing to resume: {run.path} holds {unfinished}; start it again "
                                       "with the command that started it")
                raise GptcoreError(f"nothing to resume: {run.path} holds no run ({CONFIG} missing)")
            run.lock()
            return run
        takeover = not force and run.path.is_dir() and _describe_run(run.path) in (
            "a run with no checkpoint yet", "an unfinished run set-up (no config.json yet)")
        verdict = check_output(run.path, RUN_KIND, force=force or takeover, inputs=inputs, ignore=(LOCK,))
        run.created = not run.path.exists()
        run.fresh = verdict.new
        run.path.mkdir(parents=True, exist_ok=True)
        run.lock()
        if takeover and run.steps():  # a checkpoint completed meanwhile (before the lock was ours)
            run.close()
            raise GptcoreError(f"--out {run.path} holds a run (step {run.steps()[-1]}); "
                               "use --resume to continue it or --force to replace it")
        return run

    def lock(self) -> None:
        """Hold ``RUN/.lock`` until :meth:`close`; a second process is refused with one line.

        The holder alone finishes or clears what a killed checkpoint write left (judged by
        the lock, not by process ids, which mean nothing in another PID namespace or host).
        """
        fd = _open_nofollow(self.path / LOCK, os.O_RDWR | os.O_CREAT)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read(200).strip() or "another process"
            handle.close()
            raise GptcoreError(f"{self.path} is in use by {owner}; wait for it to finish") from None
        for name in RUN_ENTRIES:
            if name != LOCK and (self.path / name).is_symlink():
                handle.close()
                raise GptcoreError(f"{self.path / name} is a symbolic link; a run's files must be its own")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._lock = handle
        self._recover_checkpoints()

    @property
    def locked(self) -> bool:
        return self._lock is not None

    def close(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def clear(self, keep: tuple[str, ...] = ()) -> None:
        """Remove an old run's files (``--force``, a take-over), keeping the lock this process
        holds and ``keep``. Only a run's own entries go: nothing else is ever deleted."""
        for entry in self.path.iterdir():
            own = entry.name in RUN_ENTRIES or _leftover_of_entry(entry.name)
            if not own or entry.name == LOCK or entry.name in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def discard(self) -> None:
        """Undo a start that failed before training: the directory as it was (``created``:
        gone; ``fresh``: emptied of what this process wrote). Must hold the lock."""
        if self.created:
            self.close()
            shutil.rmtree(self.path, ignore_errors=True)
        elif self.fresh:
            self.clear()
            self.close()
            (self.path / LOCK).unlink(missing_ok=True)

    # -- config and vocabulary -------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        file = self.path / CONFIG
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GptcoreError(f"cannot read {file}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise GptcoreError(f"{file} is not a gptcore run config")
        return data

    def write_config(self, config: dict[str, Any]) -> None:
        with atomic_file(self.path / CONFIG) as tmp:
            tmp.write_text(json.dumps({"format": FORMAT, "version": VERSION, **config}, indent=2) + "\n",
                           encoding="utf-8")

    def save_vocabulary(self, vocab: tokenkit.Vocabulary) -> str:
        """Copy ``vocab`` into ``RUN/vocab``; returns its sha256."""
        vocab.save(self.path / VOCAB, force=True)
        return vocabulary_sha256(vocab)

    @property
    def vocab_path(self) -> Path:
        return self.path / VOCAB

    # -- checkpoints ------------------------------------------------------------------------
    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    def _recover_checkpoints(self) -> None:
        """Finish or clear what a killed checkpoint swap left (hidden ``.step-*`` siblings).

        Only the lock holder calls this: it is the only writer, so every leftover it finds is
        a dead writer's, whatever process id its name carries.
        """
        if not self._lock or not self.checkpoints.is_dir() or self.checkpoints.is_symlink():
            return
        names = {m.group(0) for e in self.checkpoints.iterdir()
                 if e.name.startswith(".") and (m := _STEP.search(e.name))}
        for name in sorted(names):
            recover(self.checkpoints / name, assume_dead=True)

    def steps(self) -> list[int]:
        """Steps of the complete checkpoints, oldest first (read-only: a checkpoint a writer
        is swapping in counts through its complete hidden copy)."""
        if not self.checkpoints.is_dir():
            return []
        found = set()
        for e in self.checkpoints.iterdir():
            m = _STEP.fullmatch(e.name)
            if m and (e / "checkpoint.json").is_file():
                found.add(int(m.group(1)))
            elif e.name.startswith(".") and (m := _STEP.search(e.name)):
                if readable(self.checkpoints / m.group(0)) != self.checkpoints / m.group(0):
                    found.add(int(m.group(1)))
        return sorted(found)

    def latest(self) -> Path | None:
        """The newest complete checkpoint: the pointer's, else the highest step found."""
        steps = self.steps()
        pointer = self.checkpoints / LATEST
        if pointer.is_file():
            name = pointer.read_text(encoding="utf-8").strip()
            m = _STEP.fullmatch(name)
            if m and int(m.group(1)) in steps and int(m.group(1)) == max(steps):
                return self.checkpoints / name
        return self.checkpoints / checkpoint_name(steps[-1]) if steps else None

    def save_checkpoint(self, model: Any, optimizer: Any, step: int, extra: dict[str, Any],
                        keep_last: int = 0) -> Path:
        """Write checkpoint ``step`` atomically, point ``latest`` at it, keep the newest ``keep_last``."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        target = self.checkpoints / checkpoint_name(step)
        vocabulary = os.path.relpath(self.vocab_path, target)
        save_checkpoint(target, model, optimizer, step=step, vocabulary=vocabulary, extra=extra)
        with atomic_file(self.checkpoints / LATEST) as tmp:
            tmp.write_text(target.name + "\n", encoding="utf-8")
        if keep_last > 0:
            for old in self.steps()[:-keep_last]:
                shutil.rmtree(self.checkpoints / checkpoint_name(old), ignore_errors=True)
        return target

    # -- metrics and plot ---------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        """Append one line to ``metrics.jsonl`` (flushed: a killed run keeps what it logged)."""
        fd = _open_nofollow(self.path / METRICS, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def metrics(self) -> list[dict[str, Any]]:
        file = self.path / METRICS
        if not file.is_file():
            return []
        out = []
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line cut by a kill
                continue
        return out

    def truncate_metrics(self, step: int) -> None:
        """Drop lines after ``step`` (logged by a run killed after its last checkpoint)."""
        kept = [r for r in self.metrics() if r.get("step", 0) <= step]
        with atomic_file(self.path / METRICS) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")

    def plot(self, title: str | None = None) -> Path | None:
        """``loss.png``: the logged training loss as a curve, evaluations as markers.

        The default title names the run, its vocabulary and the last validation bits per byte.
        """
        records = self.metrics()
        return plot_losses(records, self.path / PLOT, self.title(records) if title is None else title)

    def title(self, records: list[dict[str, Any]]) -> str:
        """``run NAME · vocabulary SPEC (V tokens) · final val 1.234 bits/byte`` (what is known)."""
        try:
            config = self.read_config()
        except GptcoreError:
            config = {}
        options, model = config.get("options"), config.get("model")
        tokenizer = options.get("tokenizer") if isinstance(options, dict) else None
        model_config = model.get("config") if isinstance(model, dict) else None
        size = model_config.get("vocab_size") if isinstance(model_config, dict) else None
        parts = [f"run {self.path.resolve().name}"]
        if isinstance(tokenizer, str):
            parts.append(f"vocabulary {Path(tokenizer).name}"
                         + (f" ({size:,} tokens)" if isinstance(size, int) else ""))
        bpb = [r["val_bpb"] for r in records if isinstance(r.get("val_bpb"), (int, float))]
        if bpb:
            parts.append(f"final val {bpb[-1]:.3f} bits/byte")
        return " · ".join(parts)


def _points(records: list[dict[str, Any]], key: str) -> tuple[list[float], list[float]]:
    """``(tokens, value)`` of the records that hold a finite number under ``key``."""
    rows = [(r["tokens"], r[key]) for r in records
            if isinstance(r.get(key), (int, float)) and isinstance(r.get("tokens"), (int, float))
            and math.isfinite(r[key])]
    return [t for t, _ in rows], [v for _, v in rows]


def plot_losses(records: list[dict[str, Any]], out: Path, title: str = "",
                peer: list[dict[str, Any]] | None = None, labels: tuple[str, str] = ("gptcore", "")) -> Path | None:
    """Loss against tokens seen into ``out`` atomically: the training loss logged every
    ``log_every`` steps as a line, each evaluation's train and validation loss as markers
    (a ``peer``'s evaluations dashed beside them). None when nothing was logged yet."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logged = _points([r for r in records if r.get("kind", "log") == "log"], "loss")
    if not logged[0] and not _points(records, "val_loss")[0]:
        return None
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    if logged[0]:
        ax.plot(*logged, "-", color="tab:blue", alpha=0.55, linewidth=1.2,
                label=f"{labels[0] + ' ' if peer else ''}training loss (logged)")
    series = [(labels[0], records, "-")] + ([(labels[1], peer, "--")] if peer else [])
    for name, recs, style in series:
        prefix = f"{name} " if peer else ""
        markers = "o--" if style == "--" else "o"  # gptcore's own line is the logged curve
        ax.plot(*_points(recs, "train_loss"), markers, color="tab:blue", markersize=4,
                label=f"{prefix}training loss (eval)")
        ax.plot(*_points(recs, "val_loss"), "s" + style, color="tab:orange", markersize=4,
                linewidth=1, label=f"{prefix}validation loss")
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("loss (nats per token)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)
    return out


def check_fingerprint(model: Any, vocab: tokenkit.Vocabulary, where: str = "the model") -> None:
    """Refuse a vocabulary whose content differs from the one ``model`` was trained with.

    Loaders of gptcore checkpoints set ``model.vocabulary_sha256``; other models have none and
    are checked by size only (:func:`gptcore.generation.check_vocabulary`).
    """
    expected = getattr(model, "vocabulary_sha256", None)
    if not expected:
        return
    got = vocabulary_sha256(vocab)
    if got != expected:
        raise GptcoreError(f"tokenizer {vocab.name} (sha256 {got[:12]}) is not the vocabulary {where} "
                           f"was trained with (sha256 {expected[:12]}), though it may have the same size")


def resolve_model_path(path: Path) -> Path:
    """A run directory stands for its newest checkpoint; any other path for itself."""
    if is_run(path):
        latest = Run(path).latest()
        if latest is None:
            raise GptcoreError(f"run {path} has no complete checkpoint yet")
        return latest
    return path


__all__ = ["CHECKPOINTS", "CONFIG", "DATA", "METRICS", "PLOT", "Run", "check_fingerprint", "checkpoint_name", "is_run",
           "plot_losses", "resolve_model_path"]
