"""The vocab sweep's pictures: ``bpb.png`` (the answer) and each run's ``loss.png``.

matplotlib with the Agg backend (no display), CJK and emoji fallbacks from tokenkit so a
Japanese corpus name or title draws, and every file written through
:func:`tokenkit.atomic.atomic_file` (a reader never sees half a PNG).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenkit.atomic import atomic_file
from tokenkit.plotfonts import use_cjk_fonts


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    use_cjk_fonts()
    return plt


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    try:
        with atomic_file(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def bpb_plot(rows: Sequence[Any], path: Path, title: str) -> Path:
    """Validation bits per byte against actual vocabulary size: each seed as a dot, the mean as a
    line with its min-max spread as error bars; bytes per token (validation text) on the right axis.

    ``rows`` are :class:`gptcore.sweep.RunResult` (read by attribute: ``actual_vocab_size``,
    ``val_bits_per_byte``, ``bytes_per_token``).
    """
    plt = _pyplot()
    by_size: dict[int, list[Any]] = {}
    for row in rows:
        by_size.setdefault(row.actual_vocab_size, []).append(row)
    sizes = sorted(by_size)
    bpb = [[r.val_bits_per_byte for r in by_size[s]] for s in sizes]
    means = [statistics.fmean(v) for v in bpb]
    low = [m - min(v) for m, v in zip(means, bpb)]
    high = [max(v) - m for m, v in zip(means, bpb)]

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for s, values in zip(sizes, bpb):
        ax.scatter([s] * len(values), values, s=14, color="tab:blue", alpha=0.45, zorder=3)
    n_seeds = max(len(v) for v in bpb) if bpb else 0
    ax.errorbar(sizes, means, yerr=[low, high], color="tab:blue", marker="o", capsize=4, lw=1.8,
                label=f"validation bits per byte (mean, min-max over {n_seeds} seed(s))", zorder=4)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes], rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("vocabulary size (actual)")
    ax.set_ylabel("bits per byte (validation, lower is better)", color="tab:blue")
    ax.grid(alpha=0.3)
    right = ax.twinx()
    bpt = [statistics.fmean(r.bytes_per_token for r in by_size[s]) for s in sizes]
    right.plot(sizes, bpt, color="tab:orange", marker="s", ls="--", lw=1.2,
               label="bytes per token (validation text)")
    right.set_ylabel("bytes per token", color="tab:orange")
    handles = [h for a in (ax, right) for h in a.get_legend_handles_labels()[0]]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="upper center")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


__all__ = ["bpb_plot"]
