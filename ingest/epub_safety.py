"""Checks on an EPUB's zip before any XML in it is parsed: broken archives, bombs, DRM, entities."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from pocket_batch.core.errors import PocketBatchError

MAX_UNCOMPRESSED = 1 << 30  # 1 GiB in all: no real book comes near
MAX_RATIO = 200  # text compresses ~3-10x; a member expanding 200x over 1 MiB is a bomb
XML_SUFFIXES = (".xml", ".opf", ".ncx", ".xhtml", ".html", ".htm", ".svg", ".smil")
FONT_OBFUSCATION = ("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC")
CIPHER = re.compile(rb"<(?:\w+:)?EncryptedData\b.*?</(?:\w+:)?EncryptedData>", re.S)
ALGORITHM = re.compile(rb'Algorithm="([^"]+)"')
URI = re.compile(rb'URI="([^"]+)"')


def check_epub_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_sizes(path, infos)
            names = {i.filename for i in infos}
            if "META-INF/container.xml" not in names:
                raise PocketBatchError(f"{path}: not an EPUB (no META-INF/container.xml)")
            if "META-INF/encryption.xml" in names:
                _check_encryption(path, zf.read("META-INF/encryption.xml"))
            for info in infos:
                if info.filename.lower().endswith(XML_SUFFIXES) and b"<!ENTITY" in zf.read(info):
                    raise PocketBatchError(f"{path}: {info.filename} declares XML entities; refused "
                                           "(they can pull local files or billions of characters into the text)")
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise PocketBatchError(f"{path}: not an EPUB or truncated (broken zip: {exc})") from None


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise PocketBatchError(f"{path}: refused as a zip bomb ({total / 2**30:.1f} GiB uncompressed declared)")
    for info in infos:
        if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise PocketBatchError(f"{path}: refused as a zip bomb ({info.filename} expands "
                                   f"{info.file_size // max(info.compress_size, 1)}x)")


def _check_encryption(path: Path, xml: bytes) -> None:
    """Font obfuscation is fine; any other encrypted resource means DRM."""
    for block in CIPHER.findall(xml):
        algorithm = ALGORITHM.search(block)
        uri = URI.search(block)
        if algorithm and algorithm.group(1).decode() in FONT_OBFUSCATION:
            continue
        name = uri.group(1).decode() if uri else "content"
        raise PocketBatchError(f"{path}: DRM-protected ({name} is encrypted); only DRM-free EPUBs can be read")
