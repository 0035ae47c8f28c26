"""`pocket-batch bench normalize`: ingest/normalize.py against NeMo's WFST text normalization.

Each language has two sets of sentences (benchmarks/normalization/LANG.SET.tsv: written, what a narrator says,
and `heading` for a heading): `tuned`, written first, which the rules were then corrected against, and
`held-out`, written after the rules and never tuned against, the honest measure. Both normalizers read both; a
sentence counts as right when its output sounds as one of the accepted readings: compared without case,
punctuation or spaces ("fünf und dreißig" is "fünfunddreißig", "PM" is "p m"). NeMo runs in a
Python of its own (`--nemo-python`), since pocket-batch does not depend on it (benchmarks/nemo_normalize.py).
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pocket_batch.ingest.normalize import Normalizer

SENTENCES = Path(__file__).parent / "normalization"


@dataclass(frozen=True)
class Case:
    written: str
    accepted: tuple[str, ...]
    heading: bool = False


SETS = ("held-out", "tuned")


def cases(language: str, which: str) -> list[Case]:
    rows = csv.reader((SENTENCES / f"{language}.{which}.tsv").read_text(encoding="utf-8").splitlines(), delimiter="\t")
    return [Case(row[0], tuple(a.strip() for a in row[1].split(" | ")), len(row) > 2 and row[2] == "heading")
            for row in rows if row and not row[0].startswith("#")]


def canonical(text: str) -> str:
    return re.sub(r"[\W_]", "", text.lower())


def right(case: Case, said: str) -> bool:
    return canonical(said) in {canonical(a) for a in case.accepted}


def ours(language: str, sentences: list[Case]) -> tuple[list[str], float]:
    """Outputs, and seconds a sentence over enough rounds for a second's timing (a fresh Normalizer each round:
    its cache would hide the cost)."""
    rounds, spent, outputs = 0, 0.0, []
    while spent < 1.0:
        normalize = Normalizer(language)
        began = time.perf_counter()
        outputs = [normalize.heading(c.written) if c.heading else normalize(c.written) for c in sentences]
        spent += time.perf_counter() - began
        rounds += 1
    return outputs, spent / rounds / len(sentences)


def nemo(python: str, language: str, sentences: list[Case], cache_dir: Path) -> tuple[list[str], float, float]:
    script = Path(__file__).with_name("nemo_normalize.py")
    done = subprocess.run([python, str(script), language, str(cache_dir)], input=json.dumps([c.written for c in sentences]),
                          capture_output=True, text=True, check=False)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-1:] or ["no message"]
        raise RuntimeError(f"NeMo ({python}) failed on {language}: {tail[0]}")
    result = json.loads(done.stdout)
    return result["outputs"], statistics.median(result["seconds"]), result["compile_s"]


def bench_normalize(languages: list[str], nemo_python: str | None, cache_dir: Path, show: bool, console: Console) -> None:
    table = Table(title="Text normalization on held-out sentences: right (of n), ms a sentence")
    for column in ("language", "set", "n", "ours right", "ours ms", "NeMo right", "NeMo ms", "NeMo grammars s", "both wrong"):
        table.add_column(column, justify="right" if column != "language" else "left")
    misses: list[tuple[str, str, Case, str]] = []
    for language, which in ((language, which) for language in languages for which in SETS):
        sentences = cases(language, which)
        said, seconds = ours(language, sentences)
        ours_right = [right(c, s) for c, s in zip(sentences, said)]
        misses += [(language, "ours", c, s) for c, s, ok in zip(sentences, said, ours_right) if not ok]
        row = [language, which, str(len(sentences)), f"{sum(ours_right)} ({sum(ours_right) / len(sentences):.0%})", f"{seconds * 1e3:.2f}"]
        if nemo_python:
            nemo_said, nemo_seconds, compile_s = nemo(nemo_python, language, sentences, cache_dir)
            nemo_right = [right(c, s) for c, s in zip(sentences, nemo_said)]
            misses += [(language, "NeMo", c, s) for c, s, ok in zip(sentences, nemo_said, nemo_right) if not ok]
            both = sum(not a and not b for a, b in zip(ours_right, nemo_right))
            row += [f"{sum(nemo_right)} ({sum(nemo_right) / len(sentences):.0%})", f"{nemo_seconds * 1e3:.1f}",
                    f"{compile_s:.0f}", str(both)]
        else:
            row += ["-", "-", "-", "-"]
        table.add_row(*row)
    console.print(table)
    if show:
        for language, who, case, said in misses:
            console.print(f"{language} {who}: {escape(case.written)!s}\n    said     {escape(said)}\n    expected {escape(case.accepted[0])}")
