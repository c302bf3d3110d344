"""The client-signing contract (issue #11): the server says what to sign, the browser returns only
a CMS; PAdES through pyHanko's interrupted signing; session-bound requests."""

import base64

import pytest
from django.urls import reverse

from signing import pki
from signing.models import PadesPreparation, Signature, SigningRequest
from signing.tests.helpers import cms_for_contract, post_signature

pytestmark = pytest.mark.django_db


def _contract(client, sr, **extra):
    response = client.post(reverse("signing:to_sign", args=[sr.public_id]), **extra)
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_pdf_of_a_multi_party_document_asks_for_the_byte_range_digest(client, company_user, make_request, pdf_bytes):
    from signing.verification import verify_upload

    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    contract = _contract(client, sr)
    assert contract["ok"] and contract["digested"] is True and contract["attached"] is False
    assert contract["purpose"] == "sign" and contract["preparation"]
    prep = PadesPreparation.objects.get(pk=contract["preparation"])
    assert base64.b64decode(contract["dataB64"]) == bytes(prep.digest) and len(bytes(prep.digest)) == 32
    p12, password = pki.demo_key("company_head_sign")
    cms = cms_for_contract(contract, p12=p12, password=password)
    answer = client.post(reverse("signing:ecp", args=[sr.public_id]),
                         {"cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]})
    assert answer.json() == {"ok": True, "redirect": "/done/"}
    sr.signed_document.refresh_from_db()
    pades = bytes(sr.signed_document.pades_pdf)
    assert pades.startswith(bytes(pdf_bytes)[:8]) and len(pades) > len(pdf_bytes)
    report = verify_upload(pades)
    assert [(s.bin, s.indication, s.level) for s in report.signatures] == [(company_user.organization.bin,
                                                                           "TOTAL-PASSED", "B-T")]
    assert Signature.objects.get(signing_request=sr).tsa_time is not None


def test_a_cms_over_another_digest_is_a_changed_document(client, company_user, make_request, pdf_bytes):
    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    contract = _contract(client, sr)
    p12, password = pki.demo_key("company_head_sign")
    other = dict(contract, dataB64=base64.b64encode(b"\x01" * 32).decode())
    cms = cms_for_contract(other, p12=p12, password=password)
    body = client.post(reverse("signing:ecp", args=[sr.public_id]),
                       {"cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]}).json()
    assert body["code"] == "document_changed" and "не соответствует документу" in body["message"]
    # a detached CMS over the whole PDF instead of the prepared digest: refused the same way
    cms = cms_for_contract({"dataB64": base64.b64encode(pdf_bytes).decode()}, p12=p12, password=password)
    body = client.post(reverse("signing:ecp", args=[sr.public_id]),
                       {"cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]}).json()
    assert body["code"] == "document_changed"
    # another request's preparation
    sr2 = make_request(document=pdf_bytes)
    body = client.post(reverse("signing:ecp", args=[sr2.public_id]),
                       {"cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]}).json()
    assert body["code"] == "document_changed"
    assert not Signature.objects.exists()


def test_plain_requests_get_the_document_bytes(client, company_user, make_request):
    client.force_login(company_user)
    sr = make_request(document=b"plain text to sign", with_document=False, mime_type="text/plain")
    contract = _contract(client, sr)
    assert contract["digested"] is False and contract["preparation"] is None
    assert base64.b64decode(contract["dataB64"]) == b"plain text to sign"


@pytest.mark.parametrize(("raw", "code"), [("", "not_cms"), ("***", "not_cms"), (base64.b64encode(b"junk").decode(), "not_cms")])
def test_garbage_cms_is_a_message_not_an_error(client, company_user, make_request, raw, code):
    client.force_login(company_user)
    sr = make_request()
    response = client.post(reverse("signing:ecp", args=[sr.public_id]), {"cms": raw})
    assert response.status_code == 400 and response.json()["code"] == code


def test_the_endpoint_takes_no_key_file_or_password(client, company_user, make_request):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(company_user)
    sr = make_request()
    p12, password = pki.demo_key("company_head_sign")
    response = client.post(reverse("signing:ecp", args=[sr.public_id]),
                           {"key_file": SimpleUploadedFile("RSA256.p12", p12), "password": password})
    assert response.status_code == 400 and response.json()["code"] == "not_cms"
    sr.refresh_from_db()
    assert sr.status == SigningRequest.Status.PENDING


def test_a_session_bound_request_is_404_in_another_session(client, company, make_request):
    from django.test import Client

    from signing.services import signing_request_create

    client.get("/")
    session = client.session
    session["x"] = 1
    session.save()
    sr = signing_request_create(subject=None, document=b"challenge", filename="c.txt", title_ru="Вход", purpose="auth",
                                return_url="/", mime_type="text/plain", require_legal_entity=True, session=session)
    assert client.post(reverse("signing:to_sign", args=[sr.public_id])).status_code == 200
    other = Client()
    assert other.post(reverse("signing:to_sign", args=[sr.public_id])).status_code == 404
    assert post_signature(other, sr, "company_head_auth").status_code == 404
    assert other.get(reverse("signing:request", args=[sr.public_id])).status_code == 404


@pytest.mark.parametrize("tamper", ["outside_placeholder", "other_cms_in_placeholder", "byte_range"])
def test_the_embedded_revision_is_checked_without_pyhanko(client, company_user, make_request, pdf_bytes, monkeypatch,
                                                          tamper):
    """The submit checks the new PAdES revision itself (services._check_embedded) instead of pyHanko
    validating the whole PDF again: a change outside the placeholder, another CMS in it or a
    /ByteRange that is not the prepared one is refused, and nothing is stored."""
    from signing import pdf as signing_pdf

    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    contract = _contract(client, sr)
    p12, password = pki.demo_key("company_head_sign")
    cms = cms_for_contract(contract, p12=p12, password=password)
    prep = PadesPreparation.objects.get(pk=contract["preparation"])
    other_p12, other_password = pki.demo_key("company_signer_sign")
    other_cms = cms_for_contract(contract, p12=other_p12, password=other_password)
    real_embed = signing_pdf.pdf_embed_signature

    def embed(*, prepared, cms):
        if tamper == "other_cms_in_placeholder":
            return real_embed(prepared=prepared, cms=other_cms)
        signed = bytearray(real_embed(prepared=prepared, cms=cms))
        if tamper == "outside_placeholder":
            signed[prep.region_start - 40] ^= 0x01
        else:
            at = signed.rfind(b"/ByteRange")
            signed[at:at + 10] = b"/ByteRangX"
        return bytes(signed)

    monkeypatch.setattr(signing_pdf, "pdf_embed_signature", embed)
    body = client.post(reverse("signing:ecp", args=[sr.public_id]),
                       {"cms": base64.b64encode(cms).decode(), "preparation": contract["preparation"]}).json()
    assert body["ok"] is False and body["code"] == "bad_signature"
    assert not Signature.objects.exists()
    sr.refresh_from_db()
    assert sr.status == SigningRequest.Status.PENDING and not sr.signed_document.pades_pdf
