"""What this CPU computes fast, read once from Linux's feature flags: the numerics a run settles on follow it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cpu:
    flags: frozenset[str] = frozenset()

    @staticmethod
    @functools.cache
    def this() -> Cpu:
        """This machine's CPU (no flags known outside Linux)."""
        try:
            return Cpu(frozenset(Path("/proc/cpuinfo").read_text().split()))
        except OSError:
            return Cpu()

    @property
    def kind(self) -> str:
        """The class benchmarks are compared within: AMX, AVX-512 (with what), or AVX2."""
        if "amx_tile" in self.flags:
            return "AMX"
        if "avx512f" in self.flags:
            extras = [name for flag, name in (("avx512_bf16", "BF16"), ("avx512_vnni", "VNNI")) if flag in self.flags]
            return "AVX-512" + (f" with {' and '.join(extras)}" if extras else "") + ", no AMX"
        return "AVX2 only" if "avx2" in self.flags else "no AVX2"

    @staticmethod
    def model_name() -> str:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return "unknown CPU"

    def describe(self) -> str:
        return f"{self.model_name()}, {self.kind}"

    @property
    def native_bf16(self) -> bool:
        """Computes bfloat16 natively (AVX512_BF16 or AMX): elsewhere bf16 is emulated, and slow."""
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def int8_tiles(self) -> bool:
        """Multiplies int8 in AMX tiles, where oneDNN's int8 products beat fbgemm's."""
        return "amx_int8" in self.flags
