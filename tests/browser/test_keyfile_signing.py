"""The key file signed in the page (issue #11), in Debian's Chromium: every request of a signing is
intercepted and none carries the key file or its password; the legacy PKCS#12 (3DES + RC2-40)
opens; refusals in ru and kk (wrong password in the page; revoked, individual, AUTH key for
signing from the portal); the time from «Отправить форму» to the signed result for a 2 MB PDF.
Every ЭЦП action signed with the key file (and through NCALayer), ru and kk:
test_sign_every_action.py."""

import base64
import time

import pytest
from playwright.sync_api import expect

from signing import pki
from tests.browser.keyfile import sign_with_key_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "ru": {"sign": "Подписать ЭЦП/QR", "continue": "Продолжить", "send": "Отправить форму",
           "wrong_password": "Неверный пароль к файлу ключа.", "revoked": "Сертификат отозван.",
           "individual": "физического лица", "auth": "AUTH_RSA256", "signed": "Подписано"},
    "kk": {"sign": None, "continue": "Жалғастыру", "send": "Нысанды жіберу", "wrong_password": None,
           "revoked": "кері қайтарылған", "individual": None, "auth": "AUTH_RSA256", "signed": None},
}


def _kk(msgid):
    from django.utils import translation

    with translation.override("kk"):
        return translation.gettext(msgid)


TEXT["kk"].update(sign=_kk("Sign with EDS/QR"), wrong_password=_kk("Wrong password for the key file."),
                  individual=_kk("This is an individual's certificate; a legal entity's certificate is required."),
                  signed=None)


def _ecp_panel(page, lang="ru"):
    t = TEXT[lang]
    page.goto("/signing/demo/")
    if lang == "kk":
        page.get_by_role("button", name="ҚАЗ").click()
        expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("button", name=t["sign"]).click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[value=ecp]").check()
    dialog.get_by_role("button", name=t["continue"]).click()
    expect(dialog.locator("[data-keyfile-form]")).to_be_visible()
    return dialog


def test_key_file_and_password_never_leave_the_page(page, login_browser, company_user):
    login_browser(page, company_user)
    key_path = pki.demo_key_path("company_head_sign")
    p12 = key_path.read_bytes()
    password = pki.DEMO_PASSWORD
    needles = [p12[i:i + 24] for i in range(0, len(p12) - 24, 97)]
    b64 = base64.b64encode(p12).decode()
    text_needles = [password, b64[:40], b64[len(b64) // 2:len(b64) // 2 + 40], "RSA256_"]
    seen = []

    def record(request):
        body = request.post_data_buffer or b""
        seen.append((request.method, request.url, body))

    dialog = _ecp_panel(page)
    page.on("request", record)
    sign_with_key_file(dialog, key_path, password)
    expect(page.locator(".signature-table").first).to_contain_text("Подписано", timeout=30_000)
    page.remove_listener("request", record)
    posts = [(url, body) for method, url, body in seen if method == "POST"]
    assert any(url.endswith("/ecp/to-sign/") for url, _ in posts) and any(url.endswith("/ecp/") for url, _ in posts)
    for _method, url, body in seen:
        assert not any(n in body for n in needles), url
        text = body.decode("latin-1") + url
        assert not any(n in text for n in text_needles), url
    submit = next(body for url, body in posts if url.endswith("/ecp/"))
    fields = sorted(part.split("=", 1)[0] for part in submit.decode().split("&"))
    assert fields == ["cms", "preparation"]


def test_the_legacy_pkcs12_opens_in_the_page(page, login_browser, company_user):
    login_browser(page, company_user)
    dialog = _ecp_panel(page)
    sign_with_key_file(dialog, pki.demo_key_path("company_head_sign_legacy"), pki.DEMO_PASSWORD)
    table = page.locator(".signature-table").first
    expect(table).to_contain_text("Подписано", timeout=30_000)
    expect(table).to_contain_text("ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_refusals_in_the_modal(page, login_browser, company_user, lang):
    t = TEXT[lang]
    login_browser(page, company_user)
    dialog = _ecp_panel(page, lang)
    chosen = "e => e.files.length ? e.files[0].name : null"  # #14 item 9: a refusal keeps the chosen file
    sign_with_key_file(dialog, pki.demo_key_path("company_head_sign"), "not-the-password", send=t["send"])
    expect(dialog.locator("#id_password_error")).to_have_text(t["wrong_password"], timeout=20_000)
    assert dialog.locator("#id_key_file").evaluate(chosen) == pki.demo_key_path("company_head_sign").name
    for slug, text in (("revoked_sign", t["revoked"]), ("individual_sign", t["individual"]),
                       ("company_head_auth", t["auth"])):
        sign_with_key_file(dialog, pki.demo_key_path(slug), pki.DEMO_PASSWORD, send=t["send"])
        expect(dialog.locator("#id_key_file_error")).to_contain_text(text, timeout=20_000)
        assert dialog.locator("#id_key_file").evaluate(chosen) == pki.demo_key_path(slug).name
        assert dialog.locator("#id_key_file").get_attribute("aria-describedby") == "id_key_file_error"
    from signing.models import Signature

    assert not Signature.objects.exists()


def _big_pdf(size=2 * 1024 * 1024) -> bytes:
    """A ~2 MB PDF (an incompressible noise image) rendered by WeasyPrint."""
    import io
    import os

    from PIL import Image

    from signing.services import pdf_render

    side = int((size / 3) ** 0.5)
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    from django.template import engines

    html = engines["django"].from_string(
        '<html><body><h1>Документ 2 МБ</h1><img src="{{ uri }}" style="width:16cm"></body></html>').render({"uri": uri})
    from weasyprint import HTML

    del pdf_render
    return HTML(string=html).write_pdf()


def test_two_megabyte_pdf_signed_in_the_page(page, login_browser, company_user, capsys):
    from django.urls import reverse

    from signing.services import signed_document_create, signing_request_create

    pdf = _big_pdf()
    assert len(pdf) > 2_000_000
    org = company_user.organization
    doc = signed_document_create(subject=org, document=pdf, filename="big.pdf", title_ru="Большой документ",
                                 parties=[{"organization": org}])
    sr = signing_request_create(subject=org, document=pdf, filename="big.pdf", title_ru="Большой документ",
                                organization=org, allowed_roles={"head", "may_sign"}, on_complete="signing:demo_signed",
                                return_url=reverse("signing:demo"), signer_user=company_user, signed_document=doc)
    login_browser(page, company_user)
    page.goto(reverse("signing:ecp", args=[sr.public_id]))
    form = page.locator("[data-keyfile-form]")
    expect(form).to_be_visible()
    form.locator("#id_key_file").set_input_files(str(pki.demo_key_path("company_head_sign")))
    form.locator("#id_password").fill(pki.DEMO_PASSWORD)
    started = time.monotonic()
    form.get_by_role("button", name="Отправить форму").click()
    page.wait_for_url("**/signing/demo/", timeout=60_000)
    elapsed = time.monotonic() - started
    doc.refresh_from_db()
    from signing.verification import verify_upload

    report = verify_upload(bytes(doc.pades_pdf))
    assert [s.indication for s in report.signatures] == ["TOTAL-PASSED"]
    timings = page.evaluate("JSON.parse(sessionStorage.getItem('homeportal-signing-timings'))")
    with capsys.disabled():
        print(f"\n2 MB PDF ({len(pdf)} bytes): «Отправить форму» → signed PAdES in {elapsed * 1000:.0f} ms; "
              f"in the page {timings}")
    assert elapsed < 10
