"""Trust material on disk (signing/pki.py): a root or CRL added, replaced or removed counts at the
next verification, and nothing else in the directory does."""

import os

from signing import pki


def _root_pem() -> bytes:
    return next((pki.trust_dir() / "roots").glob("*.pem")).read_bytes()


def test_roots_added_replaced_and_removed_count_at_once(settings, tmp_path):
    pem = _root_pem()
    settings.SIGNING_TRUST_DIR = str(tmp_path)
    assert pki.trusted_roots() == []  # no roots folder yet
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "notes.txt").write_bytes(pem)  # not a certificate file by its name
    (roots / "sub.pem").mkdir()  # a folder, whatever its name
    assert pki.trusted_roots() == []
    (roots / "b.pem").write_bytes(pem)
    assert len(pki.trusted_roots()) == 1
    (roots / "a.crt").write_bytes(pem + pem)
    assert len(pki.trusted_roots()) == 3  # the second file, read at once
    os.utime(roots / "a.crt", ns=(1, 1))
    (roots / "a.crt").write_bytes(pem)  # replaced in place: its size and mtime differ
    assert len(pki.trusted_roots()) == 2
    (roots / "b.pem").unlink()
    assert len(pki.trusted_roots()) == 1


def test_the_listing_is_in_pattern_then_name_order(tmp_path):
    for name in ("b.pem", "a.cer", "a.pem", "c.crt", "x.PEM"):
        (tmp_path / name).write_bytes(b"-")
    names = [name for name, _mtime, _size in pki._files(tmp_path, ("*.pem", "*.crt", "*.cer"))]
    assert names == ["a.pem", "b.pem", "c.crt", "a.cer"]
    assert pki._files(tmp_path / "missing", ("*.pem",)) == []
