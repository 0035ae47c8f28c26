"""A PEP 517 backend that builds pocketsphinx 5.1.1 from its PyPI source with our src/ files in place.

pip asks it for a wheel; it fetches the sdist once (through pip, so from the same index and proxy; kept
in build/), checks its hash, copies src/ over the sdist's files of the same names, and hands the tree to
the sdist's own backend (scikit-build-core), with floating-point contraction off: a fused multiply-add
(which `-march=native` in a user's CFLAGS would allow) rounds differently from PyPI's wheel.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

VERSION = "5.1.1"
SDIST_SHA256 = "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355"
HERE = Path(__file__).resolve().parent


def _sdist() -> Path:
    sdist = HERE / "build" / f"pocketsphinx-{VERSION}.tar.gz"
    if not sdist.is_file() or hashlib.sha256(sdist.read_bytes()).hexdigest() != SDIST_SHA256:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        f"pocketsphinx=={VERSION}", "-d", str(sdist.parent)], check=True)
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != SDIST_SHA256:
            raise RuntimeError(f"{sdist}: sha256 {digest}, expected {SDIST_SHA256}")
    return sdist


@contextmanager
def _patched_tree():
    sdist = _sdist()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        with tarfile.open(sdist) as tar:
            tar.extractall(work, filter="data")
        tree = work / f"pocketsphinx-{VERSION}"
        for ours in (HERE / "src").iterdir():
            shutil.copyfile(ours, tree / "src" / ours.name)
        here, flags = Path.cwd(), os.environ.get("CFLAGS")
        os.chdir(tree)
        os.environ["CFLAGS"] = f"{flags or ''} -ffp-contract=off".strip()  # CMake reads it when it configures
        try:
            yield
        finally:
            os.chdir(here)
            if flags is None:
                del os.environ["CFLAGS"]
            else:
                os.environ["CFLAGS"] = flags


def _skbuild():
    import scikit_build_core.build as skbuild

    return skbuild


def get_requires_for_build_wheel(config_settings=None):
    with _patched_tree():
        return _skbuild().get_requires_for_build_wheel(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    with _patched_tree():
        return _skbuild().prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_directory = os.path.abspath(wheel_directory)
    with _patched_tree():
        return _skbuild().build_wheel(wheel_directory, config_settings, None)


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("third_party/pocketsphinx builds wheels only: its source is pocketsphinx's own sdist")
