"""The one door to pocket-tts's and torch's internals: every name outside their public API that we use.

pocket-tts pins its public API (`TTSModel`, `export_model_state`); batched decoding
and the offline model need more of it: private functions and members, operators, and the
attribute paths of a loaded model's modules. Each is listed below, everything else reaches
them from here, and `missing()` (run by a test on a loaded model) says in one line each which
of them an installed pocket-tts or torch lacks, so an upgrade fails in one place.

    python -m pocket_batch.synth.fast.internals [CONFIG.yaml]   # one line per name checked

Imports are lazy: reading a book or `inspect` never pays for torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

# Module-level names: pocket-tts's modules (not in its __all__), and torch's private helpers.
MODULE_NAMES = {
    "pocket_tts.utils.utils": ("_ORIGINS_OF_PREDEFINED_VOICES",),
    "pocket_tts.utils.config": ("CONFIGS_DIR", "Config"),
    "pocket_tts.models.text_chunking": ("prepare_text_prompt", "split_into_best_sentences"),
    "pocket_tts.modules.text_conditioner": ("build_tokenizer",),
    "pocket_tts.modules.attention": ("_build_attention_mask",),
    "pocket_tts.modules.stateful_module": ("init_states", "StatefulModule"),
    "pocket_tts.modules.conv": ("StreamingConv1d", "StreamingConvTranspose1d"),
    "pocket_tts.modules.seanet": ("SEANetResnetBlock", "SEANetDecoder"),
    "pocket_tts.models.flow_lm": ("lsd_decode", "ot_decode", "drifting_decode", "pointwise_decode"),
    "pocket_tts.models.mimi": ("build_mimi",),
    "torch": ("_make_per_tensor_quantized_tensor",),
    "torch.ao.nn.quantized.dynamic": ("Linear",),  # pocket-tts's int8 layers, which Int8PerRow replaces
    "torch._C._nn": ("mkldnn_reorder_conv2d_weight",),
}
# Operators under torch.ops.<namespace>.
OP_NAMES = {"mkldnn": ("_convolution_pointwise", "_convolution_transpose_pointwise",
                       "_reorder_convolution_transpose_weight", "_is_mkldnn_bf16_supported"),
            "onednn": ("qlinear_prepack", "qlinear_pointwise"),  # Int8PerRow's sums where the CPU has AMX
            "quantized": ("linear_prepack", "linear_unpack", "linear_dynamic")}  # ... and through fbgemm elsewhere
# Private members of their classes.
CLASS_NAMES = {
    ("pocket_tts.models.tts_model", "TTSModel"): ("_estimate_max_gen_len", "_flow_lm_current_end", "_expand_kv_cache",
                                                  "_run_flow_lm_and_increment_step", "_MIN_FRAMES_BEFORE_EOS",
                                                  "_from_pydantic_config"),
    ("pocket_tts.models.mimi", "MimiModel"): ("_to_encoder_framerate",),
    ("pocket_tts.modules.transformer", "StreamingTransformerLayer"): ("_ff_block",),
    ("pocket_tts.modules.conv", "StreamingConv1d"): ("_effective_kernel_size",),
    ("torch.ao.nn.quantized.modules.linear", "LinearPackedParams"): ("_weight_bias",),
}
# Set on instances only: checked on a loaded model (`missing(model)`).
INSTANCE_NAMES = ("StatefulModule._module_absolute_name", "dynamic quantized Linear._packed_params")
# Attribute paths on a loaded TTSModel that batched generation reads ("*": every item of a list).
_ATTENTION = ("in_proj", "out_proj", "num_heads", "num_kv_heads", "dim_per_head", "rope.max_period")
_LAYER = ("norm1", "norm2", "linear1", "linear2", "layer_scale_1", "layer_scale_2",
          *(f"self_attn.{name}" for name in _ATTENTION))
MODEL_PATHS = (
    "temp", "eos_threshold", "noise_clamp", "sampler_decode_steps", "model_recommended_frames_after_eos",
    "max_decoder_frames_per_call", "config.mimi.sample_rate", "pad_with_spaces_for_short_inputs", "remove_semicolons",
    "append_terminal_punctuation", "capitalize_first_letter", "replace_characters",
    # the flow LM: the backbone and its flow head
    "flow_lm.bos_emb", "flow_lm.emb_mean", "flow_lm.emb_std", "flow_lm.flow_net", "flow_lm.flow_type",
    "flow_lm.input_linear", "flow_lm.ldim", "flow_lm.out_eos", "flow_lm.out_norm", "flow_lm.z_proj",
    "flow_lm.conditioner.prepare", "flow_lm.conditioner.tokenizer",
    *(f"flow_lm.transformer.layers.*.{name}" for name in _LAYER),
    # Mimi: the decoder's transformer and its SEANet
    "mimi.frame_rate", "mimi.encoder_frame_rate", "mimi.quantizer", "mimi.decoder.model",
    "mimi.decoder_transformer.input_proj", "mimi.decoder_transformer.output_projs",
    "mimi.decoder_transformer.transformer.context",
    *(f"mimi.decoder_transformer.transformer.layers.*.{name}" for name in _LAYER),
)
# What the channels-last SEANet reads from each kind of layer of Mimi's decoder (seanet_layer_classes()).
SEANET_PATHS = {
    "conv": ("conv.weight", "conv.bias", "conv.stride", "conv.dilation", "conv.groups", "conv.in_channels", "pad_mode"),
    "conv_transpose": ("convtr.weight", "convtr.bias", "convtr.stride", "convtr.groups", "convtr.kernel_size",
                       "convtr.in_channels", "convtr.out_channels"),
    "residual": ("block",),
}
# Keys of a model state that batched generation reads: each attention module's KV cache.
STATE_KEYS = ("cache",)


def name(module: str, attribute: str):
    return getattr(_import(module), attribute)


def pocket_tts() -> ModuleType:
    """pocket-tts itself, imported without torch._dynamo.

    pocket-tts marks one helper `@torch.compiler.disable`, and that call imports all of
    torch._dynamo (sympy included): about 2 s of every command's and every worker's start.
    The mark only matters under torch.compile, which nothing here uses, so while pocket-tts
    is imported the decorator hands the function back as it is; in eager mode it runs the same.
    """
    if "pocket_tts" in sys.modules or "torch._dynamo" in sys.modules:
        return importlib.import_module("pocket_tts")
    import torch.compiler

    disable = torch.compiler.disable
    torch.compiler.disable = _unmarked
    try:
        return importlib.import_module("pocket_tts")
    finally:
        torch.compiler.disable = disable


def _unmarked(fn=None, recursive=True, *, reason=None):
    return fn if fn is not None else (lambda f: f)


def _import(module: str) -> ModuleType:
    if module.split(".")[0] == "pocket_tts":
        pocket_tts()
    return importlib.import_module(module)


def checked(model=None) -> list[str]:
    """Every name `missing` checks, one a line (with a loaded TTSModel, its instance names and paths too)."""
    names = [f"{module}.{n}" for module, found in MODULE_NAMES.items() for n in found]
    names += [f"torch.ops.{namespace}.{n}" for namespace, found in OP_NAMES.items() for n in found]
    names += [f"{module}.{cls}.{n}" for (module, cls), found in CLASS_NAMES.items() for n in found]
    if model is not None:
        names += list(INSTANCE_NAMES) + [f"TTSModel.{path}" for path in MODEL_PATHS]
        names += [f"SEANet {kind} layer.{path}" for kind, paths in SEANET_PATHS.items() for path in paths]
        names += [f"model state[attention module][{key!r}]" for key in STATE_KEYS]
    return names


def missing(model=None) -> list[str]:
    """Every name above that the installed packages lack (with a loaded TTSModel, instance names too)."""
    gone = []
    for module, names in MODULE_NAMES.items():
        found = _module(module)
        gone += [f"{module}.{n}" for n in names if found is None or not hasattr(found, n)]
    for namespace, names in OP_NAMES.items():
        gone += [f"torch.ops.{namespace}.{n}" for n in names if not _has_op(namespace, n)]
    for (module, cls), names in CLASS_NAMES.items():
        found = getattr(_module(module), cls, None)
        gone += [f"{module}.{cls}.{n}" for n in names if found is None or not hasattr(found, n)]
    if model is not None:
        gone += _missing_on_instances(model)
    return gone


def _module(module: str) -> ModuleType | None:
    try:
        return _import(module)
    except ImportError:
        return None


def _has_op(namespace: str, op: str) -> bool:
    import torch

    try:
        getattr(getattr(torch.ops, namespace), op)
    except (AttributeError, RuntimeError):
        return False
    return True


def _missing_on_instances(model) -> list[str]:
    from torch.ao.nn.quantized.dynamic import Linear

    stateful = name("pocket_tts.modules.stateful_module", "StatefulModule")
    gone = []
    if any(not hasattr(m, "_module_absolute_name") for m in model.modules() if isinstance(m, stateful)):
        gone.append(INSTANCE_NAMES[0])
    quantized = [m for m in model.modules() if isinstance(m, Linear)]
    if any(not hasattr(m, "_packed_params") for m in quantized):
        gone.append(INSTANCE_NAMES[1])
    gone += [f"TTSModel.{path}" for path in MODEL_PATHS if not _resolves(model, path.split("."))]
    classes = seanet_layer_classes()
    layers = list(getattr(getattr(getattr(model, "mimi", None), "decoder", None), "model", []) or [])
    layers += [m for layer in layers if isinstance(layer, classes["residual"]) for m in layer.block]
    for kind, paths in SEANET_PATHS.items():
        of_kind = [layer for layer in layers if isinstance(layer, classes[kind])]
        gone += [f"SEANet {kind} layer.{path}" for path in paths
                 if not of_kind or not all(_resolves(layer, path.split(".")) for layer in of_kind)]
    gone += [f"model state[attention module][{key!r}]" for key in STATE_KEYS if not _state_has(model, key)]
    return gone


def _resolves(obj, parts: list[str]) -> bool:
    """Whether the attribute path exists on `obj` ("*": on every item of a list, which must not be empty)."""
    if not parts:
        return True
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = list(obj) if obj is not None else []
        return bool(items) and all(_resolves(item, rest) for item in items)
    if not hasattr(obj, head):
        return False
    return _resolves(getattr(obj, head), rest)


def _state_has(model, key: str) -> bool:
    """Whether a fresh model state holds `key` for each of the flow LM's attention modules."""
    try:
        state = init_states(model.flow_lm, batch_size=1, sequence_length=4)
        return all(key in state[module_name(layer.self_attn)] for layer in model.flow_lm.transformer.layers)
    except Exception:  # noqa: BLE001 - whatever changed, the key cannot be read the way we read it
        return False


