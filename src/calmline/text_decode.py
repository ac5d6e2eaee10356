"""Bytes a person saved, as text: UTF-8 (with or without a BOM) and UTF-16; nothing guessed.

Editors on Windows save UTF-8 with a byte-order mark, or UTF-16; both are read. Bytes
that are not UTF-8 (usually latin-1 / Windows-1252 from an old editor) are refused with
the way to convert them: decoding them with replacement characters silently turned
names and pound signs into ``�`` in ``assess``. Control characters (NUL, escape
sequences) are removed, keeping tab and line breaks, so they never reach a session,
a report or the dashboard.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from calmline.errors import CalmlineError

# UTF-32 first: its little-endian BOM begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
CONVERT_HINT = "save it as UTF-8, e.g. `iconv -f WINDOWS-1252 -t UTF-8 {name} > fixed.txt`"


def strip_controls(text: str) -> str:
    """``text`` without control characters other than tab, CR and LF (and no BOM)."""
    return _CONTROL.sub("", text).replace("\ufeff", "")


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when the bytes look like mostly-ASCII UTF-16 with no BOM."""
    sample = data[:4096]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even_zeros = sample[0::2].count(0)
    odd_zeros = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_zeros > 0.6 * half and even_zeros < 0.1 * half:
        return "utf-16-le"
    if even_zeros > 0.6 * half and odd_zeros < 0.1 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes, name: Path | str) -> str:
    """Decode a text file's bytes (see the module docstring); ``CalmlineError`` if not text."""
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            codec, data = bom_codec, data[len(bom) :]
            break
    else:
        codec = _utf16_without_bom(data) or "utf-8"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        encoding = "UTF-8" if codec == "utf-8" else codec.upper()
        raise CalmlineError(
            f"{name}: line {line}: not {encoding} text (byte 0x{data[exc.start]:02X}; "
            "perhaps latin-1 or Windows-1252)",
            CONVERT_HINT.format(name=Path(name).name),
        ) from None
    return strip_controls(text)
