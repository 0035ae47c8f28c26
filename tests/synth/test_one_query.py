"""One query's attention over a row's cached past: PyTorch's attention, summed in another order."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from pocket_batch.synth.fast.one_query import attend

pytestmark = pytest.mark.slow  # numba compiles its loop


def reference(q: torch.Tensor, cache: torch.Tensor, start: int, end: int) -> torch.Tensor:
    keys, values = cache[0, :, :, start:end], cache[1, :, :, start:end]
    group = q.shape[0] // cache.shape[2]
    keys, values = keys.repeat_interleave(group, dim=1), values.repeat_interleave(group, dim=1)
    return F.scaled_dot_product_attention(q[None, :, None], keys, values)[0, :, 0]


@pytest.mark.parametrize("kv_heads", [16, 4])
@pytest.mark.parametrize("start,end", [(0, 1), (0, 300), (37, 420), (0, 512)])
def test_matches_pytorchs_attention_over_the_positions_asked(kv_heads, start, end):
    g = torch.Generator().manual_seed(end)
    cache = torch.randn(2, 1, kv_heads, 512, 64, generator=g) * 2  # positions past `end`: never read
    q = torch.randn(16, 64, generator=g) * 2
    out = torch.full((16, 64), float("nan"))
    attend(q, cache, start, end, out)
    expected = reference(q, cache, start, end)
    assert float((out - expected).abs().max()) < 1e-5 * float(expected.abs().max())


def test_reads_only_positions_start_to_end_and_writes_only_out():
    g = torch.Generator().manual_seed(0)
    cache, q = torch.randn(2, 1, 16, 64, 64, generator=g), torch.randn(16, 64, generator=g)
    before, kept = cache.clone(), q.clone()
    out = torch.empty(16, 64)
    attend(q, cache, 8, 40, out)
    assert torch.equal(cache, before) and torch.equal(q, kept)
    changed = cache.clone()
    changed[:, :, :, :8] = changed[:, :, :, 40:] = float("nan")
    again = torch.empty(16, 64)
    attend(q, changed, 8, 40, again)
    assert torch.equal(out, again)


def test_a_strided_query_into_one_row_of_a_batchs_output_gives_the_same_bits():
    g = torch.Generator().manual_seed(2)
    cache = torch.randn(2, 1, 16, 100, 64, generator=g)
    q = torch.randn(64, 16, generator=g).t()  # [H, D], its last dimension strided
    out = torch.zeros(3, 16, 1, 64)  # [B, H, t=1, D], as _attend holds it
    attend(q, cache, 0, 100, out[1, :, 0])
    alone = torch.empty(16, 64)
    attend(q.contiguous(), cache, 0, 100, alone)
    assert torch.equal(out[1, :, 0], alone) and not out[0].any() and not out[2].any()
