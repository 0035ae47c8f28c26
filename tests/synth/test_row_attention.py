"""The decoder's window attention in bands: each band reads only the keys its queries can see."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pocket_batch.synth.fast.internals import attention_mask
from pocket_batch.synth.fast.row_attention import bands


@pytest.mark.parametrize("queries,keys,context,size", [(256, 505, 250, 32), (256, 256, 250, 32), (16, 266, 250, 32),
                                                       (100, 400, 250, 7), (3, 3, 250, 32)])
def test_each_band_holds_every_key_its_queries_see_and_gives_the_same_attention(queries, keys, context, size):
    positions = torch.arange(keys - queries, keys)[None]  # the last `queries` positions, as a decode call's
    mask = attention_mask(positions, torch.arange(keys)[None], context)[0, 0]  # pocket-tts's own
    cut = bands(queries, keys, context, size)
    assert [a for a, *_ in cut] == list(range(0, queries, size)) and cut[-1][1] == queries
    for a, z, first, last in cut:
        assert mask[a:z, first:last].any(0).all()  # every key read is seen by some query of the band
        assert not mask[a:z, :first].any() and not mask[a:z, last:].any()  # and none left out is seen by any
    g = torch.Generator().manual_seed(keys)
    q, k, v = (torch.randn(1, 8, n, 64, generator=g) for n in (queries, keys, keys))
    whole = F.scaled_dot_product_attention(q, k, v, mask)
    banded = torch.cat([F.scaled_dot_product_attention(q[:, :, a:z], k[:, :, first:last], v[:, :, first:last],
                                                       mask[a:z, first:last]) for a, z, first, last in cut], dim=2)
    assert float((banded - whole).abs().max()) < 1e-6
