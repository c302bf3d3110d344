"""CMS and PAdES round trips, tampering, and the openssl cross-check."""

import datetime as dt
import shutil
import subprocess

import pytest

from signing import pki
from signing.certs import pkcs12_open
from signing.cms import cms_sign, cms_verify
from signing.pdf import pdf_issue_by_kzhk, pdf_verify
from signing.verification import verify_upload

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def head_key(demo_key):
    return pkcs12_open(data=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)


def test_detached_cms_round_trip(head_key):
    sig = cms_sign(data=b"document A", key=head_key, signing_time=NOW)
    result = cms_verify(cms_bytes=sig, data=b"document A")
    [s] = result.signatures
    assert s.ok and s.intact and s.info.iin == head_key.certificate_info.iin
    assert abs((s.signing_time - NOW).total_seconds()) < 2


def test_cms_for_document_a_does_not_verify_for_b(head_key):
    sig = cms_sign(data=b"document A", key=head_key, signing_time=NOW)
    [s] = cms_verify(cms_bytes=sig, data=b"document B").signatures
    assert not s.ok and not s.intact and "bad_signature" in s.problems


def test_attached_cms_carries_the_document(head_key):
    sig = cms_sign(data=b"with data", key=head_key, signing_time=NOW, attached=True)
    result = cms_verify(cms_bytes=sig)
    assert result.content == b"with data" and result.signatures[0].ok


def test_revoked_signer_is_reported(demo_key):
    key = pkcs12_open(data=demo_key("revoked_sign")[0], password=pki.DEMO_PASSWORD)
    sig = cms_sign(data=b"x", key=key, signing_time=NOW)
    [s] = cms_verify(cms_bytes=sig, data=b"x").signatures
    assert s.intact and s.cert_status.revoked and "revoked" in s.problems and not s.ok


def test_cms_has_cades_attributes(head_key):
    from asn1crypto import cms as acms

    sig = cms_sign(data=b"x", key=head_key, signing_time=NOW)
    si = acms.ContentInfo.load(sig)["content"]["signer_infos"][0]
    kinds = {a["type"].native for a in si["signed_attrs"]}
    assert {"content_type", "message_digest", "signing_time", "signing_certificate_v2"} <= kinds


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI")
def test_openssl_accepts_our_cms(head_key, tmp_path):
    sig = cms_sign(data=b"openssl check", key=head_key, signing_time=NOW)
    (tmp_path / "s.cms").write_bytes(sig)
    (tmp_path / "d").write_bytes(b"openssl check")
    proc = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", tmp_path / "s.cms",
                           "-content", tmp_path / "d", "-CAfile", pki.pki_dir() / "root.pem", "-purpose", "any",
                           "-out", "/dev/null"], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_kzhk_pades_round_trip_and_one_byte_alteration(pdf_bytes):
    signed = pdf_issue_by_kzhk(pdf=pdf_bytes, title="Тест", signers=["ТОО «Демо» — ДЕМОВ АЛЕКСЕЙ (ИИН 800101300125)"])
    [r] = pdf_verify(signed)
    assert r.ok and r.info.bin == pki.KZHK_BIN
    report = verify_upload(signed)
    assert report.all_ok and not report.altered
    tampered = bytearray(signed)
    pos = len(pdf_bytes) // 2  # inside the signed byte range
    tampered[pos] = (tampered[pos] + 1) % 256
    report = verify_upload(bytes(tampered))
    assert not report.all_ok
    assert report.error or report.altered


def test_verifier_reports_detached_cms_needs_data(head_key):
    from signing.trust import secure_user_signature

    sig = secure_user_signature(cms_bytes=cms_sign(data=b"doc", key=head_key, signing_time=NOW)).cms
    assert verify_upload(sig).detached_without_data
    ok = verify_upload(sig, b"doc")
    assert ok.all_ok and ok.signatures[0].organization
    bad = verify_upload(sig, b"doc!")
    assert bad.altered and not bad.all_ok
    assert verify_upload(b"garbage").error


def test_a_certificate_altered_inside_the_cms_is_not_trusted(head_key):
    """Changing the signer's name/IIN in the embedded certificate breaks the CA's signature on it
    (and a cache of checked certificates must not hide that)."""
    sig = cms_sign(data=b"doc", key=head_key, signing_time=NOW)
    assert cms_verify(cms_bytes=sig, data=b"doc").signatures[0].ok  # warm any cache with the genuine one
    iin = head_key.certificate_info.iin.encode()
    pos = sig.index(b"IIN" + iin) + 5
    forged = bytearray(sig)
    forged[pos] = ord("9") if forged[pos] != ord("9") else ord("8")
    result = cms_verify(cms_bytes=bytes(forged), data=b"doc")
    [s] = result.signatures
    assert not s.ok and "untrusted" in s.problems


def test_random_corruption_never_verifies_and_never_crashes(head_key):
    import random

    rng = random.Random(7)
    sig = cms_sign(data=b"doc", key=head_key, signing_time=NOW)
    for _ in range(150):
        forged = bytearray(sig)
        for _ in range(rng.choice([1, 3])):
            forged[rng.randrange(len(forged))] = rng.randrange(256)
        if bytes(forged) == sig:
            continue
        report = verify_upload(bytes(forged), b"doc")
        assert not report.all_ok or _only_unsigned_bytes_changed(sig, bytes(forged))


def _only_unsigned_bytes_changed(original: bytes, forged: bytes) -> bool:
    """The CMS certificate set also carries the intermediate, which we take from the trust store:
    changing that copy is harmless. Anything else must fail."""
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

    inter = next((c.public_bytes(Encoding.DER) for c in pkcs7.load_der_pkcs7_certificates(original)
                  if pki.NCA_NAME in c.subject.rfc4514_string()), b"")
    start = original.index(inter) if inter else -1
    diffs = [i for i, (a, b) in enumerate(zip(original, forged, strict=True)) if a != b]
    return bool(inter) and all(start <= i < start + len(inter) for i in diffs)


def test_pdf_changed_by_an_incremental_update_after_signing_is_reported_altered(pdf_bytes):
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.stamp import TextStamp, TextStampStyle

    signed = pdf_issue_by_kzhk(pdf=pdf_bytes, title="Тест")
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    TextStamp(writer, TextStampStyle(stamp_text="PAID 1 000 000 KZT")).apply(0, 100, 500)
    out = io.BytesIO()
    writer.write(out)
    report = verify_upload(out.getvalue())
    assert not report.all_ok and report.altered
    [s] = report.signatures
    # the signed bytes are fine, but the document shown is not what was signed
    assert "incremental_update" in s.changes and not s.ok


def test_every_pdf_is_rendered_with_the_one_font_configuration_of_the_process(monkeypatch):
    """WeasyPrint's default is a new FontConfiguration per document, whose native memory is never
    freed (a gunicorn worker grew ~0.3 MB per appeal signed under bench/load.py): pdf_render passes the
    process's own one, the one the KZhK stamp uses too."""
    import weasyprint

    from signing import pdf

    seen = []
    original = weasyprint.HTML.write_pdf

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("font_config"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", spy)
    first = pdf.pdf_render(template_name="signing/pdf/demo_document.html", context={"title": "А"})
    pdf.pdf_render(template_name="signing/pdf/demo_document.html", context={"title": "Б"})
    assert first.startswith(b"%PDF")
    assert len(seen) == 2 and seen[0] is not None and seen[0] is seen[1] is pdf._font_config()
