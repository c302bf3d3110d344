"""IIN and BIN (Kazakhstan's individual and business identification numbers): the one check-digit
rule and the one generator of valid numbers (demo people, the test PKI, factories)."""

_WEIGHTS_1 = list(range(1, 12))
_WEIGHTS_2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]


def iin_bin_check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 digits, or None when no digit makes a valid number."""
    digits = [int(c) for c in first_eleven]
    check = sum(w * d for w, d in zip(_WEIGHTS_1, digits, strict=True)) % 11
    if check == 10:
        check = sum(w * d for w, d in zip(_WEIGHTS_2, digits, strict=True)) % 11
    return None if check == 10 else check


def iin_bin_checksum_ok(value: str) -> bool:
    """IIN and BIN share one rule: 12 digits, the last a mod-11 check digit over the first 11."""
    if not (isinstance(value, str) and len(value) == 12 and value.isascii() and value.isdigit()):
        return False
    return iin_bin_check_digit(value[:11]) == int(value[11])


def iin_bin_make(first_eleven: str, *, step: int = 1) -> str:
    """A valid 12-digit IIN/BIN starting at `first_eleven`: the 11-digit number is bumped by `step`
    until a check digit exists (about 1 in 11 prefixes has none). Factories step over their
    sequence digits so two sequence numbers never meet."""
    base = int(first_eleven)
    while True:
        digits = f"{base % 10**11:011d}"
        check = iin_bin_check_digit(digits)
        if check is not None:
            return digits + str(check)
        base += step
