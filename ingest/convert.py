"""E-book formats Calibre reads (MOBI, AZW3, FB2, RTF, ...): converted to EPUB by its `ebook-convert`, then
read as any EPUB. Calibre is a system package (Debian's `calibre`), not a Python dependency."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from pocket_batch.core.config import IngestOptions
from pocket_batch.core.errors import PocketBatchError
from pocket_batch.ingest.structure import Extracted

CONVERTED = (".mobi", ".azw", ".azw3", ".fb2", ".rtf", ".lit", ".pdb", ".odt")
TIMEOUT = 600


def extract_converted(path: Path, options: IngestOptions) -> Extracted:
    from pocket_batch.ingest.epub import extract_epub

    tool = shutil.which("ebook-convert")
    if tool is None:
        raise PocketBatchError(f"{path}: reading {path.suffix.lower()} needs Calibre's ebook-convert "
                               "(Debian/Ubuntu: apt install calibre)")
    with tempfile.TemporaryDirectory(prefix="pocket-batch-convert-") as scratch:
        epub = Path(scratch) / f"{path.stem}.epub"
        try:
            done = subprocess.run([tool, str(path), str(epub)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise PocketBatchError(f"{path}: ebook-convert did not finish in {TIMEOUT} s") from None
        if done.returncode or not epub.is_file():
            said = [line for line in (done.stderr or done.stdout).strip().splitlines() if line.strip()]
            raise PocketBatchError(f"{path}: ebook-convert could not read it ({said[-1] if said else 'no message'})")
        extracted = extract_epub(epub, options)
    extracted.warnings.insert(0, "converted to EPUB by Calibre's ebook-convert to be read")
    return extracted