# pocket-tts

def preset_origins() -> dict[str, str]:
    """Preset voice name -> where the recording comes from."""
    return name("pocket_tts.utils.utils", "_ORIGINS_OF_PREDEFINED_VOICES")


def configs_dir() -> Path:
    """pocket-tts's CONFIGS_DIR, found without importing pocket-tts (seconds: torch, dynamo, scipy)."""
    return Path(importlib.util.find_spec("pocket_tts").origin).parent / "config"


def config_class():
    return name("pocket_tts.utils.config", "Config")


def prepare_text_prompt(text: str, config) -> tuple[str, int]:
    """pocket-tts's prompt for `text` under a model's text flags (a Config or a TTSModel both carry them)."""
    prepare = name("pocket_tts.models.text_chunking", "prepare_text_prompt")
    return prepare(text, config.pad_with_spaces_for_short_inputs, config.remove_semicolons,
                   config.append_terminal_punctuation, config.capitalize_first_letter, config.replace_characters)


def split_into_best_sentences(model, text: str, max_tokens: int) -> list[str]:
    """How pocket-tts's generate_audio would split `text` into generations."""
    split = name("pocket_tts.models.text_chunking", "split_into_best_sentences")
    return split(model.flow_lm.conditioner.tokenizer, text, max_tokens, model.pad_with_spaces_for_short_inputs,
                 remove_semicolons=model.remove_semicolons,
                 append_terminal_punctuation=model.append_terminal_punctuation,
                 capitalize_first_letter=model.capitalize_first_letter,
                 replace_characters=model.replace_characters)


