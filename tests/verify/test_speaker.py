"""The speaker encoder's bf16 path against its fp32 one, on real voices: the same similarities."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers.speech import utterances

from pocket_batch.verify.speaker import embed, similarity

pytestmark = pytest.mark.model  # the speaker encoder


def test_bf16_embeddings_give_fp32_similarities_across_voices():
    """Three espeak voices and a human reader: every pair's similarity within 0.01 of fp32's (0.005 measured),
    where one voice stands 0.1-0.3 from another: a voice's norms and its gate read the same on a CPU with
    native bf16 and on one without (tests/verify/test_gates.py judges with whichever this CPU uses)."""
    takes = [u for name in ("voices/f2", "voices/m3", "two_cities", "espeak") for u in utterances(name)[:4]]
    fp32 = [embed(u.audio, u.rate, bf16=False) for u in takes]
    bf16 = [embed(u.audio, u.rate, bf16=True) for u in takes]
    assert min(similarity(a, b) for a, b in zip(fp32, bf16)) > 0.999
    gaps = [abs(similarity(fp32[i], fp32[j]) - similarity(bf16[i], bf16[j]))
            for i, j in itertools.combinations(range(len(takes)), 2)]
    spread = np.ptp([similarity(fp32[i], fp32[j]) for i, j in itertools.combinations(range(len(takes)), 2)])
    assert max(gaps) < 0.01 and spread > 0.3  # the pairs range from one voice to another
