"""The signing modal, ЭЦП signing (the browser's CMS through signing:to_sign / signing:ecp), the eGov
QR protocol, the signature table, downloads, secrecy."""

import base64
import json
import logging
import tempfile

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from signing import pki
from signing.certs import SigningError, pkcs12_open
from signing.cms import cms_sign
from signing.models import QrSession, Signature, SigningRequest
from signing.selectors import signature_table
from signing.tests import callbacks

pytestmark = pytest.mark.django_db


def _ecp_post(client, sr, slug, password=pki.DEMO_PASSWORD, **extra):
    from signing.tests.helpers import post_signature

    return post_signature(client, sr, slug, password=password, **extra)


def test_modal_offers_ecp_and_qr(client, company_user, make_request):
    client.force_login(company_user)
    sr = make_request()
    html = client.get(reverse("signing:request", args=[sr.public_id]), HTTP_HX_REQUEST="true").content.decode()
    assert 'class="modal-backdrop"' in html and "data-modal-close" in html
    assert "Подпись документа" in html and "через ЭЦП" in html and "через QR" in html and "Продолжить" in html
    html = client.post(reverse("signing:request", args=[sr.public_id]), {"method": "ecp"}).content.decode()
    assert "Выберите файл" in html and "Отправить форму" in html and "Пожалуйста, используйте ключ RSA" in html
    assert "Скачать NCALayer" in html and "https://ncl.pki.gov.kz/" in html and "<noscript>" in html
    assert 'name="key_file"' not in html and 'name="password"' not in html  # nothing of the key is ever posted
    assert 'enctype="multipart/form-data"' not in html


def test_other_users_get_404(client, make_request):
    from tests.factories import UserFactory

    sr = make_request()
    client.force_login(UserFactory())
    assert client.get(reverse("signing:request", args=[sr.public_id])).status_code == 404
    assert _ecp_post(client, sr, "company_head_sign").status_code == 404


