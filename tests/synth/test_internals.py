"""Every private pocket-tts and torch name we use is in synth/fast/internals.py, and the installed packages have it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pocket_batch.synth.fast import internals

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


@pytest.mark.parametrize("folder", ["core", "ingest", "synth", "postproc", "pipeline", "jobs", "benchmarks"])
def test_no_other_module_reads_private_names_of_pocket_tts_or_torch(folder):
    """Private names go through the adapter (imports of pocket_tts too: lint-imports checks those)."""
    for path in (ROOT / folder).glob("*.py"):
        if path.name == "internals.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value.id if isinstance(node.value, ast.Name) else ""
                assert owner in {"self", "cls"} or not _foreign(node.attr), \
                    f"{path.relative_to(ROOT)}:{node.lineno} reads .{node.attr}: go through synth/fast/internals.py"


def _foreign(attr: str) -> bool:
    """A private name that internals.py lists (pocket-tts's or torch's)."""
    listed = {n for names in internals.MODULE_NAMES.values() for n in names}
    listed |= {n for names in internals.CLASS_NAMES.values() for n in names}
    listed |= {"_module_absolute_name", "_packed_params"}
    return attr in listed


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
