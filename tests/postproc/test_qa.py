"""Model-free QA of an utterance, and the corpus split rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pocket_batch.core.config import SAMPLE_RATE, CorpusConfig, QAOptions
from pocket_batch.postproc.corpus.splits import SPLITS, plan_splits
from pocket_batch.postproc.qa import failing, qa_flags, silence_ratio

QA = QAOptions()


def speech_like(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.standard_normal(int(seconds * SAMPLE_RATE)) * 0.1).astype(np.float32)


def flags(x: np.ndarray, tokens: int = 20, max_length: bool = False) -> list[str]:
    return qa_flags(x, SAMPLE_RATE, tokens, max_length, QA)


def test_a_clean_take_has_no_flags():
    assert flags(speech_like(3.0)) == []


def test_each_problem_gets_its_flag():
    assert flags(speech_like(0.5))[0].startswith("too fast")  # 0.025 s a token
    assert flags(speech_like(30.0))[0].startswith("too slow")  # 1.5 s a token
    clipped = speech_like(3.0)
    clipped[:50] = 1.0
    assert flags(clipped) == ["clipping: 50 samples"]
    silent_lead = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.float32), speech_like(3.0)])
    assert "leading silence: 1.98 s" in flags(silent_lead)
    silent_tail = np.concatenate([speech_like(2.0), np.zeros(3 * SAMPLE_RATE, np.float32)])
    assert any(f.startswith("trailing silence") for f in flags(silent_tail))
    assert any(f.startswith("mostly silence") for f in flags(silent_tail))
    assert flags(speech_like(3.0), max_length=True) == ["max length reached without EOS"]


def test_max_length_fails_a_take_unless_asked_to_flag_it():
    found = ["max length reached without EOS", "clipping: 50 samples"]
    assert failing(found, QAOptions(max_length="fail")) == found
    assert failing(found, QAOptions(max_length="flag")) == ["clipping: 50 samples"]


def test_silence_ratio_of_silence_and_of_sound():
    assert silence_ratio(np.zeros(SAMPLE_RATE, np.float32)) == 1.0
    assert silence_ratio(speech_like(1.0)) == 0.0


def assign_splits(texts: list[str], config: CorpusConfig) -> dict[str, str]:
    plan = plan_splits(texts, config.splits, config.split_seed)
    return {text: plan(text) for text in texts}


def test_splits_follow_the_ratios_and_never_move_a_text():
    config = CorpusConfig(csv=Path("p.csv"))
    texts = [f"utterance number {n}" for n in range(4000)]
    splits = assign_splits(texts, config)
    picked = [splits[t] for t in texts]
    share = {s: picked.count(s) / len(texts) for s in SPLITS}
    assert abs(share["train"] - 0.9) < 0.02 and abs(share["validation"] - 0.05) < 0.015
    more = assign_splits(texts + [f"an appended line {n}" for n in range(500)], config)
    assert [more[t] for t in texts] == picked  # a text stays in its split as rows are appended
    reseeded = assign_splits(texts, config.model_copy(update={"split_seed": 1}))
    assert [reseeded[t] for t in texts] != picked


@pytest.mark.parametrize("count", [3, 5, 20, 40])
def test_9_every_split_the_card_names_has_a_row_however_few_texts(count):
    config = CorpusConfig(csv=Path("p.csv"))
    texts = [f"prompt {n}" for n in range(count)]
    splits = assign_splits(texts + texts[:2], config)  # a text twice (two voices) is one text, in one split
    assert set(splits) == set(texts) and set(splits.values()) == set(SPLITS)
    assert set(assign_splits(texts[:2], config).values()) <= set(SPLITS)  # fewer texts than splits: no demand
