"""Keep freed memory in the process for reuse instead of handing it back to the kernel.

glibc's malloc serves blocks above a threshold (128 KB at start, adjusted as blocks are
freed) with a fresh mmap and unmaps them on free. A Mimi decoder call makes activations
of several MB, and every step of the backbone makes new ones: each is faulted in page by
page, used once and unmapped. On the 2-core VM we measure on, that page faulting was a
fifth of a worker's time (see README, Benchmarks). Raised thresholds keep those blocks in
the heap, so the next call reuses pages that are already mapped.
"""

from __future__ import annotations

import ctypes
import functools
import sys

_M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum: a full-size Mimi activation is 8 MB
# Free memory at the heap's top is kept up to this much. It never exceeds what the process
# already used at its peak, so peak memory stays what it was.
TRIM_THRESHOLD = 512 << 20


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's thresholds for this process (once); False where malloc isn't glibc's."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and others: their own allocators, nothing to set
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