def build_tokenizer(table):
    return name("pocket_tts.modules.text_conditioner", "build_tokenizer")(table.n_bins, table.tokenizer_path,
                                                                          table.tokenizer)


def attention_mask(positions, keys, context):
    return name("pocket_tts.modules.attention", "_build_attention_mask")(positions, keys, context)


def init_states(module, batch_size: int, sequence_length: int):
    return name("pocket_tts.modules.stateful_module", "init_states")(module, batch_size, sequence_length)


def flow_decoder(flow_type: str):
    """pocket-tts's sampler for a flow head of this type."""
    functions = {"lsd": "lsd_decode", "flow_matching": "ot_decode", "drifting": "drifting_decode",
                 "pointwise": "pointwise_decode"}
    return name("pocket_tts.models.flow_lm", functions[flow_type])


def seanet_layer_classes() -> dict[str, type]:
    return {"conv": name("pocket_tts.modules.conv", "StreamingConv1d"),
            "conv_transpose": name("pocket_tts.modules.conv", "StreamingConvTranspose1d"),
            "residual": name("pocket_tts.modules.seanet", "SEANetResnetBlock")}


def build_mimi(*args, **kwargs):
    return name("pocket_tts.models.mimi", "build_mimi")(*args, **kwargs)


def model_from_config(config, temperature: float, eos_threshold: float):
    """A TTSModel built from a Config with freshly initialized weights (nothing loaded)."""
    return pocket_tts().TTSModel._from_pydantic_config(config, temperature, 1, None, eos_threshold, origin=None)


