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


def test_the_preparation_keeps_only_the_update_and_a_party_that_lost_the_race_gets_no_revision(company, pdf_bytes):
    """Two parties prepare on the same revision; the first lands its PAdES revision, the second's base is
    gone: its signature is recorded without a revision (and its row offers nothing), the PDF keeps the first."""
    from cabinets.demo import DEMO_DEVELOPER_BIN
    from signing.models import PadesPreparation
    from signing.services import (
        signed_document_create,
        signing_request_create,
        signing_request_submit,
        signing_request_to_sign,
    )
    from signing.tests.helpers import cms_for_contract
    from signing.verification import verify_upload
    from tests.factories import OrganizationFactory

    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN)
    doc = signed_document_create(subject=company, document=pdf_bytes, filename="agreement.pdf", title_ru="Соглашение",
                                 parties=[{"organization": company}, {"organization": developer}])
    requests, contracts = [], []
    for org in (company, developer):
        sr = signing_request_create(subject=company, document=pdf_bytes, filename="agreement.pdf", title_ru="Соглашение",
                                    organization=org, on_complete="signing_tests:record", return_url="/done/",
                                    signed_document=doc)
        requests.append(sr)
        contracts.append(signing_request_to_sign(signing_request=sr))
    prep = PadesPreparation.objects.get(pk=contracts[0]["preparation"])
    assert prep.base_length == len(pdf_bytes) and len(bytes(prep.prepared_pdf)) < 80_000  # the update only
    for sr, contract, slug in zip(requests, contracts, ("company_head_sign", "developer_head_sign"), strict=True):
        p12, password = pki.demo_key(slug)
        signing_request_submit(signing_request=sr, cms_bytes=cms_for_contract(contract, p12=p12, password=password),
                               preparation_id=contract["preparation"])
    doc.refresh_from_db()
    first, second = (Signature.objects.get(signing_request=sr) for sr in requests)
    assert first.in_pades_pdf is True and second.in_pades_pdf is False
    assert [s.signer_name for s in verify_upload(bytes(doc.pades_pdf)).signatures] == ["ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"]
    assert [r["link_kind"] for r in signature_table(doc)] == ["pdf", ""]
