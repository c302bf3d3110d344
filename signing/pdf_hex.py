"""A faster hex-string reader for pyHanko (issue #11, bench/client_signing.py).

pyHanko reads a PDF hex string (`<…>`) one byte per call (`read_non_whitespace`). A party's PAdES
signature reserves 65 536 hex digits for its CMS (signing.pdf.PADES_RESERVED), so every read of a
signed PDF — the check after embedding a party's CMS, the verifier, KZhK's issue — spent most of
`pdf_verify` there (~120 ms per signature on an idle core, ~430 ms at load 15). This reads up to
`>` in blocks and decodes with binascii; anything unusual (a `%` comment, a character that is
neither a hex digit nor PDF whitespace, the end of the stream) rewinds and leaves it to pyHanko's
own function, so results and errors stay pyHanko's (signing/tests/test_pdf_hex.py compares both)."""

from __future__ import annotations

import binascii
import os

_WHITESPACE = b" \n\r\t\f\x00"  # pyhanko.pdf_utils.misc.PDF_WHITESPACE
_HEX = b"0123456789abcdefABCDEF"
_BLOCK = 16384

_original = None


def read_hex_string_from_stream(stream):
    from pyhanko.pdf_utils.generic import pdf_string

    start = stream.tell()
    stream.read(1)  # "<"
    chunks = []
    while True:
        block = stream.read(_BLOCK)
        if not block:
            break
        end = block.find(b">")
        if end >= 0:
            chunks.append(block[:end])
            stream.seek(end + 1 - len(block), os.SEEK_CUR)
            digits = b"".join(chunks).translate(None, _WHITESPACE)
            if not digits.translate(None, _HEX):
                if len(digits) % 2:
                    digits += b"0"
                return pdf_string(binascii.unhexlify(digits))
            break
        chunks.append(block)
    stream.seek(start)
    return _original(stream)


def install() -> None:
    """Replace pyHanko's reader (generic.read_object looks the name up at call time). Idempotent."""
    global _original
    from pyhanko.pdf_utils import generic

    if generic.read_hex_string_from_stream is read_hex_string_from_stream:
        return
    _original = generic.read_hex_string_from_stream
    generic.read_hex_string_from_stream = read_hex_string_from_stream