def min_frames_before_eos(model) -> int:
    return model._MIN_FRAMES_BEFORE_EOS


def max_gen_len(model, tokens: int) -> int:
    """pocket-tts's generation limit in frames for a prompt of `tokens` tokens."""
    return model._estimate_max_gen_len(tokens)


def flow_lm_end(model, state) -> int:
    """How many positions of the flow LM's cache a state has filled."""
    return model._flow_lm_current_end(state)


def expand_kv_cache(model, state, length: int) -> None:
    model._expand_kv_cache(state, sequence_length=length)


def prefill(model, state, tokens) -> None:
    """Run the flow LM over prompt tokens, extending `state`."""
    model._run_flow_lm_and_increment_step(model_state=state, text_tokens=tokens)


def module_name(module) -> str:
    """The key of a stateful module's entry in a model state."""
    return module._module_absolute_name


def feed_forward(layer, x, gelu=None):
    """StreamingTransformerLayer._ff_block, with `gelu` for its GELU when given."""
    if gelu is None:
        return layer._ff_block(x)
    update = layer.linear2(gelu(layer.linear1(layer.norm2(x))))
    return x.to(update) + layer.layer_scale_2(update)


def to_encoder_framerate(mimi, x, state):
    return mimi._to_encoder_framerate(x, state)


def effective_kernel_size(conv) -> int:
    return conv._effective_kernel_size


# torch's quantized Linear (torch.ao, as pocket-tts's int8 uses it)

def packed_weight_bias(layer):
    """The int8 weight and float bias of a dynamic quantized Linear."""
    return layer._packed_params._weight_bias()


def per_tensor_quantized(ints, scale: float, zero_point: int):
    import torch

    return torch._make_per_tensor_quantized_tensor(ints, scale, zero_point)


# oneDNN's convolutions on weights laid out once, as torch.compile's inductor calls them

def can_pack_conv_weight(dtype) -> bool:
    """Whether oneDNN lays out convolution weights of this type here: bf16 needs AVX-512 (BW, VL, DQ) or
    AVX-NE-CONVERT; elsewhere its bf16 convolutions run through the plain path, emulated."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return False
    return dtype != torch.bfloat16 or torch.ops.mkldnn._is_mkldnn_bf16_supported()


def pack_conv_weight(weight, input_shape: tuple[int, ...], stride: int, dilation: int, groups: int,
                     transposed: bool = False):
    """A [.., .., 1, K] weight in the layout oneDNN picks for [1, C, 1, T] inputs of `input_shape`."""
    import torch

    if transposed:
        return torch.ops.mkldnn._reorder_convolution_transpose_weight(
            weight.contiguous(), [0, 0], [0, 0], [1, stride], [1, dilation], groups, list(input_shape))
    return torch._C._nn.mkldnn_reorder_conv2d_weight(weight.contiguous().to_mkldnn(), [0, 0], [1, stride],
                                                     [1, dilation], groups, list(input_shape))


def packed_conv(x, packed, bias, stride: int, dilation: int, groups: int, transposed: bool = False):
    """conv2d (or conv_transpose2d) over a width-1 image with a weight from pack_conv_weight."""
    import torch

    if transposed:
        return torch.ops.mkldnn._convolution_transpose_pointwise(x, packed, bias, [0, 0], [0, 0], [1, stride],
                                                                 [1, dilation], groups, "none", [], "")
    return torch.ops.mkldnn._convolution_pointwise(x, packed, bias, [0, 0], [1, stride], [1, dilation], groups,
                                                   "none", [], "")


if __name__ == "__main__":
    # One line per name checked against the installed pocket-tts and torch, with a model loaded from the
    # config given (default: the released English model, from the Hugging Face cache).
    _model = pocket_tts().TTSModel.load_model(config=sys.argv[1], quantize=True) if len(sys.argv) > 1 else None
    _gone = set(missing(_model))
    for _name in checked(_model):
        print(("MISSING " if _name in _gone else "ok      ") + _name)
    print(f"{len(checked(_model))} checked, {len(_gone)} missing")
    sys.exit(1 if _gone else 0)
