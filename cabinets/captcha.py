"""«Я не робот»: a self-hosted image captcha (the machines are offline, no external service).

A random 5-character text from an unambiguous alphabet is drawn with Pillow, each letter
rotated and shifted, over noise lines. The session keeps only an HMAC of the answer, and
an answer is checked once: a wrong or right try both need a new picture.

The non-visual alternative (WCAG 1.1.1, issue #14 item 8): «Не вижу картинку» switches the
session to a text question — the sum of two numbers written in words, in the page language —
that a screen reader reads out; its answer is kept and checked the same way (one try).
"""

import io
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext, gettext_lazy
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ALPHABET = "ABCDEFHKMNPRSTUVWXYZ2345678"
LENGTH = 5
SESSION_KEY = "cabinets_captcha"
MODE_SESSION_KEY = "cabinets_captcha_mode"  # "text": the question instead of the picture
NUMBER_WORDS = [gettext_lazy("one"), gettext_lazy("two"), gettext_lazy("three"), gettext_lazy("four"),
                gettext_lazy("five"), gettext_lazy("six"), gettext_lazy("seven"), gettext_lazy("eight"),
                gettext_lazy("nine")]


def question_new(request) -> str:
    """Makes a new text challenge for this session; returns the question, in the active language."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    request.session[SESSION_KEY] = {"digest": _digest(str(a + b)), "question": True}
    return gettext("How much is %(a)s plus %(b)s? Type the answer in digits.") % {
        "a": NUMBER_WORDS[a - 1], "b": NUMBER_WORDS[b - 1]}


def challenge_text() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def _digest(answer: str) -> str:
    return salted_hmac("cabinets.captcha", (answer or "").strip().upper(), algorithm="sha256").hexdigest()


def captcha_new(request) -> str:
    """Makes a new challenge for this session; returns its text (for drawing only)."""
    text = challenge_text()
    request.session[SESSION_KEY] = {"digest": _digest(text), "text_for_image": _obfuscate(text)}
    return text


def _obfuscate(text: str) -> str:
    # The picture is drawn on a later request, so the text must be kept; it is kept XOR-ed
    # with a per-challenge pad so the session row does not contain it in the clear.
    pad = secrets.token_hex(len(text))
    return pad + "".join(f"{ord(c) ^ int(pad[2 * i:2 * i + 2], 16):02x}" for i, c in enumerate(text))


def _reveal(blob: str) -> str:
    n = len(blob) // 4
    pad, body = blob[: 2 * n], blob[2 * n:]
    return "".join(chr(int(body[2 * i:2 * i + 2], 16) ^ int(pad[2 * i:2 * i + 2], 16)) for i in range(n))


def captcha_check(request, answer: str) -> bool:
    """True when the answer matches; the challenge is used up either way."""
    data = request.session.pop(SESSION_KEY, None)
    if not data or not answer:
        return False
    return constant_time_compare(data["digest"], _digest(answer))


def captcha_png(request) -> bytes:
    data = request.session.get(SESSION_KEY)
    text = _reveal(data["text_for_image"]) if data and "text_for_image" in data else captcha_new(request)
    width, height = 200, 70
    image = Image.new("RGB", (width, height), (243, 246, 250))
    draw = ImageDraw.Draw(image)
    rng = secrets.SystemRandom()
    for _ in range(8):
        draw.line(
            [(rng.randint(0, width), rng.randint(0, height)), (rng.randint(0, width), rng.randint(0, height))],
            fill=(rng.randint(120, 200), rng.randint(120, 200), rng.randint(120, 200)), width=2,
        )
    font = ImageFont.load_default(size=38)
    x = 12
    for char in text:
        glyph = Image.new("RGBA", (48, 60), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((8, 4), char, font=font, fill=(20, 50, rng.randint(90, 160), 255))
        glyph = glyph.rotate(rng.randint(-25, 25), resample=Image.Resampling.BICUBIC, expand=False)
        image.paste(glyph, (x, rng.randint(0, 12)), glyph)
        x += 36
    for _ in range(250):
        draw.point((rng.randint(0, width - 1), rng.randint(0, height - 1)), fill=(90, 90, 90))
    image = image.filter(ImageFilter.SMOOTH)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
