"""The corpus's card (README.md): what it is, where it came from, its voices, splits and layouts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pocket_batch.core.config import SYNTHETIC, CorpusConfig
from pocket_batch.core.files import atomic_open, sha256_file
from pocket_batch.postproc.corpus.splits import SPLITS
from pocket_batch.synth.model.source import ModelSource
from pocket_batch.synth.model.voices import Voice


def write_card(path: Path, config: CorpusConfig, source: ModelSource, voices: dict[str, Voice],
               counts: Counter, seconds: float, left_out: int, formats: list) -> None:
    numerics = config.model.numerics
    kept = sum(counts.values())
    lines = [
        "# Synthetic speech corpus", "",
        f"**{SYNTHETIC}** Every recording here is machine-generated; none is a human recording.", "",
        f"- Source: `{config.csv.name}` (sha256 `{sha256_file(config.csv)}`)",
        f"- Model: `{source.config_path}` (fingerprint `{source.fingerprint}`), backbone {numerics['backbone']}, "
        f"decoder {numerics['decoder']} (linear layers {numerics['decoder_linears']})",
        f"- Utterances: {kept} ({seconds / 3600:.3f} h) at {config.sample_rate} Hz, 16-bit mono, "
        f"evened to {config.target_lufs} LUFS under {config.ceiling} dBTP",
        "- Splits" + (" (by speaker: no voice in two splits)" if config.split_by == "speaker" else
                      " (by text: no text in two splits)") + ": "
        + ", ".join(f"{s} {sum(n for (_, split), n in counts.items() if split == s)}" for s in SPLITS),
        f"- Published only takes meeting `{config.keep}`" if config.keep else "- Published: every take that passed QA",
        f"- Left out after QA and {config.qa.retries} regeneration(s): {left_out} (left_out.jsonl has each with "
        "its reasons)", "",
        "## Voices", "",
    ]
    for name, voice in voices.items():
        count = sum(n for (v, _), n in counts.items() if v == name)
        if voice.kind == "clone":
            origin = (f"cloned from `{Path(voice.provenance['sample']).name}` with the consent of "
                      f"{voice.provenance['speaker']} (permitted use: {voice.provenance['permitted_use']}; consent "
                      f"record sha256 `{voice.provenance['consent_sha256']}`)")
        else:
            origin = f"Pocket TTS preset ({voice.provenance.get('origin', voice.name)}); see the Pocket TTS voices' licences"
        lines.append(f"- **{name}**: {count} utterances; {origin}")
    lines += ["", "## Layouts", "",
              "- `manifest.jsonl`: every utterance with its split, duration, voice, seed, cache key, model fingerprint, "
              "QA flags, word times (`words`, with verification) and the quality gates' scores: `status` (passed, or "
              "unverified where the recognizer cannot hear the voice), `wer`, `similarity` to the voice's reference, "
              "`pace` (voiced seconds a word), `snr_db`, `clipped`, `longest_pause`, `end_db` (and `mos_*` with the "
              "mos check). Every layout below carries the split and these scores."]
    lines += [f"- `{f.name}`: `{f.loader}`" for f in formats]
    with atomic_open(path) as f:
        f.write("\n".join(lines) + "\n")
