"""signing.pdf_hex: the block reader gives pyHanko's own results, positions and errors."""

import io
import random

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError

from signing import pdf, pdf_hex  # noqa: F401 - signing.pdf installs the reader


def _both(data: bytes):
    out = []
    for fn in (pdf_hex._original, pdf_hex.read_hex_string_from_stream):
        stream = io.BytesIO(data)
        try:
            value = fn(stream)
            out.append((type(value), value, stream.tell()))
        except PdfStreamError as exc:
            out.append(("error", str(exc)))
    return out


def test_it_is_installed():
    assert generic.read_hex_string_from_stream is pdf_hex.read_hex_string_from_stream
    assert pdf_hex._original is not None and pdf_hex._original is not pdf_hex.read_hex_string_from_stream


@pytest.mark.parametrize("data", [
    b"<>", b"<4>", b"<41>rest", b"<4 1\n42\r\t\f\x0043>/Next", b"<FEFF0041>", b"<feff004>", b"<" + b"0" * 65536 + b">",
    b"<" + b"ab" * 40000 + b" >trailing", b"<41 % a comment\n42>", b"<4G>", b"<41", b"<", b"<41(>",
])
def test_same_as_pyhanko(data):
    original, fast = _both(data)
    assert original == fast


def test_same_as_pyhanko_on_random_strings():
    rng = random.Random(11)
    alphabet = b"0123456789abcdefABCDEF" * 4 + b" \n\r\t\f\x00"
    for _ in range(300):
        n = rng.choice([0, 1, 2, 7, 100, 16383, 16384, 16385, 40000])
        body = bytes(rng.choice(alphabet) for _ in range(n))
        tail = rng.choice([b">", b">xyz", b"", b"%c\n>", b"z>"])
        original, fast = _both(b"<" + body + tail)
        assert original == fast


def test_a_signed_pdf_reads_the_same(pdf_bytes):
    """A real PAdES placeholder: the signature's /Contents parses the same both ways."""
    from signing.pdf import pdf_prepare_signature

    prepared = pdf_prepare_signature(pdf=pdf_bytes, field_name="S")
    region = prepared.pdf[prepared.region_start:prepared.region_end]
    original, fast = _both(region + b" /Next")
    assert original == fast and len(fast[1]) == (prepared.region_end - prepared.region_start - 2) // 2
