"""Format-logical checks for Kazakhstan identifiers, shared by every form."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .iin import iin_bin_check_digit, iin_bin_checksum_ok  # noqa: F401 - the rule lives in cabinets/iin.py

PHONE_RE = re.compile(r"^\+7\d{10}$")


def validate_bin(value: str) -> None:
    if not (value and len(value) == 12 and value.isdigit()):
        raise ValidationError(_("BIN must consist of 12 digits."), code="bin_format")
    if not iin_bin_checksum_ok(value):
        raise ValidationError(_("BIN is invalid: the check digit does not match."), code="bin_checksum")


def validate_iin(value: str) -> None:
    if not (value and len(value) == 12 and value.isdigit()):
        raise ValidationError(_("IIN must consist of 12 digits."), code="iin_format")
    if not iin_bin_checksum_ok(value):
        raise ValidationError(_("IIN is invalid: the check digit does not match."), code="iin_checksum")


def validate_bin_or_iin(value: str) -> None:
    if not (value and len(value) == 12 and value.isdigit()):
        raise ValidationError(_("BIN/IIN must consist of 12 digits."), code="bin_iin_format")
    if not iin_bin_checksum_ok(value):
        raise ValidationError(_("BIN/IIN is invalid: the check digit does not match."), code="bin_iin_checksum")


def validate_kz_phone(value: str) -> None:
    if not PHONE_RE.match(value or ""):
        raise ValidationError(_("Enter the phone number as +7 and 10 digits, e.g. +77011234567."), code="phone")


def normalize_kz_phone(value: str) -> str:
    """Accepts '+7 (701) 123-45-67', '87011234567' and the like; returns +7XXXXXXXXXX or the input."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10:
        return "+7" + digits
    return (value or "").strip()


def validate_kz_iban(value: str) -> None:
    """IIK: a Kazakh IBAN, KZ + 18 characters, ISO 13616 mod-97 check."""
    v = (value or "").replace(" ", "").upper()
    if not re.fullmatch(r"KZ\d{2}[0-9A-Z]{16}", v):
        raise ValidationError(_("IIK must be a KZ IBAN of 20 characters, e.g. KZ86125KZT5004100100."), code="iban_format")
    rearranged = v[4:] + v[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    if int(numeric) % 97 != 1:
        raise ValidationError(_("IIK is invalid: the IBAN check digits do not match."), code="iban_checksum")


def validate_bik(value: str) -> None:
    if not re.fullmatch(r"[A-Z0-9]{8}", (value or "").upper()):
        raise ValidationError(_("BIK must consist of 8 letters or digits, e.g. KCJBKZKX."), code="bik")


def validate_kbe(value: str) -> None:
    if not re.fullmatch(r"\d{2}", value or ""):
        raise ValidationError(_("KBe must consist of 2 digits, e.g. 17."), code="kbe")
