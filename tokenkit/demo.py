"""The seed story in one run: what a vocab-5000 BPE on 吾輩は猫である keeps and loses.

Trains four vocabularies (lossless byte alphabet vs the textbook's observed alphabet, each on
wagahai alone and with English and emoji text added), and yields the bits report and the OOV
report for the textbook's two sentences. Yields renderables; the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rich.rule import Rule

from tokenkit.corpora import resolve_corpus
from tokenkit.metrics import bits_report
from tokenkit.oov import oov_report, parse_emoji_test
from tokenkit.report import format_bits_report, lost_lines, oov_table, token_boundaries
from tokenkit.training import TrainOptions, default_output_name, train_documents
from tokenkit.textio import read_sources

SENTENCE = "吾輩わがはいは猫である。名前はまだ無い。"
OOV_SENTENCE = "論文を書くのは辛い El Psy Congroo 🥺"
VOCAB_SIZE = 5000


def run_demo(workdir: Path) -> Iterator[object]:
    workdir.mkdir(parents=True, exist_ok=True)
    emoji_file = workdir / "emoji.txt"
    emoji = parse_emoji_test(resolve_corpus("emoji-test"))
    emoji_file.write_text("\n".join(" ".join(emoji[i:i + 20]) for i in range(0, len(emoji), 20)) + "\n",
                          encoding="utf-8")
    stories = [
        ("wagahai only", ["wagahai"]),
        ("wagahai + English (the-verdict, taylorswift) + emoji", ["wagahai", "the-verdict", "taylorswift",
                                                                  str(emoji_file)]),
    ]
    for title, sources in stories:
        docs = read_sources(sources)
        for alphabet in ("bytes", "observed"):
            options = TrainOptions(vocab_size=VOCAB_SIZE, alphabet=alphabet)
            result = train_documents(docs, options)
            name = default_output_name(sources, options) + ("-mixed" if len(sources) > 1 else "")
            out = result.vocabulary.save(workdir / name, force=True)
            label = "lossless 256-byte alphabet" if alphabet == "bytes" else \
                "--alphabet observed (the textbook's)"
            yield Rule(f"{title}: {label}")
            yield (f"tokenkit train --vocab {VOCAB_SIZE}"
                   f"{' --alphabet observed' if alphabet == 'observed' else ''} {' '.join(sources)} "
                   f"-o {out}   ({result.summary['vocab_size']} tokens, "
                   f"{result.summary['training_seconds']:.1f} s)")
            v = result.vocabulary
            rep = bits_report(v, SENTENCE)
            yield format_bits_report(rep, token_boundaries(v, rep.ids), name=str(out))
            orep = oov_report(v, OOV_SENTENCE)
            yield f"original: {orep.text}\ndecoded:  {orep.decoded}"
            yield oov_table(orep)
            lost = lost_lines(orep)
            yield "\n".join(f"lost {line}" for line in lost) if lost else "nothing lost"
