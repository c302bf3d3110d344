"""Registration with a demo legal-entity key file in a real browser — in Russian and once in
Kazakh — to the end (codes, password), and the «ЭЦП/QR» login by eGov QR. Codes come from mail.outbox and the SMS
outbox; the captcha text is fixed for the test."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from cabinets import captcha
from cabinets.models import User
from cabinets.tests.helpers import last_email_code, last_sms_code
from tests.browser.keyfile import sign_with_key_file
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _kk(msgid):
    with translation.override("kk"):
        return translation.gettext(msgid)


TEXT = {
    "ru": {"continue": "Продолжить", "sign": "Подписать ЭЦП/QR", "via_ecp": "через ЭЦП", "send": "Отправить форму",
           "next": "Далее", "confirm": "ПОДТВЕРЖДЕНИЕ", "password": "СОЗДАНИЕ ПАРОЛЯ", "finish": "Завершить регистрацию",
           "profile": "Профиль", "individual": "физического лица"},
    # Terms the glossary governs come from the catalogue (docs/glossary.md may revise them).
    "kk": {"continue": "Жалғастыру", "sign": _kk("Sign with EDS/QR"), "via_ecp": None, "send": _kk("Send form"),
           "next": "Келесі", "confirm": "РАСТАУ", "password": "ПАРОЛЬ ЖАСАУ", "finish": "Тіркеуді аяқтау",
           "profile": "Профиль", "individual": None},
}


@pytest.fixture
def keys():
    from signing.pki import DEMO_PASSWORD, demo_key_path, demo_manifest

    manifest = {k["slug"]: k for k in demo_manifest()["keys"]}
    return lambda slug: (str(demo_key_path(slug)), DEMO_PASSWORD, manifest[slug])


def _register(page, keys, monkeypatch, lang):
    t = TEXT[lang]
    monkeypatch.setattr(captcha, "challenge_text", lambda: "K7MPX")
    path, password, person = keys("company_head_auth")
    sign_path, _, _ = keys("company_head_sign")
    page.goto("/register/")
    if lang == "kk":
        page.get_by_role("button", name="ҚАЗ").click()
        expect(page.locator("html")).to_have_attribute("lang", "kk")
    # 1. a one-time challenge signed in the page with the AUTH key (the file never leaves the browser)
    page.get_by_role("button", name=t["continue"]).click()
    sign_with_key_file(page.locator("#modal-root"), path, password, send=t["send"])
    # 2. the form: what the certificate says is read-only
    expect(page.locator("#id_bin")).to_have_value(person["bin"])
    expect(page.locator("#id_iin")).to_have_value(person["iin"])
    expect(page.locator("#id_surname")).to_have_value("ДЕМОВ")
    expect(page.locator("#id_iin")).to_have_attribute("readonly", "readonly")
    page.locator("#id_email").fill("head@demo-company.kz")
    page.locator("#id_mobile").fill("+77017654321")
    # the licence agreement is signed in signing's modal with the same person's ЭЦП
    page.get_by_role("button", name=t["sign"]).click()
    modal = page.locator("#modal-root")
    if t["via_ecp"]:
        modal.get_by_label(t["via_ecp"]).check()
    else:
        modal.locator("input[value=ecp]").check()
    modal.get_by_role("button", name=t["continue"]).click()
    sign_with_key_file(modal, sign_path, password, send=t["send"])
    expect(page.locator("#agreement-signed")).to_be_visible()
    expect(page.locator("#id_email")).to_have_value("head@demo-company.kz")
    page.locator("#id_captcha").fill("k7mpx")
    page.get_by_role("button", name=t["next"], exact=True).click()
    # 3. ПОДТВЕРЖДЕНИЕ: the e-mail code and the SMS code
    expect(page.get_by_role("heading", name=t["confirm"])).to_be_visible()
    page.locator("#id_email_code").fill(last_email_code("head@demo-company.kz"))
    page.locator("#id_sms_code").fill(last_sms_code("+77017654321"))
    page.get_by_role("button", name=t["next"], exact=True).click()
    # 4. СОЗДАНИЕ ПАРОЛЯ with the live checklist
    expect(page.get_by_role("heading", name=t["password"])).to_be_visible()
    page.locator("#id_password1").fill("Demo-pass1")
    page.locator("#id_password2").fill("Demo-pass1")
    for rule in ("length", "digit", "special", "lower", "upper", "match"):
        expect(page.locator(f'[data-rule="{rule}"]')).to_have_class("ok")
    page.get_by_role("button", name=t["finish"]).click()
    expect(page.get_by_role("heading", name=t["profile"])).to_be_visible()
    expect(page.locator("#profile-iin")).to_have_text(person["iin"])
    user = User.objects.get(iin=person["iin"])
    assert user.organization.bin == person["bin"] and user.check_password("Demo-pass1")
    assert user.mobile == "+77017654321"
    return user


def test_registration_in_russian(page, keys, monkeypatch):
    _register(page, keys, monkeypatch, "ru")


def test_registration_in_kazakh(page, keys, monkeypatch):
    user = _register(page, keys, monkeypatch, "kk")
    assert user.language == "kk"


def test_qr_login_through_the_egov_simulator(page, keys):
    _path, _password, person = keys("company_head_auth")
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    page.goto("/login/?tab=eds")
    page.get_by_role("button", name="Войти через eGov QR").click()
    dialog = page.locator("#modal-root")  # the QR window straight away, no method choice (#14)
    expect(dialog.locator("#qr-status")).to_be_visible()
    qr_text = dialog.locator("#qr-text").input_value()
    assert qr_text.startswith("mobileSign:http")
    phone = page.context.new_page()
    phone.goto("/signing/dev/egov-simulator/")
    phone.get_by_label("Текст QR-кода или адрес API 1").fill(qr_text)
    phone.get_by_label("Демо-ключ").select_option("company_head_auth")
    phone.get_by_role("button", name="Сканировать и подписать").click()
    expect(phone.locator(".simulator-result")).to_contain_text("HTTP 200")
    phone.close()
    expect(dialog.locator("#qr-status")).to_contain_text("Документ подписан в приложении", timeout=10_000)
    dialog.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.locator("#profile-iin")).to_have_text(person["iin"])
