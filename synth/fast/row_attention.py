"""Attention with a position per row: B chunks at different points of their generation in one batch.

pocket-tts's KV cache keeps one write position for all rows; here each row has its own cache,
offset and RoPE position, and attends over exactly its own past, so its result never depends
on the rows beside it.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from pocket_batch.synth.fast import one_query
from pocket_batch.synth.fast.internals import attention_mask, feed_forward

# Queries a band of the context-window attention (Mimi's decoder) computes at once. One decode call's 256
# queries over the 505 keys their window spans: half of each query's keys are masked; in bands of 32 a
# query reads at most 281 (bf16, one core: 4.4 ms a call whole, 2.8 ms in bands of 32).
BAND = 32


class RowAttention:
    """Per-row KV caches for every attention layer of one transformer: positions differ by row.

    Each row holds its own cache, one [2, 1, H, T, D] tensor per layer (pocket-tts's [2, 1, T, H, D]
    with heads first: a head's keys are then contiguous, and attention reads them in place, a
    third faster than through a transposed view, with the same result), sized for that row alone:
    memory is the sum of the rows in flight, not the batch times the longest row. With a context,
    a row's cache need only hold its window: once full, the positions still in the window move to
    its front (`bases`: the position at index 0).
    """

    def __init__(self, layers, batch: int, context: int | None, dtype: torch.dtype = torch.float32, gelu=None):
        """`gelu`: the feed-forward's GELU in place of pocket-tts's own (the decoder's, synth/fast/activations.py)."""
        self.layers = list(layers)
        self.context = context
        self.dtype = dtype
        self.gelu = gelu
        self.offsets = torch.zeros(batch, dtype=torch.long)
        self.caches: list[list[torch.Tensor] | None] = [None] * batch
        self.bases = [0] * batch

    def load_row(self, row: int, caches: list[torch.Tensor], offset: int) -> None:
        """Take over a row's caches ([2, 1, T, H, D], pocket-tts's), one per layer, `offset` positions written."""
        self.caches[row] = [cache.transpose(2, 3).contiguous() for cache in caches]
        self.offsets[row] = offset
        self.bases[row] = 0

    def new_row(self, row: int, positions: int, step: int) -> None:
        """An empty cache for `positions` in all, `step` new ones at a time: with a context, the window's worth."""
        if self.context is not None:
            positions = min(positions, self.context + step)
        self.caches[row] = [torch.empty(2, 1, layer.self_attn.num_kv_heads, positions, layer.self_attn.dim_per_head,
                                        dtype=self.dtype) for layer in self.layers]
        self.offsets[row] = 0
        self.bases[row] = 0

    def reset_row(self, row: int) -> None:
        self.caches[row] = None
        self.offsets[row] = 0

    def forward(self, x: torch.Tensor, slots: list[int]) -> torch.Tensor:
        """All layers for `t` new positions of the rows in `slots`; then those rows' offsets advance by `t`.

        Row i of `x` belongs to `slots[i]`; rows of `x` after the last slot only fill the batch out
        (they go through the linear layers, not attention). Linear layers run on all rows at once
        (that is the point: weights are read once a step; int8 ones quantize each row on its own,
        see Int8PerRow); attention runs row by row over exactly that row's past, with pocket-tts's
        own mask, so a row's result never depends on which chunks share its batch.
        """
        t = x.shape[1]
        positions = torch.zeros(x.shape[0], t, dtype=torch.long)
        positions[: len(slots)] = self.offsets[slots][:, None] + torch.arange(t)[None, :]
        windows = []  # the same for every layer: each row's slot, the cache indices it reads, and its mask
        for i, slot in enumerate(slots):
            start, end, mask = self._window(positions[i: i + 1])
            first = self._slide(slot, start, end)
            windows.append((slot, first, first + end - start, mask))
        attn = self.layers[0].self_attn  # every layer rotates by the same angles: computed once a call
        rotation = rope_rotation(positions, attn.dim_per_head, attn.rope.max_period)
        for n, layer in enumerate(self.layers):
            update = self._attend(layer.self_attn, layer.norm1(x), n, rotation, windows)
            x = x.to(update) + layer.layer_scale_1(update)
            x = feed_forward(layer, x, self.gelu)
        self.offsets[slots] += t
        return x

    def _window(self, positions: torch.Tensor) -> tuple[int, int, torch.Tensor | None]:
        """The positions [start, end) one row's queries can see, and pocket-tts's own mask over them.

        With a context (Mimi's 250 steps) only the last `context` positions are read: pocket-tts
        reads the whole past and masks all but those, so its cost grows with the chunk's length.
        A single query with no context sees its whole past: no mask (the same result, bit for bit).
        """
        first, last = int(positions[0, 0]), int(positions[0, -1])
        if self.context is None and first == last:
            return 0, last + 1, None
        start = 0 if self.context is None else max(0, first - self.context + 1)
        return start, last + 1, attention_mask(positions, torch.arange(start, last + 1)[None, :], self.context)

    def _slide(self, row: int, start: int, end: int) -> int:
        """The cache index of position `start`, after moving the window to the front if `end` would not fit."""
        base, caches = self.bases[row], self.caches[row]
        if end - base > caches[0].shape[3]:
            written = int(self.offsets[row])
            for cache in caches:
                cache[:, :, :, : written - start] = cache[:, :, :, start - base: written - base].clone()
            self.bases[row] = base = start
        return start - base

    def _attend(self, attn, x: torch.Tensor, layer: int, rotation: tuple[torch.Tensor, torch.Tensor],
                windows: list[tuple[int, int, int, torch.Tensor | None]]) -> torch.Tensor:
        projected = attn.in_proj(x)
        b, t, _ = projected.shape
        d = attn.dim_per_head
        q = projected[..., : attn.attn_dim].view(b, t, attn.num_heads, d)
        k, v = torch.unbind(projected[..., attn.attn_dim:].view(b, t, 2, attn.num_kv_heads, d), dim=2)
        q, k = rope_rows(q, k, rotation)
        q = q.transpose(1, 2)
        kv = torch.stack([k, v], dim=2)  # [B, t, 2, H, D]: each row's keys and values go in with one copy
        out = torch.zeros(b, attn.num_heads, t, d, dtype=q.dtype)
        for row, (slot, start, end, mask) in enumerate(windows):
            cache = self.caches[slot][layer]  # only positions this row has written are read
            cache[:, 0, :, end - t: end] = kv[row].permute(1, 2, 0, 3)
            if mask is None and q.dtype == torch.float32:  # one new position over all its past: the backbone's steps
                one_query.attend(q[row, :, 0], cache, start, end, out[row, :, 0])
                continue
            k_attn, v_attn = cache[0, :, :, start:end], cache[1, :, :, start:end]
            if attn.num_kv_heads != attn.num_heads:
                k_attn = k_attn.repeat_interleave(attn.num_heads // attn.num_kv_heads, dim=1)
                v_attn = v_attn.repeat_interleave(attn.num_heads // attn.num_kv_heads, dim=1)
            if self.context is None:
                out[row: row + 1] = F.scaled_dot_product_attention(q[row: row + 1], k_attn, v_attn, mask, dropout_p=0.0)
                continue
            for a, z, first, last in bands(t, end - start, self.context):  # each band reads only the keys it can see
                out[row: row + 1, :, a:z] = F.scaled_dot_product_attention(
                    q[row: row + 1, :, a:z], k_attn[..., first:last, :], v_attn[..., first:last, :],
                    mask[..., a:z, first:last], dropout_p=0.0)
        return attn.out_proj(out.transpose(1, 2).reshape(b, t, -1))


def bands(queries: int, keys: int, context: int, size: int = BAND) -> list[tuple[int, int, int, int]]:
    """The last `queries` of `keys` positions cut into bands of `size` queries: (first query, end, first key,
    end) of each, the keys being every one a query of the band sees within `context`. Any other key is masked
    for the whole band: leaving it out gives the same attention, at the cost of the keys the band sees."""
    past = keys - queries  # the key index of query 0
    return [(a, min(a + size, queries), max(0, past + a - context + 1), past + min(a + size, queries))
            for a in range(0, queries, size)]


def rope_rotation(positions: torch.Tensor, d: int, max_period: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The cosines and sines pocket-tts's apply_rope rotates by, for a position per row ([B, t])."""
    b, t = positions.shape
    ds = torch.arange(d // 2, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / d))
    ts = positions.to(torch.float32).view(b, t, 1, 1)
    return torch.cos(freqs * ts), torch.sin(freqs * ts)


def rope_rows(q: torch.Tensor, k: torch.Tensor, rotation: tuple[torch.Tensor, torch.Tensor]):
    """pocket-tts's apply_rope, with a position per row instead of one offset for the batch."""
    b, t, h, d = q.shape
    hk = k.shape[2]
    rotr, roti = rotation
    q = q.view(b, t, h, d // 2, 2)
    k = k.view(b, t, hk, d // 2, 2)
    qr, qi = q[..., 0].float(), q[..., 1].float()
    kr, ki = k[..., 0].float(), k[..., 1].float()
    dtype = q.dtype
    qo = torch.stack([(qr * rotr - qi * roti).to(dtype), (qr * roti + qi * rotr).to(dtype)], dim=-1)
    ko = torch.stack([(kr * rotr - ki * roti).to(dtype), (kr * roti + ki * rotr).to(dtype)], dim=-1)
    return qo.view(b, t, h, d), ko.view(b, t, hk, d)
