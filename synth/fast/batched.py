"""Continuous batching inside one worker: B chunks generated and decoded together, step by step.

pocket-tts generates one chunk at a time: every step streams the whole backbone's
weights for one row, and its KV cache keeps one write position for all rows. Here
the same modules run B rows at once, each row with its own position (row_attention.py):
a row's keys and values are written at its own offset, its queries rotated by its own
RoPE position and masked to its own past. A finished row (EOS plus its frames after
EOS, or the max length) leaves at once and the next chunk takes its slot, so the
batch stays full, as long as the rows' KV caches fit the generator's budget (a long
voice's rows are large: fewer run at once). Linear layers run on all B rows at once,
pocket-tts's int8 ones with each row quantized on its own (int8_rows.py), as a
single-chunk call would.

A finished row's latents are then decoded by Mimi on their own, DECODE_FRAMES at a
time: the decoder's convolutions cost the same per row whether rows share a call
or not, and a row decoded alone needs no decoder state while it is still generating.
Its transformer reads only its context window (250 steps in the released model),
where pocket-tts reads the row's whole past and masks most of it away (a cost that
grows with the chunk), and a band of queries at a time only the keys that band sees
(row_attention.py); its SEANet convolutions run channels-last (seanet.py).

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
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch

from pocket_batch.synth.fast.activations import gelu_tanh
from pocket_batch.synth.fast.int8_rows import Int8PerRow, int8_per_row, int8_per_step
from pocket_batch.synth.fast.internals import (expand_kv_cache, flow_decoder, flow_lm_end, init_states, max_gen_len,
                                          min_frames_before_eos, module_name, prefill, prepare_text_prompt,
                                          to_encoder_framerate)
from pocket_batch.synth.fast.row_attention import RowAttention
from pocket_batch.synth.fast.seanet import ChannelsLastDecoder


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
    cache_bytes: int = 0  # its KV caches at its largest piece: what it holds of the generator's budget


class BatchedGenerator:
    """Generates many chunks with one TTSModel, `batch` rows at a time."""

    def __init__(self, model, batch: int, decoder_dtype: torch.dtype = torch.float32, cache_bytes: int | None = None,
                 decoder_int8: bool = False, seanet_int8: bool = False):
        """`cache_bytes`: the KV caches the rows in flight may hold together; a row that would pass it waits
        for others to finish (a row alone always runs). None: `batch` rows, however long their voices.
        `decoder_int8`: the decoder transformer's linear layers in int8, each time step quantized on its own;
        `seanet_int8`: its SEANet's convolutions in int8 (seanet.py)."""
        int8_per_row(model.flow_lm)
        self.model = model
        self.batch = batch
        self.cache_bytes = cache_bytes
        self.peak_cache_bytes = 0  # the most the rows in flight have held at once
        fl, mimi = model.flow_lm, model.mimi
        self.mimi_steps = int(mimi.encoder_frame_rate / mimi.frame_rate)
        self.fade_in = torch.linspace(0, 1, model.config.mimi.sample_rate // 200)
        self.flow = RowAttention(fl.transformer.layers, batch, None)
        self.sizes = exact_sizes(fl, batch)
        # The decoder's transformer and SEANet in `decoder_dtype`, the transformer's linear layers perhaps in
        # int8 (either: a copy, rounded from the fp32 weights; the upsampler stays fp32).
        self.decoder_dtype = decoder_dtype
        self.decoder_transformer = mimi.decoder_transformer
        if decoder_dtype != torch.float32 or decoder_int8:
            self.decoder_transformer = copy.deepcopy(mimi.decoder_transformer)
            if decoder_int8:
                int8_per_step(self.decoder_transformer.transformer)
            self.decoder_transformer.to(decoder_dtype)  # what stays float: norms, layer scales
        self.seanet = ChannelsLastDecoder(mimi.decoder, decoder_dtype, DECODE_FRAMES * self.mimi_steps, seanet_int8)
        self.ldim = fl.ldim

    @classmethod
    def settled(cls, model, batch: int, options, cache_bytes: int | None = None):
        """The generator for settled ModelOptions (`Synthesis.on`): the decoder in their formats."""
        dtype = torch.bfloat16 if options.decoder == "bf16" else torch.float32
        return cls(model, batch, dtype, cache_bytes, bool(options.decoder_int8), bool(options.seanet_int8))

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

    def _cache_size(self, request: Request) -> int:
        """The bytes of KV cache a request's row will hold: prefill sizes a piece's caches for the voice, its
        text and its max length, and the largest piece counts (each replaces the one before)."""
        model = self.model
        caches = [request.state[module_name(layer.self_attn)]["cache"] for layer in model.flow_lm.transformer.layers]
        voice = flow_lm_end(model, request.state)
        longest = 0
        for piece in (request.text, *request.then):
            tokens = model.flow_lm.conditioner.prepare(prepare_text_prompt(piece, model)[0]).shape[1]
            longest = max(longest, voice + tokens + max_gen_len(model, tokens))
        return sum(c[:, :, :1].numel() * c.element_size() * max(c.shape[2], longest) for c in caches)

    @staticmethod
    def _held(rows: list) -> int:
        return sum(row.cache_bytes for row in rows if row is not None)

    def _fits(self, need: int, rows: list) -> bool:
        return not any(rows) or self.cache_bytes is None or self._held(rows) + need <= self.cache_bytes

    def _admit(self, slot: int, request: Request, cache_bytes: int) -> _Row:
        row = _Row(request, torch.Generator().manual_seed(request.seed), deque((request.text, *request.then)),
                   cache_bytes=cache_bytes)
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
        rows run (synth/pool/feed.py); with no row in flight, the loop waits on the feed, and ends when it closes.
        """
        todo = requests if isinstance(requests, Requests) else _Listed(requests)
        rows: list[_Row | None] = [None] * self.batch
        latents = torch.full((self.batch, 1, self.ldim), float("nan"))  # NaN: BOS, as in pocket-tts
        waiting: tuple[Request, int] | None = None  # taken, and waiting for cache memory
        while not todo.closed:
            for slot in range(self.batch):
                if rows[slot] is None:
                    if waiting is None:
                        request = todo.take(wait=not any(rows))
                        if request is None:
                            break
                        waiting = request, self._cache_size(request)
                    if not self._fits(waiting[1], rows):
                        break
                    rows[slot] = self._admit(slot, *waiting)
                    latents[slot] = float("nan")
                    waiting = None
                    self.peak_cache_bytes = max(self.peak_cache_bytes, self._held(rows))
            active = [slot for slot, row in enumerate(rows) if row is not None]
            if not active:
                return
            next_latents, eos = self._flow_step(latents, rows, active)
            for i, slot in enumerate(active):
                row = rows[slot]
                if bool(eos[i]) and row.eos_step is None and row.step >= min_frames_before_eos(self.model):
                    row.eos_step = row.step
                if row.eos_step is not None and row.step >= row.eos_step + row.frames_after_eos:
                    yield from self._finish(slot, rows, latents, max_length=False)
                    continue
                latents[slot] = next_latents[i]
                row.latents.append(next_latents[i])
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
        """One frame for every row in flight: backbone, EOS head and one-step flow, noise from each row's
        generator. Returns the new latents and EOS flags in the order of `active`."""
        fl, model = self.model.flow_lm, self.model
        # Empty slots fill the step out to the next size at which every row rounds as in a full step
        # (exact_sizes), so a row's audio never depends on how many others are in flight.
        size = next(n for n in self.sizes if n >= len(active))
        slots = active + [slot for slot, row in enumerate(rows) if row is None][: size - len(active)]
        sequence = latents[slots]
        sequence = torch.where(torch.isnan(sequence), fl.bos_emb, sequence)
        x = self.flow.forward(fl.input_linear(sequence), active)
        x = fl.out_norm(x)
        if fl.z_proj is not None:
            x = fl.z_proj(x)
        out = x.to(torch.float32)[:, -1]
        eos = (fl.out_eos(out) > model.eos_threshold)[:, 0]
        std = model.temp ** 0.5
        noise = torch.zeros(size, self.ldim)
        for i, slot in enumerate(active):
            noise[i: i + 1] = _draw_noise((1, self.ldim), std, model.noise_clamp, rows[slot].generator)
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
        attention = RowAttention(tf.transformer.layers, 1, tf.transformer.context, self.decoder_dtype, gelu_tanh())
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


def exact_sizes(module: torch.nn.Module, batch: int) -> list[int]:
    """The row counts, up to `batch`, at which each row's result through every linear layer of `module`
    is bit for bit its result in a call of `batch` rows: the sizes a step may shrink to as rows drain.

    Kernels pick their blocking by the number of rows: on AVX-512, MKL's fp32 products round a row
    alike at every multiple of 4 rows and differently at any other count. Which sizes agree depends on
    the CPU and the library, so they are tried here, on the machine that runs, with the layers' own shapes.
    """
    layers = [m for m in module.modules() if isinstance(m, (torch.nn.Linear, Int8PerRow))]
    generator = torch.Generator().manual_seed(0)
    # Several draws: a layer of one output (the EOS head) compares only n numbers a draw, and two
    # summation orders can round a few of them alike by chance.
    draws = [[torch.randn(batch, 1, layer.in_features, generator=generator) for layer in layers] for _ in range(8)]
    with torch.no_grad():
        full = [[layer(x) for layer, x in zip(layers, inputs)] for inputs in draws]

        def exact(n: int) -> bool:
            return all(torch.equal(layer(x[:n]), y[:n])
                       for inputs, outputs in zip(draws, full) for layer, x, y in zip(layers, inputs, outputs))

        return [n for n in range(1, batch) if exact(n)] + [batch]


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