def test_ecp_signing_completes_and_calls_on_complete(client, company_user, make_request):
    client.force_login(company_user)
    callbacks.CALLS.clear()
    sr = make_request()
    response = _ecp_post(client, sr, "company_head_sign", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response.json() == {"ok": True, "redirect": "/done/"}
    sr.refresh_from_db()
    assert sr.status == SigningRequest.Status.COMPLETED
    sig = Signature.objects.get(signing_request=sr)
    assert sig.signer_bin == company_user.organization.bin and sig.method == "ecp"
    assert [(sr.public_id, sig.signer_iin)] == callbacks.CALLS
    rows = signature_table(sr.signed_document)
    assert rows[0]["status"] == "signed" and "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ" in rows[0]["signer"]
    # the signature is a verifiable CMS over the exact bytes
    from signing.cms import cms_verify

    assert cms_verify(cms_bytes=bytes(sig.cms), data=bytes(sr.document)).signatures[0].ok
    # a second attempt is refused: nothing more to sign
    again = client.post(reverse("signing:to_sign", args=[sr.public_id]))
    assert again.status_code == 400 and again.json()["code"] == "already_signed"


@pytest.mark.parametrize(("slug", "password", "field", "text"), [
    ("expired_sign", pki.DEMO_PASSWORD, "key_file", "истёк"),
    ("revoked_sign", pki.DEMO_PASSWORD, "key_file", "отозван"),
    ("untrusted_sign", pki.DEMO_PASSWORD, "key_file", "доверенным"),
    ("individual_sign", pki.DEMO_PASSWORD, "key_file", "физического лица"),
    ("developer_head_sign", pki.DEMO_PASSWORD, "key_file", "другой организации"),
    ("company_head_auth", pki.DEMO_PASSWORD, "key_file", "AUTH"),
    ("company_employee_sign", pki.DEMO_PASSWORD, "key_file", "права подписи"),
])
def test_refusals_show_at_the_field_in_russian(client, company_user, make_request, slug, password, field, text):
    client.force_login(company_user)
    sr = make_request()
    response = _ecp_post(client, sr, slug, password=password)
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and body["field"] == field and text in body["message"]
    sr.refresh_from_db()
    assert sr.status == SigningRequest.Status.PENDING and not Signature.objects.exists()


def test_kazakh_message(client, company_user, make_request):
    client.force_login(company_user)
    client.cookies["homeportal_language"] = "kk"
    sr = make_request()
    body = _ecp_post(client, sr, "revoked_sign", HTTP_ACCEPT_LANGUAGE="kk").json()
    assert body["code"] == "revoked" and "кері қайтарылған" in body["message"]


def test_key_and_password_are_stored_nowhere(client, company_user, make_request, caplog, settings, tmp_path,
                                            monkeypatch):
    caplog.set_level(logging.DEBUG)
    # Every temporary file the portal makes in this process goes to a directory of this test's own, so
    # the scan below sees them all and nothing another process left in /tmp (a shared machine).
    own_tmp = tmp_path / "tmp"
    own_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own_tmp))
    settings.FILE_UPLOAD_TEMP_DIR = str(own_tmp)
    client.force_login(company_user)
    sr = make_request()
    secret_password = "Qwerty12"
    p12, _ = pki.demo_key("company_head_sign")
    _ecp_post(client, sr, "company_head_sign")
    with pytest.raises(SigningError):  # a wrong password fails in the browser: nothing is sent
        _ecp_post(client, make_request(), "company_head_sign", password="Wrong-Secret-77")
    needles_text = [secret_password, "Wrong-Secret-77", base64.b64encode(p12[:48]).decode()]
    needles_bytes = [p12[i:i + 32] for i in range(0, len(p12) - 32, 400)]
    # logs
    for record in caplog.records:
        text = record.getMessage() + str(record.args or "")
        assert not any(n in text for n in needles_text)
    # database: every column of every table of the test DB
    with connection.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='public'")
        tables = [r[0] for r in cur.fetchall()]
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from the catalogue
            for row in cur.fetchall():
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        b = bytes(value)
                        assert not any(n in b for n in needles_bytes), table
                        assert secret_password.encode() not in b, table
                    elif isinstance(value, str):
                        assert not any(n in value for n in needles_text), table
    # cache (the whole test Redis DB)
    client_redis = cache._cache.get_client(None, write=False) if hasattr(cache, "_cache") else None
    if client_redis is not None:
        for key in client_redis.scan_iter(count=1000):
            if client_redis.type(key) != b"string":
                continue  # Celery/others' lists and sets; the cache only writes strings
            value = client_redis.get(key) or b""
            if isinstance(value, bytes):
                assert secret_password.encode() not in value and not any(n in value for n in needles_bytes)
    # files: media and the var dir (the demo key files themselves live in PKI_DIR)
    import os

    pki_dir = str(pki.pki_dir())
    for root in (str(settings.MEDIA_ROOT), str(settings.VAR_DIR), str(own_tmp)):
        for dirpath, _dirs, files in os.walk(root):
            if dirpath.startswith(pki_dir):
                continue
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    if os.path.getsize(path) > 5_000_000 or os.path.getmtime(path) < sr.created_at.timestamp() - 5:
                        continue
                    with open(path, "rb") as fh:
                        content = fh.read()
                except OSError:
                    continue
                assert not any(n in content for n in needles_bytes), path


def _qr_start(client, sr):
    html = client.post(reverse("signing:request", args=[sr.public_id]), {"method": "qr"}).content.decode()
    session = QrSession.objects.filter(signing_request=sr).latest("pk")
    return html, session


