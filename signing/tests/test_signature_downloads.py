"""Every download a «Сведения о подписи» row offers verifies in the portal's own verifier
(/signing/verify/): a party's PAdES signature (its CMS covers the PDF's /ByteRange, so a lone .cms +
the original document cannot verify) is offered as the signed PDF; an eGov QR CMS (attached) and a
detached CMS over the document itself stay «.cms» downloads."""

import base64

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from signing import pki
from signing.models import Signature
from signing.selectors import signature_table
from signing.services import pkcs12_open, signing_request_complete
from signing.tests.helpers import post_signature

pytestmark = pytest.mark.django_db


def _verify(client, name, body, data=None):
    files = {"file": _upload(name, body)}
    if data is not None:
        files["data"] = _upload("document.pdf", data)
    answer = client.post(reverse("signing:verify_api"), files)
    assert answer.status_code == 200, answer.content[:300]
    return answer.json()


def _upload(name, body):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, body)


def _download(client, url):
    answer = client.get(url)
    assert answer.status_code == 200
    return answer, b"".join(answer.streaming_content) if answer.streaming else answer.content


def test_a_pades_signature_row_offers_the_signed_pdf_which_verifies(client, company_user, make_request, pdf_bytes):
    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    assert post_signature(client, sr, "company_head_sign").json()["ok"]
    doc = sr.signed_document
    doc.refresh_from_db()
    (row,) = signature_table(doc)
    assert row["link_kind"] == "pdf" and row["link"] == reverse("signing:signature_pdf", args=[row["signature"].public_id])
    answer, body = _download(client, row["link"])
    assert answer["Content-Type"] == "application/pdf" and 'filename="doc-signed.pdf"' in answer["Content-Disposition"]
    assert body == bytes(doc.pades_pdf)
    report = _verify(client, "doc-signed.pdf", body)
    assert report["kind"] == "pdf" and report["valid"] is True
    assert [(s["indication"], s["signer_name"], s["iin"]) for s in report["signatures"]] == [
        ("TOTAL-PASSED", "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ", row["iin"])]
    # why: the party's CMS alone, with the original document, does not verify
    lone = bytes(Signature.objects.get(signing_request=sr).cms)
    assert _verify(client, "signature.cms", lone, data=pdf_bytes)["valid"] is False


def test_an_egov_qr_signature_row_keeps_the_cms_which_verifies_alone(client, company_user, make_request, pdf_bytes):
    from signing.cms import cms_sign

    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    key = pkcs12_open(data=pki.demo_key("company_signer_sign")[0], password=pki.DEMO_PASSWORD)
    cms = cms_sign(data=pdf_bytes, key=key, signing_time=timezone.now(), attached=True)  # eGov's CMS_WITH_DATA
    signing_request_complete(signing_request=sr, cms_bytes=cms, method=Signature.Method.QR)
    doc = sr.signed_document
    doc.refresh_from_db()
    (row,) = signature_table(doc)
    assert row["link_kind"] == "cms" and row["link"].endswith(".cms")
    _answer, body = _download(client, row["link"])
    report = _verify(client, "signature.cms", body)
    assert report["kind"] == "cms" and report["valid"] is True
    assert [(s["indication"], s["signer_name"]) for s in report["signatures"]] == [
        ("TOTAL-PASSED", "САТПАЕВА АЙГЕРИМ КАНАТОВНА")]
    assert client.get(reverse("signing:signature_pdf", args=[row["signature"].public_id])).status_code == 404


def test_a_detached_cms_over_the_document_stays_a_cms_download(client, company_user, make_request):
    """A document pyHanko cannot prepare gets a detached CMS over its bytes: «.cms» + the document verify."""
    document = b"%PDF-1.4 test document"
    client.force_login(company_user)
    sr = make_request(document=document)
    contract = client.post(reverse("signing:to_sign", args=[sr.public_id])).json()
    assert contract["digested"] is False and base64.b64decode(contract["dataB64"]) == document
    assert post_signature(client, sr, "company_head_sign").json()["ok"]
    (row,) = signature_table(sr.signed_document)
    assert row["link_kind"] == "cms"
    _answer, body = _download(client, row["link"])
    report = _verify(client, "signature.cms", body, data=document)
    assert report["valid"] is True and report["signatures"][0]["signer_name"] == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"


@pytest.mark.parametrize(("lang", "pdf_label", "cms_label"), [
    ("ru", "Подписанный PDF (PAdES)", "Подпись (CMS)"), ("kk", "Қол қойылған PDF (PAdES)", "Қолтаңба (CMS)")])
def test_the_row_labels_in_ru_and_kk(company_user, make_request, pdf_bytes, client, lang, pdf_label, cms_label):
    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    assert post_signature(client, sr, "company_head_sign").json()["ok"]
    sr.signed_document.refresh_from_db()
    with translation.override(lang):
        html = render_to_string("signing/_signature_table.html", {"rows": signature_table(sr.signed_document)})
    assert f'data-download="pdf" download>{pdf_label}</a>' in html
    with translation.override(lang):
        assert str(translation.gettext("Signature (CMS)")) == cms_label


def test_another_organization_gets_404_for_the_signed_pdf(client, company_user, make_request, pdf_bytes):
    from tests.factories import OrganizationFactory, UserFactory

    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    assert post_signature(client, sr, "company_head_sign").json()["ok"]
    sr.signed_document.refresh_from_db()
    (row,) = signature_table(sr.signed_document)
    assert row["link_kind"] == "pdf"
    client.force_login(UserFactory(organization=OrganizationFactory()))
    assert client.get(row["link"]).status_code == 404


def test_a_pades_cms_not_in_the_stored_pdf_offers_nothing_and_the_migration_finds_embedded_ones(
        client, company_user, make_request, pdf_bytes):
    """A revision that lost the race (§5.1) leaves a byte-range CMS no file verifies: no link. The
    migration's backfill marks the CMS that do sit in the PDF."""
    import importlib

    from django.apps import apps

    client.force_login(company_user)
    sr = make_request(document=pdf_bytes)
    assert post_signature(client, sr, "company_head_sign").json()["ok"]
    sig = Signature.objects.get(signing_request=sr)
    assert sig.in_pades_pdf is True
    Signature.objects.filter(pk=sig.pk).update(in_pades_pdf=False)
    sr.signed_document.refresh_from_db()
    (row,) = signature_table(sr.signed_document)
    assert (row["link"], row["link_kind"]) == ("", "")
    assert client.get(reverse("signing:signature_pdf", args=[sig.public_id])).status_code == 404
    migration = importlib.import_module("signing.migrations.0005_signature_in_pades_pdf")
    migration.backfill(apps, None)
    sig.refresh_from_db()
    assert sig.in_pades_pdf is True
