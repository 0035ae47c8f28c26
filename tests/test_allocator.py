"""keep_freed_memory: freed multi-MB activations are reused, not faulted in again page by page."""

from __future__ import annotations

import subprocess
import sys

# The last upsampling step of a full-size Mimi decoder call (16 latent frames): its transposed
# convolution, ELU and a concatenation, 8 MB each. Run 20 times before the setting and 20 times
# after (once warmed up each), in a fresh process, printing the minor page faults of each 20.
SCRIPT = """
import resource, torch
from torch.nn import functional as F
from pocket_batch.synth.allocator import keep_freed_memory

x, weight = torch.ones(1, 128, 7680), torch.ones(128, 64, 8)

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        y = F.elu(F.conv_transpose1d(x, weight, stride=4))
        torch.cat([y[..., :4], y], -1)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
stock = faults()
applied = keep_freed_memory()
faults()  # the heap grows to hold them, once
print(stock, applied, faults())
"""


def test_freed_activations_are_reused_instead_of_faulted_in_again():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    stock, applied, kept = out.split()
    assert applied == "True"
    assert int(stock) > 20 * 250  # glibc returns them to the kernel: thousands of 4 KB pages a call
    assert int(kept) < 500  # faulted in once, then reused
