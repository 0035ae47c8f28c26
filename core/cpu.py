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
    def native_bf16(self) -> bool:
        """Computes bfloat16 natively (AVX512_BF16 or AMX): elsewhere bf16 is emulated, and slow."""
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def int8_tiles(self) -> bool:
        """Multiplies int8 in AMX tiles, where oneDNN's int8 products beat fbgemm's."""
        return "amx_int8" in self.flags
