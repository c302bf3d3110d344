"""What a signature costs the server (issue #18 item 3), asserted as work done rather than time:
KZhK's key is opened once per process, a key is parsed once per operation (pyHanko does not
re-parse it per signature), one TLS context and one pyHanko time-stamper per process (so a
KZhK issue makes exactly two TSA calls: the signature and the document time-stamp), the stamp's
QR code is drawn once. bench/signing_costs.py prints the times."""

import pytest
from cryptography.hazmat.primitives import serialization

from signing import certs, pdf, pki, trust


@pytest.fixture
def base_pdf():
    return pdf.pdf_render(template_name="signing/pdf/demo_document.html", context={
        "title": "Договор", "organization_name": "ТОО Демо", "organization_bin": "160340003066", "number": "C-1"})


@pytest.fixture
def counted(monkeypatch):
    """Counts PKCS#12 opens, DER private-key parses (pyHanko's path) and TSA requests."""
    from pyhanko.sign.signers import pdf_cms

    calls = {"pkcs12": 0, "der_key": 0, "tsa": 0}
    real_open, real_load = certs.pkcs12_open, serialization.load_der_private_key

    def open_(**kw):
        calls["pkcs12"] += 1
        return real_open(**kw)

    def load(*a, **kw):
        calls["der_key"] += 1
        return real_load(*a, **kw)

    class CountingSerialization:
        def __getattr__(self, name):
            return load if name == "load_der_private_key" else getattr(serialization, name)

    monkeypatch.setattr(certs, "pkcs12_open", open_)
    monkeypatch.setattr(pdf_cms, "serialization", CountingSerialization())
    stamper = trust.pdf_timestamper()
    real_request = stamper.async_request_tsa_response

    async def request(req):
        calls["tsa"] += 1
        return await real_request(req)

    monkeypatch.setattr(stamper, "async_request_tsa_response", request)
    return calls


def test_kzhk_issue_opens_no_key_and_makes_two_tsa_calls(base_pdf, counted):
    pdf.pdf_issue_by_kzhk(pdf=base_pdf, title="Прогрев")  # may open the key the first time in this process
    counted.update(pkcs12=0, der_key=0, tsa=0)
    signed = pdf.pdf_issue_by_kzhk(pdf=base_pdf, title="Документ", signers=["ТОО «Демо»"])
    assert counted == {"pkcs12": 0, "der_key": 0, "tsa": 2}
    assert pdf.pdf_verify(signed)[0].ok


def test_user_pades_signature_parses_the_key_once(base_pdf, counted):
    key = certs.pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    counted.update(pkcs12=0, der_key=0, tsa=0)
    pdf.pdf_sign(pdf=base_pdf, key=key, field_name="Signature_test")
    assert counted["der_key"] == 0 and counted["pkcs12"] == 0


def test_one_tls_context_and_time_stamper_per_process(settings):
    assert trust._tls() is trust._tls()
    first = trust.pdf_timestamper()
    assert trust.pdf_timestamper() is first
    settings.SIGNING_TSA_URL = "http://127.0.0.1:9/tsp"  # another TSA: its own stamper
    assert trust.pdf_timestamper() is not first


def test_the_stamp_qr_code_is_drawn_once():
    pdf._qr_data_uri.cache_clear()
    pdf._qr_data_uri("https://portal.example.kz/signing/verify/")
    pdf._qr_data_uri("https://portal.example.kz/signing/verify/")
    assert pdf._qr_data_uri.cache_info().hits == 1
