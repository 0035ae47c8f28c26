"""Continuous batching inside one worker: B chunks generated and decoded together, step by step.

pocket-tts generates one chunk at a time: every step streams the whole backbone's
weights for one row, and its KV cache keeps one write position for all rows. Here
the same modules run B rows at once, each row with its own position: a row's keys
and values are written at its own offset, its queries rotated by its own RoPE
position and masked to its own past. A finished row (EOS plus its frames after
EOS, or the max length) leaves at once and the next chunk takes its slot, so the
batch stays full. Linear layers run on all B rows at once, pocket-tts's int8 ones
with each row quantized on its own (Int8PerRow), as a single-chunk call would.

A finished row's latents are then decoded by Mimi on their own, DECODE_FRAMES at a
time: the decoder's convolutions cost the same per row whether rows share a call
or not, and a row decoded alone needs no decoder state while it is still generating.
Its transformer reads only its context window (250 steps in the released model),
where pocket-tts reads the row's whole past and masks most of it away (a cost that
grows with the chunk); its SEANet convolutions run channels-last (seanet.py).

Each row replays what `generate_audio` does for that chunk alone: pocket-tts's prefill
(voice state + text prompt), its own noise generator seeded like the single path
(one draw for the prompt step, one per frame), the same EOS rule, and Mimi decoding
with the same 5 ms fade-in; a chunk it would split into several generations, piece
after piece in the same row. Only float rounding differs (wider matrix products,
masked attention over a longer cache, several latent frames per decoder call, and
in int8 each row's quantization computed outside fbgemm).
"""

from __future__ import annotations

import copy
import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from torch.nn import functional as F

from pocket_batch.synth.internals import (attention_mask, expand_kv_cache, feed_forward, flow_decoder, flow_lm_end,
                                          init_states, max_gen_len, min_frames_before_eos, module_name,
                                          packed_weight_bias, per_tensor_quantized, prefill,
                                          prepare_text_prompt, to_encoder_framerate)
from pocket_batch.synth.seanet import ChannelsLastDecoder


# Latent frames per Mimi call. One core, full-size decoder, 160 frames: 4 to 32 frames a call all
# measured 10-12 ms per frame; 1 frame a call (pocket-tts frame by frame) 22.7.
DECODE_FRAMES = 16


@dataclass
class Request:
    """One chunk to generate: the prompt text pocket-tts would build, the voice state, the seed."""

    key: str
    text: str
    state: dict  # the voice's model state (not modified)
    seed: int
    # The pieces after `text` when pocket-tts would split the chunk into several generations: each
    # runs in the same row once the one before it ends, from the voice state, its noise going on
    # from the same generator (as generate_audio's global one does); their audio is joined.
    then: tuple[str, ...] = ()


@runtime_checkable
class Requests(Protocol):
    closed: bool  # stop now, rows in flight or not

    def take(self, wait: bool) -> Request | None:
        """The next request; None if there is none now (`wait`: none will come)."""


class _Listed:
    closed = False

    def __init__(self, requests: Iterable[Request]):
        self.todo = deque(requests)

    def take(self, wait: bool) -> Request | None:
        return self.todo.popleft() if self.todo else None


@dataclass
class _Row:
    request: Request
    generator: torch.Generator
    pieces: deque[str]  # the texts still to generate after the one running
    max_gen_len: int = 0
    frames_after_eos: int = 0
    step: int = 0
    eos_step: int | None = None
    latents: list[torch.Tensor] = field(default_factory=list)
    audio: list[torch.Tensor] = field(default_factory=list)  # the pieces done
    max_length: bool = False  # a piece done reached its max length
    admitted: float = field(default_factory=time.perf_counter)


