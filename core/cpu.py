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
        return _cpuinfo("model name") or "unknown CPU"

    def describe(self) -> str:
        return f"{self.model_name()}, {self.kind}"

    @staticmethod
    def clock_ghz() -> float:
        """The clock Linux reports for the first core (a VM's nominal clock; boost may run higher)."""
        try:
            return float(_cpuinfo("cpu MHz") or 0) / 1000
        except ValueError:
            return 0.0

    def flops_per_cycle(self, arithmetic: str) -> int:
        """One core's nominal multiply-adds a cycle, times two, for fp32, bf16 or int8 products: two vector
        FMA pipes (AVX2: 8 fp32 lanes; AVX-512: 16, but AMD's Zen 4 runs it on 256-bit halves); bf16 dot
        products (AVX512_BF16) twice fp32's rate, int8 ones (VNNI) four times; AMX's tiles 1024 bf16 and
        2048 int8 operations a cycle. A textbook ceiling to say how far a part is from it, not a promise."""
        wide = "avx512f" in self.flags and "AuthenticAMD" not in self.flags
        fp32 = 64 if wide else 32 if self.flags & {"avx2", "avx512f"} else 16
        if arithmetic == "bf16":
            return 1024 if "amx_bf16" in self.flags else 2 * fp32 if self.native_bf16 else fp32
        if arithmetic == "int8":
            if "amx_int8" in self.flags:
                return 2048
            return 4 * fp32 if self.int8_dot else 2 * fp32
        return fp32

    def peak_gflops(self, arithmetic: str) -> float:
        return self.flops_per_cycle(arithmetic) * self.clock_ghz()

    @property
    def native_bf16(self) -> bool:
        """Computes bfloat16 natively (AVX512_BF16 or AMX): elsewhere bf16 is emulated, and slow."""
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def int8_dot(self) -> bool:
        """Sums int8 products straight into int32 (VNNI), so 8-bit inputs cannot saturate a pair sum in int16."""
        return bool(self.flags & {"avx512_vnni", "avx_vnni", "amx_int8"})

    @property
    def int8_tiles(self) -> bool:
        """Multiplies int8 in AMX tiles, where oneDNN's int8 products beat fbgemm's."""
        return "amx_int8" in self.flags


def _cpuinfo(field: str) -> str | None:
    """The first core's value of a /proc/cpuinfo field; None outside Linux or where it has none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
