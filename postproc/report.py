"""The review page (`report.html`): one file to look at and listen to before publishing.

Made from the manifest alone (and the chunk cache's file names), so a run, `redo` and a
rerun all write the same page for the same book. It needs nothing from the network:
styles are inline, pictures are inline SVG, and every player points at a file beside it.
"""

from __future__ import annotations

import os
import shlex
from collections import Counter
from html import escape
from pathlib import Path
from urllib.parse import quote

import numpy as np

from pocket_batch.core.config import PRESETS
from pocket_batch.core.files import atomic_open
from pocket_batch.core.measure import clock
from pocket_batch.postproc.manifest import ChunkEntry, Manifest
from pocket_batch.postproc.plots import histogram, level_plot, scores_plot, timeline
from pocket_batch.synth.model.cache import AudioCache

CURVE_WINDOW_S = 3.0  # as LoudnessMeter.curve measures
STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1f2937; max-width: 62rem; margin: 2rem auto; padding: 0 1rem; }
h1 { margin-bottom: 0.1rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #e5e7eb; }
.by { color: #4b5563; margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt { color: #6b7280; } dl.facts dd { margin: 0; }
.ai { background: #eff6ff; border-left: 4px solid #2563eb; padding: 0.5rem 0.8rem; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #e5e7eb; vertical-align: middle; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td.flags { color: #dc2626; font-weight: 600; }
audio { height: 2rem; width: 15rem; }
figure { margin: 0.6rem 0; } figcaption { font-weight: 600; font-size: 14px; }
svg { width: 100%; height: auto; }
article.chunk { border: 1px solid #fecaca; border-radius: 6px; padding: 0.6rem 0.9rem; margin: 0.8rem 0; }
article.chunk h3 { margin: 0 0 0.3rem; font-size: 15px; }
.why { color: #dc2626; font-weight: 600; } .heard { color: #4b5563; } code { font-size: 13px; }
"""


def href(path: Path, folder: Path) -> str:
    return quote(os.path.relpath(path, folder))


def page(title: str, body: list[str]) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{escape(title)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<style>{STYLE}</style>\n'
            '</head>\n<body>\n' + "\n".join(body) + "\n</body>\n</html>\n")


def player(src: str) -> str:
    return f'<audio controls preload="none" src="{escape(src)}"></audio>'


def facts(rows: list[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def why_flagged(chunk: ChunkEntry) -> list[str]:
    """What makes a chunk worth a listen: verification's flags, the model's max length, retakes."""
    reasons = chunk.problems()
    if chunk.verify and len(chunk.verify.takes) > 1:
        reasons.append(f"regenerated {len(chunk.verify.takes) - 1} time(s)")
    return reasons


def write_book_report(target: Path, manifest: Manifest, cache: AudioCache) -> None:
    folder, book = target.parent, manifest.book
    preset = PRESETS[manifest.loudness["preset"]]
    chunks = [(chapter, c) for chapter in manifest.chapters for c in chapter.chunks]
    flagged = [(chapter, c, why) for chapter, c in chunks if (why := why_flagged(c))]
    check = manifest.verification
    body = [f"<header><h1>{escape(book.title)}</h1>",
            f'<p class="by">{escape(book.author or "")}</p>' if book.author else "",
            facts([("Voice", escape(f"{manifest.voice.get('name')} ({manifest.voice.get('kind')})")),
                   *_other_voices(chunks),
                   ("Model", escape(f"{manifest.model.get('config')}") + f" <code>{escape(manifest.model.get('fingerprint', ''))}</code>"),
                   ("Duration", clock(manifest.outputs.duration)),
                   ("Chapters", str(len(manifest.chapters))),
                   ("Loudness", escape(f"{manifest.loudness['preset']}: target {preset.target:g} "
                                       f"{'LUFS' if preset.measure == 'lufs' else 'dB RMS'}, ceiling {preset.ceiling:g} dBTP")),
                   ("Verification", escape(f"{check.verified} chunks checked ({', '.join(check.checks) or 'words'}) by "
                                           f"{check.verifier}, {check.regenerated} regenerated, {len(check.flagged)} "
                                           f"still flagged" + (f", {len(check.unverified)} unverified (their voice is "
                                                               "one the recognizer cannot hear)"
                                                               if check.unverified else "")) if check else "off"),
                   ("Files", " · ".join(f'<a href="{href(folder / f, folder)}">{escape(f)}</a>' for f in
                                        manifest.outputs.files() + ([manifest.readalong.file] if manifest.readalong else [])))]),
            f'<p class="ai">{escape(manifest.synthetic_speech.statement)}</p></header>',
            '<section id="book"><h2>The book</h2>',
            timeline([(c.start, c.end, c.title) for c in manifest.chapters],
                     [c.start for _, c, _ in flagged], "timeline"), "</section>",
            _chapter_table(manifest, folder, flagged),
            _scores(chunks),
            _levels(manifest, preset.target, preset.measure),
            _flagged(flagged, folder, cache), _redone(manifest)]
    with atomic_open(target) as f:
        f.write(page(f"Review: {book.title}", [part for part in body if part]))


SCORE_PLOTS = (("similarity", "speaker similarity to its voice's reference"), ("snr_db", "signal over noise floor (dB)"),
               ("pace", "voiced seconds a word"), ("mos_ovrl", "DNSMOS overall"))


def _scores(chunks) -> str:
    """The quality gates' scores of every chunk over the book, flagged chunks marked: where the voice drifts or
    the sound degrades."""
    figures = []
    for name, label in SCORE_PLOTS:
        points = [(c.start, c.verify.scores[name], bool(c.verify.flags)) for _, c in chunks
                  if c.verify and name in c.verify.scores]
        if points:
            figures.append(f'<figure class="scores"><figcaption>{escape(label)}</figcaption>'
                           f"{scores_plot(points, name, f'scores-{name}')}</figure>")
    return f'<section id="scores"><h2>Voice and sound over the book</h2>{"".join(figures)}</section>' if figures else ""


def _other_voices(chunks) -> list[tuple[str, str]]:
    """Voices besides the narrator's (dialogue, characters, voice marks), with how many chunks each reads."""
    counts: dict[str, int] = {}
    for _, c in chunks:
        if c.voice:
            counts[c.voice] = counts.get(c.voice, 0) + 1
    return [("Other voices", escape(", ".join(f"{v} ({n} chunks)" for v, n in counts.items())))] if counts else []


def _chapter_table(manifest: Manifest, folder: Path, flagged) -> str:
    unit = "LUFS" if PRESETS[manifest.loudness["preset"]].measure == "lufs" else "dB"
    rows = []
    for chapter in manifest.chapters:
        count = sum(1 for ch, _, _ in flagged if ch is chapter)
        rows.append(f'<tr{" class=flagged" if count else ""} id="chapter-{chapter.index}"><td class="n">{chapter.index}</td>'
                    f"<td>{escape(chapter.title)}</td><td class=n>{clock(chapter.end - chapter.start)}</td>"
                    f"<td class=n>{sum(len(c.text.split()) for c in chapter.chunks)}</td><td class=n>{len(chapter.chunks)}</td>"
                    f"<td class=n>{chapter.loudness:.1f} {unit}</td><td class=n>{chapter.true_peak:.1f} dBTP</td>"
                    f'<td class="n flags">{count}</td><td>{player(href(folder / chapter.file, folder))}</td></tr>')
    return ('<section id="chapters"><h2>Chapters</h2><table id="chapter-table"><thead><tr><th>#</th><th>title</th>'
            f'<th>duration</th><th>words</th><th>chunks</th><th>loudness</th><th>true peak</th><th>flagged</th>'
            f'<th>listen</th></tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


def _levels(manifest: Manifest, target: float, measure: str) -> str:
    figures = [f'<figure class="level"><figcaption>{chapter.index}. {escape(chapter.title)}</figcaption>'
               f"{level_plot(chapter.level_curve, CURVE_WINDOW_S, target, measure, f'level{chapter.index}')}</figure>"
               for chapter in manifest.chapters if chapter.level_curve]
    return '<section id="loudness"><h2>Loudness over time</h2>' + "".join(figures) + "</section>"


def _flagged(flagged, folder: Path, cache: AudioCache) -> str:
    if not flagged:
        return '<section id="flagged"><h2>Flagged chunks</h2><p>None: every chunk passed.</p></section>'
    items = []
    for chapter, chunk, why in flagged:
        heard = f'<p class="heard">heard: “{escape(chunk.verify.transcript)}”</p>' if chunk.verify else ""
        items.append(f'<article class="chunk" id="chunk-{chunk.id}"><h3>{chunk.id} · chapter {chapter.index} · '
                     f"at {clock(chunk.start)}</h3><p class=why>{escape('; '.join(why))}</p>"
                     f"<p>{escape(chunk.text)}</p>{heard}{player(href(cache.wav_path(chunk.key), folder))}"
                     f"<p><code>{escape(redo_command(folder, chunk.id))}</code></p></article>")
    return f'<section id="flagged"><h2>Flagged chunks ({len(flagged)})</h2>{"".join(items)}</section>'


def redo_command(folder: Path, chunk_id: str) -> str:
    """The command a reviewer pastes into a shell: every word quoted, so a folder named `chapters 1-2` or
    `$(...)` is one argument and nothing in it runs."""
    return shlex.join(["pocket-batch", "redo", str(folder), "--chunk", chunk_id])


def _redone(manifest: Manifest) -> str:
    if not manifest.redone:
        return ""
    rows = "".join(f'<tr><td><a href="#chunk-{r.id}">{r.id}</a></td><td><code>{r.previous_key[:12]}</code></td>'
                   f"<td><code>{r.key[:12]}</code></td><td class=n>{r.attempt}</td><td class=n>{r.seed}</td></tr>"
                   for r in manifest.redone)
    return ('<section id="redone"><h2>Redone</h2><table><thead><tr><th>chunk</th><th>replaced take</th><th>new take</th>'
            f'<th>attempt</th><th>seed</th></tr></thead><tbody>{rows}</tbody></table></section>')


def write_corpus_report(target: Path, title: str, counts: Counter, durations: np.ndarray, left_out: Counter,
                        shown: list[dict], cache: AudioCache) -> None:
    """The dataset's page: utterances per voice and split, their lengths, and the left-out ones with their last take."""
    folder = target.parent
    voices = sorted({v for v, _ in counts} | set(left_out))
    splits = ("train", "validation", "test")
    table = "".join(f"<tr><td>{escape(v)}</td>" + "".join(f"<td class=n>{counts[v, s]}</td>" for s in splits)
                    + f"<td class=n>{left_out[v]}</td></tr>" for v in voices)
    failed = []
    for f in shown:
        last = f["attempts"][-1] if f["attempts"] else {}
        sound = player(href(cache.wav_path(last["key"]), folder)) if last.get("key") and cache.has(last["key"]) else ""
        failed.append(f'<article class="chunk" id="utterance-{escape(f["voice"])}-{escape(f["id"])}"><h3>{escape(f["id"])} · '
                      f'{escape(f["voice"])} · row {f["row"]}</h3><p class=why>'
                      + escape("; ".join(", ".join(a["flags"]) for a in f["attempts"])) + f"</p>{sound}</article>")
    total = sum(left_out.values())
    more = f"<p>The first {len(shown)} of {total}; left_out.jsonl lists them all.</p>" if total > len(shown) else ""
    hours = float(np.sum(durations)) / 3600
    body = [f"<header><h1>{escape(title)}</h1>",
            facts([("Utterances", f"{durations.size} kept ({hours:.3f} h), {total} left out after QA")]),
            "</header>",
            '<section id="voices"><h2>Utterances per voice and split</h2><table id="voice-table"><thead><tr><th>voice</th>'
            + "".join(f"<th>{s}</th>" for s in splits) + f"<th>left out</th></tr></thead><tbody>{table}</tbody></table></section>",
            '<section id="durations"><h2>Durations</h2>'
            + (histogram(durations, "seconds", "durations") if durations.size else "<p>No utterances.</p>")
            + "</section>",
            f'<section id="flagged"><h2>Left out ({total})</h2>' + ("".join(failed) or "<p>None.</p>") + more + "</section>"]
    with atomic_open(target) as f:
        f.write(page(f"Review: {title}", body))