class RowAttention:
    """Per-row KV caches for every attention layer of one transformer: positions differ by row.

    Each row holds its own cache, one [2, 1, H, T, D] tensor per layer (pocket-tts's [2, 1, T, H, D]
    with heads first: a head's keys are then contiguous, and attention reads them in place, a
    third faster than through a transposed view, with the same result), sized for that row alone: memory is the sum of the rows in flight, not the batch times
    the longest row. With a context, a row's cache need only hold its window: once full,
    the positions still in the window move to its front (`bases`: the position at index 0).
    """

    def __init__(self, layers, batch: int, context: int | None, dtype: torch.dtype = torch.float32):
        self.layers = list(layers)
        self.context = context
        self.dtype = dtype
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

    def forward(self, x: torch.Tensor, active: list[int]) -> torch.Tensor:
        """All layers for `t` new positions per row; then every row's offset advances by `t`.

        Linear layers run on all B rows at once (that is the point: weights are read once a
        step; int8 ones quantize each row on its own, see Int8PerRow); attention runs row by row
        over exactly that row's past, with pocket-tts's own mask, so a row's result never
        depends on which chunks share its batch.
        """
        positions = self.offsets[:, None] + torch.arange(x.shape[1])[None, :]  # [B, t]
        windows = {}  # the same for every layer: the cache indices each row reads, and its mask
        for row in active:
            start, end, mask = self._window(positions[row: row + 1])
            first = self._slide(row, start, end)
            windows[row] = (first, first + end - start, mask)
        for n, layer in enumerate(self.layers):
            update = self._attend(layer.self_attn, layer.norm1(x), n, positions, windows)
            x = x.to(update) + layer.layer_scale_1(update)
            x = feed_forward(layer, x)
        self.offsets += x.shape[1]
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

    def _attend(self, attn, x: torch.Tensor, layer: int, positions: torch.Tensor,
                windows: dict[int, tuple[int, int, torch.Tensor | None]]) -> torch.Tensor:
        projected = attn.in_proj(x)
        b, t, _ = projected.shape
        d = attn.dim_per_head
        q = projected[..., : attn.attn_dim].view(b, t, attn.num_heads, d)
        k, v = torch.unbind(projected[..., attn.attn_dim:].view(b, t, 2, attn.num_kv_heads, d), dim=2)
        q, k = rope_rows(q, k, positions, attn.rope.max_period)
        q = q.transpose(1, 2)
        kv = torch.stack([k, v], dim=2)  # [B, t, 2, H, D]: each row's keys and values go in with one copy
        out = torch.zeros(b, attn.num_heads, t, d, dtype=q.dtype)
        for row, (start, end, mask) in windows.items():
            cache = self.caches[row][layer]  # only positions this row has written are read
            cache[:, 0, :, end - t: end] = kv[row].permute(1, 2, 0, 3)
            k_attn, v_attn = cache[0, :, :, start:end], cache[1, :, :, start:end]
            if attn.num_kv_heads != attn.num_heads:
                k_attn = k_attn.repeat_interleave(attn.num_heads // attn.num_kv_heads, dim=1)
                v_attn = v_attn.repeat_interleave(attn.num_heads // attn.num_kv_heads, dim=1)
            out[row: row + 1] = F.scaled_dot_product_attention(q[row: row + 1], k_attn, v_attn, mask, dropout_p=0.0)
        return attn.out_proj(out.transpose(1, 2).reshape(b, t, -1))


def rope_rows(q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor, max_period: float):
    """pocket-tts's apply_rope, with a position per row instead of one offset for the batch."""
    b, t, h, d = q.shape
    hk = k.shape[2]
    ds = torch.arange(d // 2, dtype=torch.float32)
    freqs = torch.exp(ds * (-math.log(max_period) * 2 / d))
    ts = positions.to(torch.float32).view(b, t, 1, 1)
    q = q.view(b, t, h, d // 2, 2)
    k = k.view(b, t, hk, d // 2, 2)
    qr, qi = q[..., 0].float(), q[..., 1].float()
    kr, ki = k[..., 0].float(), k[..., 1].float()
    rotr, roti = torch.cos(freqs * ts), torch.sin(freqs * ts)
    dtype = q.dtype
    qo = torch.stack([(qr * rotr - qi * roti).to(dtype), (qr * roti + qi * rotr).to(dtype)], dim=-1)
    ko = torch.stack([(kr * rotr - ki * roti).to(dtype), (kr * roti + ki * rotr).to(dtype)], dim=-1)
    return qo.view(b, t, h, d), ko.view(b, t, hk, d)


def int8_per_row(module: torch.nn.Module) -> None:
    """Swap every int8 Linear under `module` for an Int8PerRow with the same weights.

    pocket-tts's int8 (torch.ao dynamic quantization, fbgemm) picks one activation scale per
    call: on a batch, a row's rounding would depend on the rows beside it, and called a row at
    a time it reads the layer's weights once per row (16 rows: 16 x 150 us, where one call on
    all 16 takes 900 us). The swap is for good; the new layers use the old ones' fbgemm weights.
    """
    from torch.ao.nn.quantized.dynamic import Linear as DynamicInt8Linear

    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is DynamicInt8Linear:
                setattr(parent, name, Int8PerRow(child))


class Int8PerRow(torch.nn.Module):
    """An int8 Linear for a batch in one fbgemm call, each row quantized on its own.

    A row gets the scale and zero point fbgemm would choose for that row alone
    (ChooseQuantizationParams over [min, max] widened to 0, onto 0..127 as pocket-tts's
    reduce_range asks) and is rounded to those integers. fbgemm then multiplies all rows by
    the weights in one call: an anchor row holding 0 and 127 makes the call's own scale
    exactly 1 and zero point 0, so the integers go through unchanged, and the weights are
    packed again at scale 1, so fbgemm returns each output's integer sum itself (a 7-bit
    input times int8 weights, summed exactly in int32; exact in float32 below 2^24). Each row's
    zero point is then taken off those sums and the row scaled back with its own scale, in
    float32 as fbgemm does: its result depends on that row alone, and matches a single-row
    call up to float rounding. A handful of whole-tensor operations: the arithmetic around the
    product once took as long as the product.
    """

    QMAX = 127  # reduce_range: 7-bit activations, so fbgemm's int16 pair sums cannot saturate

    def __init__(self, layer):
        super().__init__()
        weight, bias = packed_weight_bias(layer)
        if weight.qscheme() != torch.per_tensor_affine:
            raise TypeError(f"int8 weights quantized {weight.qscheme()}; pocket-tts uses one scale per tensor")
        self.in_features, self.out_features = layer.in_features, layer.out_features
        self.weight_scale, self.weight_zero = weight.q_scale(), weight.q_zero_point()
        ints = weight.int_repr()
        # the same integers at scale 1: fbgemm's output is then the integer sums (the bias is added after)
        self.packed = torch.ops.quantized.linear_prepack(per_tensor_quantized(ints, 1.0, self.weight_zero), None)
        self.bias = None if bias is None else bias.detach()
        # per output, the sum of its weights around their zero point (summed as integers: no wide copy)
        self.weight_sums = (ints.sum(1, dtype=torch.int64) - self.in_features * self.weight_zero).float()
        self.inputs: torch.Tensor | None = None  # fbgemm's input: the rows' integers, then the anchor

    def weight(self) -> torch.Tensor:
        """The int8 weights at their scale, as torch.ao's Linear.weight() (pocket-tts reads its device)."""
        ints = torch.ops.quantized.linear_unpack(self.packed)[0].int_repr()
        return per_tensor_quantized(ints, self.weight_scale, self.weight_zero)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per row"

    def _input(self, batch: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        """fbgemm's input for `rows` rows (the rows' integers, then the anchor), and the rows' part as [batch, -1].
        One kept, for the last size asked: a step's, every step; a prefill's differs with each prompt."""
        if self.inputs is None or self.inputs.shape[0] != rows + 1:
            self.inputs = torch.zeros(rows + 1, self.in_features)
            self.inputs[rows, 0] = self.QMAX
        return self.inputs, self.inputs[:-1].view(batch, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, k = x.shape[0], x.shape[-1]
        flat = x.reshape(batch, -1)  # a row's scale covers all its positions, as one stock call's does
        low = flat.amin(1).clamp_(max=0)  # (torch.aminmax: the same, 8x slower here)
        high = flat.amax(1).clamp_(min=0)
        inverse, zero, scale = (torch.from_numpy(a)[:, None] for a in _row_quantization(low.numpy(), high.numpy(),
                                                                                         self.QMAX, self.weight_scale))
        inputs, q = self._input(batch, flat.numel() // k)
        torch.mul(flat, inverse, out=q)
        q.add_(zero).round_().clamp_(0, self.QMAX)
        sums = torch.ops.quantized.linear_dynamic(inputs, self.packed, True)[:-1].view(batch, -1, self.out_features)
        out = sums.addcmul_(zero[:, :, None], self.weight_sums, value=-1).mul_(scale[:, :, None])
        if self.bias is not None:
            out += self.bias
        return out.view(*x.shape[:-1], self.out_features)


def _row_quantization(low: np.ndarray, high: np.ndarray, qmax: int, weight_scale: float):
    """Per row, from its [min, max] widened to 0 (float32): fbgemm's ChooseQuantizationParams, in double as it
    computes them, and what Int8PerRow needs of them as float32: 1 / scale, the zero point, scale x the weights'.
    In numpy: on a batch's 16 values, a tenth of the time of the same operations as torch tensors."""
    low, high = low.astype(np.float64), high.astype(np.float64)
    scale = ((high - low) / qmax).astype(np.float32)
    with np.errstate(divide="ignore"):
        scale = np.where((scale == 0) | np.isinf(np.float32(1) / scale), np.float32(0.1), scale)
    wide = scale.astype(np.float64)
    # the zero point from whichever end of the range rounds with the smaller error, as fbgemm
    zero = np.where(np.abs(low / wide) < qmax + np.abs(high / wide), -low / wide, qmax - high / wide)
    zero = np.round(np.clip(zero, 0, qmax)).astype(np.float32)
    return np.float32(1) / scale, zero, scale * np.float32(weight_scale)


class BatchedGenerator:
    """Generates many chunks with one TTSModel, `batch` rows at a time."""

    def __init__(self, model, batch: int, decoder_dtype: torch.dtype = torch.float32):
        int8_per_row(model.flow_lm)
        self.model = model
        self.batch = batch
        fl, mimi = model.flow_lm, model.mimi
        self.mimi_steps = int(mimi.encoder_frame_rate / mimi.frame_rate)
        self.fade_in = torch.linspace(0, 1, model.config.mimi.sample_rate // 200)
        self.flow = RowAttention(fl.transformer.layers, batch, None)
        # The decoder's transformer and SEANet in `decoder_dtype` (bf16: a copy; the upsampler stays fp32).
        self.decoder_dtype = decoder_dtype
        self.decoder_transformer = mimi.decoder_transformer
        if decoder_dtype != torch.float32:
            self.decoder_transformer = copy.deepcopy(mimi.decoder_transformer).to(decoder_dtype)
        self.seanet = ChannelsLastDecoder(mimi.decoder, decoder_dtype)
        self.ldim = fl.ldim

    # -- admission -----------------------------------------------------------------------

    def _prefill(self, row: _Row) -> tuple[list[torch.Tensor], int]:
        """What the stock path does before a piece's first frame, for one row; returns its caches and offset."""
        model = self.model
        text, guess = prepare_text_prompt(row.pieces.popleft(), model)
        row.frames_after_eos = model.model_recommended_frames_after_eos
        if row.frames_after_eos is None:
            row.frames_after_eos = guess + 2
        state = copy.deepcopy(row.request.state)
        prepared = model.flow_lm.conditioner.prepare(text)
        row.max_gen_len = max_gen_len(model, prepared.shape[1])
        current = flow_lm_end(model, state)
        expand_kv_cache(model, state, current + prepared.shape[1] + row.max_gen_len)
        with _rng_from(row.generator):  # the prompt step draws (and discards) one noise sample, as stock does
            prefill(model, state, prepared)
        layers = model.flow_lm.transformer.layers
        caches = [state[module_name(layer.self_attn)]["cache"] for layer in layers]
        return caches, flow_lm_end(model, state)

    def _admit(self, slot: int, request: Request) -> _Row:
        row = _Row(request, torch.Generator().manual_seed(request.seed), deque((request.text, *request.then)))
        self._start_piece(slot, row)
        return row

    def _start_piece(self, slot: int, row: _Row) -> None:
        caches, offset = self._prefill(row)
        self.flow.load_row(slot, caches, offset)  # pocket-tts sized them for the row's max length
        row.step, row.eos_step, row.latents = 0, None, []

    # -- the loop ------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, requests: Iterable[Request] | Requests) -> Iterator[tuple[Request, torch.Tensor, bool, float]]:
        """Yields (request, audio [samples], reached max length, seconds in the batch) as each row finishes.

        A free row takes the next request at once, from a list or from a feed that more may reach while
        rows run (synth/feed.py); with no row in flight, the loop waits on the feed, and ends when it closes.
        """
        todo = requests if isinstance(requests, Requests) else _Listed(requests)
        rows: list[_Row | None] = [None] * self.batch
        latents = torch.full((self.batch, 1, self.ldim), float("nan"))  # NaN: BOS, as in pocket-tts
        while not todo.closed:
            for slot in range(self.batch):
                if rows[slot] is None:
                    request = todo.take(wait=not any(rows))
                    if request is None:
                        break
                    rows[slot] = self._admit(slot, request)
                    latents[slot] = float("nan")
            active = [slot for slot, row in enumerate(rows) if row is not None]
            if not active:
                return
            # Empty slots stay in the step: MKL picks its fp32 kernel by the number of rows, and a row's
            # rounding changed with it (measured: a 1024 -> 1 product differs unless rows % 4 == 0),
            # so running only the rows in flight would make a chunk's audio depend on its neighbours.
            next_latents, eos = self._flow_step(latents, rows, active)
            for slot in active:
                row = rows[slot]
                if bool(eos[slot]) and row.eos_step is None and row.step >= min_frames_before_eos(self.model):
                    row.eos_step = row.step
                if row.eos_step is not None and row.step >= row.eos_step + row.frames_after_eos:
                    yield from self._finish(slot, rows, latents, max_length=False)
                    continue
                latents[slot] = next_latents[slot]
                row.latents.append(next_latents[slot])
                row.step += 1
                if row.step >= row.max_gen_len:
                    yield from self._finish(slot, rows, latents, max_length=True)

    def _finish(self, slot: int, rows: list, latents: torch.Tensor,
                max_length: bool) -> Iterator[tuple[Request, torch.Tensor, bool, float]]:
        """A piece has ended: its audio decoded, then the row's next piece started in its slot, or the row's
        whole audio yielded and the slot freed."""
        row = rows[slot]
        self.flow.reset_row(slot)  # its cache goes now, before the next prefill allocates one
        row.audio.append(self._decode(torch.cat(row.latents)[None]) if row.latents else torch.zeros(0))
        row.max_length |= max_length
        if row.pieces:
            self._start_piece(slot, row)
            latents[slot] = float("nan")
            return
        rows[slot] = None
        audio = row.audio[0] if len(row.audio) == 1 else torch.cat(row.audio)
        yield row.request, audio, row.max_length, time.perf_counter() - row.admitted

    def _flow_step(self, latents: torch.Tensor, rows: list, active: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """One frame for every row: backbone, EOS head and one-step flow, noise from each row's generator."""
        fl, model = self.model.flow_lm, self.model
        sequence = torch.where(torch.isnan(latents), fl.bos_emb, latents)
        x = self.flow.forward(fl.input_linear(sequence), active)
        x = fl.out_norm(x)
        if fl.z_proj is not None:
            x = fl.z_proj(x)
        out = x.to(torch.float32)[:, -1]
        eos = (fl.out_eos(out) > model.eos_threshold)[:, 0]
        std = model.temp ** 0.5
        noise = torch.zeros(self.batch, self.ldim)
        for slot, row in enumerate(rows):
            if row is not None:
                noise[slot : slot + 1] = _draw_noise((1, self.ldim), std, model.noise_clamp, row.generator)
        latent = flow_decoder(fl.flow_type)(lambda *args: fl.flow_net(out, *args), noise, model.sampler_decode_steps)
        return latent[:, None, :], eos

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        """One row's latents [1, T, ldim] to audio, DECODE_FRAMES at a time, with the 5 ms fade-in stock applies.

        pocket-tts's own decoder modules, but its transformer's attention through RowAttention,
        which reads only its context window (250 steps in the released model) instead of the
        row's whole past, and its SEANet layers channels-last.
        """
        fl, mimi = self.model.flow_lm, self.model.mimi
        tf = self.decoder_transformer
        conv_state = init_states(mimi, batch_size=1, sequence_length=0)  # for the upsampler; attention's goes unused
        seanet_state = self.seanet.initial()
        attention = RowAttention(tf.transformer.layers, 1, tf.transformer.context, self.decoder_dtype)
        attention.new_row(0, latents.shape[1] * self.mimi_steps, DECODE_FRAMES * self.mimi_steps)
        pieces = []
        for start in range(0, latents.shape[1], DECODE_FRAMES):
            x = mimi.quantizer((latents[:, start: start + DECODE_FRAMES] * fl.emb_std + fl.emb_mean).transpose(-1, -2))
            x = to_encoder_framerate(mimi, x, conv_state).transpose(1, 2).to(self.decoder_dtype)
            if tf.input_proj is not None:
                x = tf.input_proj(x)
            x = attention.forward(x, [0])
            pieces.append(self.seanet(tf.output_projs[0](x).transpose(1, 2), seanet_state))
        audio = torch.cat(pieces)
        n = min(self.fade_in.numel(), audio.shape[-1])
        audio[:n] *= self.fade_in[:n]
        return audio


def _draw_noise(shape, std: float, clamp: float | None, generator: torch.Generator) -> torch.Tensor:
    noise = torch.empty(shape)
    if clamp is None:
        return noise.normal_(0.0, std, generator=generator)
    return torch.nn.init.trunc_normal_(noise, mean=0.0, std=std, a=-clamp, b=clamp, generator=generator)


class _rng_from:
    """Run pocket-tts code that draws from torch's global generator on a row's own generator instead."""

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def __enter__(self):
        self.saved = torch.get_rng_state()
        torch.set_rng_state(self.generator.get_state())

    def __exit__(self, *exc):
        self.generator.set_state(torch.get_rng_state())
        torch.set_rng_state(self.saved)
