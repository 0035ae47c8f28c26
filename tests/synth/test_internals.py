"""Every private pocket-tts and torch name we use is in synth/fast/internals.py, and the installed packages have it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pocket_batch.synth.fast import internals

pytestmark = pytest.mark.model  # pocket-tts imported, a model loaded

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_pocket_tts_and_torch_have_every_name(small_model):
    from pocket_tts import TTSModel

    model = TTSModel.load_model(config=str(small_model), quantize=True)  # int8: the quantized Linear is there
    missing = internals.missing(model)
    assert not missing, ("pocket-tts or torch changed: synth/fast/internals.py relies on "
                         + ", ".join(missing) + "; adapt it there")


def test_a_name_gone_from_pocket_tts_is_reported(monkeypatch):
    from pocket_tts.models.tts_model import TTSModel

    monkeypatch.delattr(TTSModel, "_estimate_max_gen_len")
    monkeypatch.delattr("pocket_tts.utils.utils._ORIGINS_OF_PREDEFINED_VOICES")
    assert set(internals.missing()) == {"pocket_tts.models.tts_model.TTSModel._estimate_max_gen_len",
                                        "pocket_tts.utils.utils._ORIGINS_OF_PREDEFINED_VOICES"}


PACKAGES = ("core", "ingest", "synth", "verify", "postproc", "pipeline", "jobs", "benchmarks", "testing")
# Private names of other libraries that are read outside the door, each for a reason.
ALLOWED = {
    "_Element": "lxml's element class, public under that name",
    "_params": "nltk's Punkt parameters, to teach it abbreviations (ingest/sentences.py)",
    "_filters": "pyloudnorm's K-weighting filters, run block by block (postproc/loudness.py)",
    "_private": "Ray's SIGTERM handler setter (synth/pool/ray_backend.py)",
    "_decode": "our own decoders' method, timed by bench decoder",
    "_flow_step": "our own generator's step, timed by bench parts",
}


def private_reads(path: Path, root: Path = ROOT) -> list[str]:
    """Reads of a private attribute (`x._name`, not dunder) of anything but `self` or `cls`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value.id if isinstance(node.value, ast.Name) else ""
            if owner not in {"self", "cls"} and node.attr not in ALLOWED:
                found.append(f"{path.relative_to(root)}:{node.lineno} reads .{node.attr}")
    return found


def test_no_module_but_the_door_reads_private_names():
    """pocket-tts's and torch's private names go through synth/fast/internals.py, in every package."""
    door = ROOT / "synth" / "fast" / "internals.py"
    reads = [read for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py")) if path != door
             for read in private_reads(path)]
    assert not reads, "go through synth/fast/internals.py (and list the name there): " + "; ".join(reads)


@pytest.mark.parametrize("package", PACKAGES)
def test_a_private_read_planted_in_any_package_is_found(package, tmp_path):
    planted = tmp_path / package / "planted.py"
    planted.parent.mkdir()
    planted.write_text("def f(model):\n    return model._x\n")
    assert private_reads(planted, tmp_path) == [f"{package}/planted.py:2 reads ._x"]


def test_every_attribute_path_of_a_loaded_model_is_checked(small_model, monkeypatch):
    """A path the fast path reads that a new pocket-tts moved is named, with the rest still found."""
    from pocket_tts import TTSModel

    model = TTSModel.load_model(config=str(small_model), quantize=True)
    assert len(internals.checked(model)) > 100
    monkeypatch.delattr(model.flow_lm, "out_eos")
    monkeypatch.delattr(model.mimi.decoder_transformer.transformer.layers[0], "layer_scale_1")
    assert internals.missing(model) == ["TTSModel.flow_lm.out_eos",
                                        "TTSModel.mimi.decoder_transformer.transformer.layers.*.layer_scale_1"]


def test_configs_dir_is_pocket_tts_own_without_importing_it():
    """`inspect` finds the released config without paying for pocket-tts's imports."""
    import subprocess
    import sys

    code = ("import sys; from pocket_batch.synth.fast.internals import configs_dir; d = configs_dir(); "
            "print('pocket_tts' in sys.modules); import pocket_tts.utils.config as c; print(d == c.CONFIGS_DIR)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


def test_pocket_tts_comes_in_without_torch_dynamo_and_its_marked_helper_still_runs():
    """The door leaves pocket-tts's one `torch.compiler.disable` unapplied (2 s of dynamo at every start)."""
    import subprocess
    import sys

    code = ("import sys, torch; real = torch.compiler.disable; "
            "from pocket_batch.synth.fast.internals import pocket_tts; pocket_tts().TTSModel; "
            "from pocket_tts.modules.attention import _cached_causal_mask as m; "
            "print('torch._dynamo' in sys.modules, torch.compiler.disable is real, tuple(m(3, None, torch.device('cpu')).shape[-2:]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().split(maxsplit=2) == ["False", "True", "(3, 3)"]
