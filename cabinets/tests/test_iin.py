"""One IIN/BIN rule and one generator (cabinets/iin.py), used by the validators, the demo seed and
the test PKI; signing does not reach into cabinets' demo seeding for it."""

import ast
from pathlib import Path

import pytest

from cabinets.iin import iin_bin_check_digit, iin_bin_checksum_ok, iin_bin_make

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("first", ["80010130012", "00000000000", "99999999990", "16034000306", "15024000827"])
def test_the_generator_makes_numbers_the_check_accepts(first):
    value = iin_bin_make(first)
    assert len(value) == 12 and iin_bin_checksum_ok(value) and value[:11] >= first


def test_the_generator_over_many_prefixes():
    for n in range(0, 10**11, 7_919_191_919):
        first = f"{n:011d}"
        value = iin_bin_make(first)
        assert iin_bin_checksum_ok(value)
        if iin_bin_check_digit(first) is not None:
            assert value[:11] == first  # a prefix that has a check digit is kept


def test_the_manuals_bins_pass():
    assert iin_bin_checksum_ok("160340003066") and iin_bin_checksum_ok("150240008272")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_signing_does_not_import_the_cabinets_demo_seed():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "signing").rglob("*.py")
                 if "tests" not in p.parts and "cabinets.demo" in _imports(p)]
    assert not offenders


def test_one_generator_in_the_code():
    defs = []
    for app in ("cabinets", "signing", "applications", "appeals"):
        for p in (ROOT / app).rglob("*.py"):
            if "tests" in p.parts:
                continue
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and "iin_bin_check_digit" in ast.unparse(node) \
                        and node.name not in ("iin_bin_check_digit", "iin_bin_checksum_ok", "iin_bin_make"):
                    defs.append(f"{p.relative_to(ROOT)}:{node.name}")
    assert not defs, defs