def test_qr_window_protocol_and_completion(client, company_user, make_request):
    client.force_login(company_user)
    callbacks.CALLS.clear()
    sr = make_request()
    html, session = _qr_start(client, sr)
    assert "Подписать с помощью QR-кода" in html and "Получить новый QR-код через" in html and "09:5" in html
    assert "Отсканируйте данный QR-код" in html
    assert client.get(reverse("signing:qr_image", args=[sr.public_id, session.pk]))["Content-Type"] == "image/svg+xml"
    api1 = reverse("signing:egov_api1", args=[session.api1_token])
    assert f"mobileSign:http://testserver{api1}" in html
    # Demo: a link opens the same QR in the eGov mobile simulator.
    from urllib.parse import quote
    assert reverse("signing:egov_simulator") + "?qr=" + quote(f"mobileSign:http://testserver{api1}", safe="") in html
    info = client.get(api1).json()
    assert set(info) >= {"description", "expiry_date", "organisation", "document"}
    assert set(info["organisation"]) == {"nameRu", "nameKz", "nameEn", "bin"}
    assert info["document"]["auth_type"] == "Token"
    assert client.get(api1).status_code == 403  # single use
    uri, token = info["document"]["uri"], info["document"]["auth_token"]
    assert client.get(uri).status_code == 403  # no bearer
    doc = client.get(uri, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert doc["signMethod"] == "CMS_WITH_DATA" and doc["version"] == 1
    item = doc["documentsToSign"][0]
    assert set(item) >= {"id", "nameRu", "nameKz", "nameEn", "meta", "document"}
    assert item["document"]["file"]["mime"] == "application/pdf"
    data = base64.b64decode(item["document"]["file"]["data"])
    assert data == bytes(sr.document)
    key = pkcs12_open(data=pki.demo_key("company_signer_sign")[0], password=pki.DEMO_PASSWORD)
    from django.utils import timezone

    item["document"]["file"]["data"] = base64.b64encode(cms_sign(data=data, key=key, signing_time=timezone.now(),
                                                                 attached=True)).decode()
    status_url = reverse("signing:qr_status", args=[sr.public_id, session.pk])
    assert "hx-trigger" in client.get(status_url).content.decode()
    response = client.put(uri, data=json.dumps(doc), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.content == b"success"
    status_html = client.get(status_url).content.decode()
    assert "hx-trigger" not in status_html  # polling stops
    response = client.post(reverse("signing:qr_complete", args=[sr.public_id, session.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/done/"
    sig = Signature.objects.get(signing_request=sr)
    assert sig.method == "qr" and sig.signer_name.startswith("САТПАЕВА")
    assert len(callbacks.CALLS) == 1


def test_qr_put_refusal_is_403_with_localized_message(client, company_user, make_request):
    client.force_login(company_user)
    sr = make_request()
    _html, session = _qr_start(client, sr)
    info = client.get(reverse("signing:egov_api1", args=[session.api1_token])).json()
    uri, token = info["document"]["uri"], info["document"]["auth_token"]
    doc = client.get(uri, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    key = pkcs12_open(data=pki.demo_key("revoked_sign")[0], password=pki.DEMO_PASSWORD)
    from django.utils import timezone

    doc["documentsToSign"][0]["document"]["file"]["data"] = base64.b64encode(
        cms_sign(data=bytes(sr.document), key=key, signing_time=timezone.now(), attached=True)).decode()
    response = client.put(uri, data=json.dumps(doc), content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 403
    assert "кері қайтарылған" in response.json()["message"]
    # the token cannot be replayed
    response = client.put(uri, data=json.dumps(doc), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert "отозван" in client.get(reverse("signing:qr_status", args=[sr.public_id, session.pk])).content.decode()


def test_qr_for_another_document_is_refused(client, company_user, make_request):
    client.force_login(company_user)
    sr = make_request()
    _html, session = _qr_start(client, sr)
    info = client.get(reverse("signing:egov_api1", args=[session.api1_token])).json()
    uri, token = info["document"]["uri"], info["document"]["auth_token"]
    doc = client.get(uri, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    key = pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    from django.utils import timezone

    doc["documentsToSign"][0]["document"]["file"]["data"] = base64.b64encode(
        cms_sign(data=b"another document", key=key, signing_time=timezone.now(), attached=True)).decode()
    assert client.put(uri, data=json.dumps(doc), content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
    status_html = client.get(reverse("signing:qr_status", args=[sr.public_id, session.pk])).content.decode()
    assert "Подпись не соответствует документу, отправленному на подписание." in status_html


def test_expired_qr_is_dead(client, company_user, make_request):
    import datetime as dt

    client.force_login(company_user)
    sr = make_request()
    _html, session = _qr_start(client, sr)
    QrSession.objects.filter(pk=session.pk).update(expires_at=session.created_at - dt.timedelta(seconds=1))
    assert client.get(reverse("signing:egov_api1", args=[session.api1_token])).status_code == 403
    html = client.get(reverse("signing:qr_status", args=[sr.public_id, session.pk])).content.decode()
    assert "hx-trigger" not in html
    # a new QR can be requested
    client.post(reverse("signing:qr", args=[sr.public_id]))
    assert QrSession.objects.filter(signing_request=sr).count() == 2


def test_download_opens_only_when_every_party_signed(client, company, company_user, pdf_bytes):
    from cabinets.demo import DEMO_DEVELOPER_BIN
    from signing.services import signed_document_create, signing_request_create
    from tests.factories import OrganizationFactory

    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN)
    doc = signed_document_create(subject=company, document=pdf_bytes, filename="d.pdf", title_ru="Договор",
                                 parties=[{"organization": company}, {"organization": developer}])
    client.force_login(company_user)
    url = reverse("signing:document_download", args=[doc.public_id])
    assert client.get(url).status_code == 409
    for org, slug in ((company, "company_head_sign"), (developer, "developer_head_sign")):
        sr = signing_request_create(subject=company, document=pdf_bytes, filename="d.pdf", title_ru="Договор",
                                    organization=org, return_url="/", signed_document=doc)
        from signing.tests.helpers import signing_request_sign_with_key

        signing_request_sign_with_key(signing_request=sr, p12=pki.demo_key(slug)[0], password=pki.DEMO_PASSWORD)
    rows = signature_table(doc)
    assert [r["status"] for r in rows] == ["signed", "signed"]
    response = client.get(url)
    assert response.status_code == 200
    pdf = b"".join(response.streaming_content)
    from signing.verification import verify_upload

    report = verify_upload(pdf)
    # both parties' PAdES signatures, then KZhK's stamp; every one intact and valid
    assert report.all_ok
    assert [s.bin for s in report.signatures] == [company.bin, developer.bin, pki.KZHK_BIN]
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404


def test_verifier_page_and_json(client, pdf_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from signing.pdf import pdf_issue_by_kzhk

    signed = pdf_issue_by_kzhk(pdf=pdf_bytes, title="Т")
    html = client.post(reverse("signing:verify"), {"file": SimpleUploadedFile("a.pdf", signed)}).content.decode()
    assert "ТЕСТОВ НУРЛАН" in html and pki.KZHK_BIN in html
    altered = bytearray(signed)
    altered[len(pdf_bytes) // 2] ^= 1
    response = client.post(reverse("signing:verify_api"), {"file": SimpleUploadedFile("a.pdf", bytes(altered))})
    body = response.json()
    assert body["valid"] is False
    assert client.post(reverse("signing:verify"), {"file": SimpleUploadedFile("x.bin", b"xx")}).status_code == 400


def test_simulator_page_is_reachable_in_dev_and_is_no_open_proxy(client):
    assert client.get(reverse("signing:egov_simulator")).status_code == 200
    html = client.post(reverse("signing:egov_simulator"), {
        "qr_text": "mobileSign:http://169.254.169.254/latest/meta-data/", "demo_key": "company_head_sign"}).content.decode()
    assert "Симулятор работает только с этим порталом" in html


def test_full_page_flow_without_htmx(client, company_user, make_request):
    client.force_login(company_user)
    sr = make_request()
    html = client.get(reverse("signing:request", args=[sr.public_id])).content.decode()
    assert "<html" in html and "modal-backdrop" not in html and "Подпись документа" in html
    html = client.post(reverse("signing:request", args=[sr.public_id]), {"method": "ecp"}).content.decode()
    assert "<html" in html and "Отправить форму" in html and "needs JavaScript" not in html
    assert "JavaScript" in html  # the <noscript> line: signing needs the script, eGov QR stays
    response = _ecp_post(client, sr, "company_signer_sign")
    assert response.status_code == 200 and response.json()["redirect"] == "/done/"
    assert client.get(reverse("signing:ecp", args=[sr.public_id])).status_code == 302  # done: back to the page


def test_signature_table_is_one_query(company, django_assert_num_queries):
    from signing.services import signed_document_create

    doc = signed_document_create(subject=company, document=b"x", filename="x.pdf", title_ru="Д",
                                 parties=[{"bin": "150240008272", "organization_name": "ТОО «Застройщик»"},
                                          {"organization": company}])
    with django_assert_num_queries(1):
        rows = signature_table(doc)
    assert [r["status"] for r in rows] == ["not_signed", "not_signed"]


def test_demo_page_lists_documents_without_n_plus_one(client, company_user, django_assert_max_num_queries):
    from signing import demo

    client.force_login(company_user)
    for _ in range(3):
        demo.demo_document_start(organization=company_user.organization, user=company_user, return_url="/")
    with django_assert_max_num_queries(10):
        html = client.get(reverse("signing:demo")).content.decode()
    assert html.count("Сведения о подписи") == 3 and "Не подписано" in html


def test_qr_put_of_a_large_document_is_accepted(client, company_user, make_request):
    """A 3 MB document is 4 MB of base64 in the PUT: above Django's 2.5 MB body limit."""
    import os

    from django.utils import timezone

    client.force_login(company_user)
    document = b"%PDF-1.4\n" + os.urandom(3 * 1024 * 1024)
    sr = make_request(document=document, with_document=False)
    _html, session = _qr_start(client, sr)
    info = client.get(reverse("signing:egov_api1", args=[session.api1_token])).json()
    uri, token = info["document"]["uri"], info["document"]["auth_token"]
    doc = client.get(uri, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    key = pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    doc["documentsToSign"][0]["document"]["file"]["data"] = base64.b64encode(
        cms_sign(data=document, key=key, signing_time=timezone.now(), attached=True)).decode()
    response = client.put(uri, data=json.dumps(doc), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content[:200]


def test_qr_window_in_kazakh(client, company_user, make_request):
    client.force_login(company_user)
    client.cookies["homeportal_language"] = "kk"
    sr = make_request()
    html = client.post(reverse("signing:request", args=[sr.public_id]), {"method": "qr"}).content.decode()
    assert "QR-код арқылы қол қою:" in html and "кейін алу" in html and "Жіберу" in html


def test_expired_request_is_refused(client, company_user, make_request):
    import datetime as dt

    client.force_login(company_user)
    sr = make_request(expires_in=dt.timedelta(seconds=-1))
    body = _ecp_post(client, sr, "company_head_sign").json()
    assert body["code"] == "request_expired" and "Срок запроса на подписание истёк" in body["message"]
    assert not Signature.objects.exists()


def test_purge_expires_abandoned_requests_and_old_qr_sessions(client, company_user, make_request):
    import datetime as dt

    from django.utils import timezone

    from signing.services import signing_records_purge

    client.force_login(company_user)
    old, fresh = make_request(), make_request()
    _qr_start(client, old)
    later = timezone.now() + dt.timedelta(days=2)
    SigningRequest.objects.filter(pk=fresh.pk).update(expires_at=later + dt.timedelta(days=1))
    assert signing_records_purge(now=later) == {"requests_expired": 1, "qr_sessions_deleted": 1,
                                                "pades_preparations_deleted": 0}
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.status == "expired" and bytes(old.document) == b"" and fresh.status == "pending"
