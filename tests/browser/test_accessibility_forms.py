"""Issue #14, forms and what a screen reader hears (items 8 and 9, the htmx live region), in a real
browser in Russian and Kazakh:

- the registration form with errors: the error summary at the top takes the focus, is an alert,
  lists every field in error, each link moves the focus to its field, what was typed is kept;
- «Я не робот» as a text question: the question is the field's accessible name, axe finds nothing
  serious on the page, it is answered by typing (a wrong answer gives an error at the field and a
  new question), the next steps (confirmation, password) pass axe and fit 390 and 1 366 px;
- the QR window's status, polled by htmx, is read into the page's polite live region in the page
  language, also while the modal makes the rest of the page inert;
- the ЭЦП modal keeps the chosen key file after a refusal (test_keyfile_signing.py checks it).

docs/accessibility.md lists what is checked where."""

import re

import pytest
from django.db import transaction
from django.utils import translation
from playwright.sync_api import expect

from cabinets import services
from cabinets.models import RegistrationDraft
from cabinets.tests.test_registration import _sign_agreement, cert
from signing.models import QrSession

from .a11y import axe_violations, horizontal_overflow
from .test_accessibility import _open_signing, _set_language, scene  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NUMBERS = {
    "ru": ["один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    "kk": ["бір", "екі", "үш", "төрт", "бес", "алты", "жеті", "сегіз", "тоғыз"],
}
# [^\s?] rather than \w: the pattern also goes to the browser, where \w is ASCII only
QUESTION = {"ru": re.compile(r"Сколько будет ([^\s?]+) плюс ([^\s?]+)\?"), "kk": re.compile(r"([^\s?]+) қосу ([^\s?]+) неше болады\?")}


def _t(language, msgid):
    with translation.override(language):
        return translation.gettext(msgid)


@pytest.fixture
def registration(monkeypatch):
    """Registration step 1 without a real key: the signed challenge's certificate is a stub
    (the key files are exercised in test_cabinets_registration.py)."""

    def fake(*, token, language, now=None):
        return services.registration_start(certificate_info=cert(), language=language, now=now)

    monkeypatch.setattr(services, "registration_challenge_use", fake)


def _answer(page, language) -> int:
    """What a screen-reader user hears on reaching the field: its label, the question in words."""
    name = page.locator("label[for=id_captcha]").inner_text()
    a, b = QUESTION[language].search(name).groups()
    return NUMBERS[language].index(a) + 1 + NUMBERS[language].index(b) + 1


def _fits_and_passes_axe(page):
    assert axe_violations(page) == []
    assert horizontal_overflow(page) is None


@pytest.mark.parametrize("language, width", [("ru", 1366), ("kk", 390)])
def test_registration_errors_summary_and_the_text_captcha(page, live_server, registration, language, width):
    page.set_viewport_size({"width": width, "height": 844})
    _set_language(page, live_server.url, language)
    page.goto("/register/eds/complete/")  # step 1 signed: the form
    expect(page.locator("#registration-form")).to_be_visible()
    with transaction.atomic():
        _sign_agreement(RegistrationDraft.objects.get())
    page.goto("/register/?captcha=text")
    captcha = page.locator("#id_captcha")
    expect(page.locator("#captcha-image")).to_have_count(0)
    expect(captcha).to_have_accessible_name(QUESTION[language])
    assert captcha.get_attribute("inputmode") == "numeric"
    _fits_and_passes_axe(page)

    # Two fields wrong: the summary at the top takes the focus and links to each field.
    page.locator("#id_email").fill("head@")
    page.locator("#id_mobile").fill("+7701")
    captcha.fill(str(_answer(page, language)))
    page.get_by_role("button", name=_t(language, "Next"), exact=True).click()
    summary = page.locator("#registration-form .error-summary")
    expect(summary).to_be_focused()
    assert summary.get_attribute("role") == "alert"
    expect(summary).to_contain_text(_t(language, "The form has errors: correct the fields below."))
    invalid = page.locator("#registration-form [aria-invalid=true]").evaluate_all("els => els.map(e => e.id)")
    assert {"id_email", "id_mobile"} <= set(invalid), invalid
    links = summary.locator("a")
    expect(links).to_have_count(len(invalid))
    for i, field_id in enumerate(invalid):
        link = links.nth(i)
        assert link.get_attribute("href") == f"#{field_id}"
        message = page.locator(f"#{field_id}_error")
        expect(message).to_have_attribute("role", "alert")
        expect(link).to_contain_text(message.inner_text())
        assert f"{field_id}_error" in page.locator(f"#{field_id}").get_attribute("aria-describedby")
        link.focus()
        page.keyboard.press("Enter")
        expect(page.locator(f"#{field_id}")).to_be_focused()
    expect(page.locator("#id_email")).to_have_value("head@")  # what was typed is kept
    expect(page.locator("#id_mobile")).to_have_value("+7701")
    _fits_and_passes_axe(page)

    # A wrong answer: the error is at the field, a new question comes, the contacts stay.
    page.locator("#id_email").fill("head@new.kz")
    page.locator("#id_mobile").fill("+77011112233")
    captcha.fill(str(_answer(page, language) + 1))
    page.get_by_role("button", name=_t(language, "Next"), exact=True).click()
    error = page.locator("#id_captcha_error")
    expect(error).to_have_text(_t(language, "The answer is wrong. Answer the new question."))
    expect(error).to_have_attribute("role", "alert")
    expect(captcha).to_have_attribute("aria-invalid", "true")
    assert "id_captcha_error" in captcha.get_attribute("aria-describedby")
    expect(captcha).to_have_accessible_name(QUESTION[language])
    expect(page.locator("#id_email")).to_have_value("head@new.kz")
    expect(page.locator("#id_mobile")).to_have_value("+77011112233")

    # By keyboard alone: Tab from the phone number to the question, type the sum, Enter.
    page.locator("#id_mobile").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_captcha":
            break
    assert page.evaluate("document.activeElement.id") == "id_captcha"
    page.keyboard.type(str(_answer(page, language)))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=_t(language, "CONFIRMATION"))).to_be_visible()
    _fits_and_passes_axe(page)  # registration step 3
    RegistrationDraft.objects.update(step=RegistrationDraft.Step.PASSWORD, email_confirmed=True, mobile_confirmed=True)
    page.goto("/register/")
    expect(page.get_by_role("heading", name=_t(language, "CREATING A PASSWORD"))).to_be_visible()
    _fits_and_passes_axe(page)  # registration step 4


@pytest.mark.parametrize("language, width", [("ru", 1366), ("kk", 390)])
def test_the_qr_status_is_read_out_in_the_page_language(page, live_server, login_browser, scene,  # noqa: F811
                                                        language, width):
    """The QR window's status is replaced every 2 s by htmx; what it says goes into the polite
    live region (#live-status), which the open modal leaves outside its inert background. The QR
    window of the signing modal passes axe and fits."""
    page.set_viewport_size({"width": width, "height": 844})
    _set_language(page, live_server.url, language)
    login_browser(page, scene["user"])
    page.goto(f"/appeals/{scene['appeal'].public_id}/")
    _open_signing()(page)
    page.locator("#signing-modal input[value=qr]").check()
    page.locator("#signing-modal form button[type=submit]").first.click()
    expect(page.locator("#qr-status")).to_be_visible()
    live = page.locator("#live-status")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    expect(live).to_have_text(_t(language, "Waiting for the QR code to be scanned…"))
    assert page.evaluate("document.querySelector('header.site-header').closest('[inert]') !== null")
    _fits_and_passes_axe(page)
    assert live.evaluate("e => e.closest('[inert]') === null")
    QrSession.objects.update(status=QrSession.Status.SCANNED)  # the phone has scanned it
    expect(live).to_have_text(_t(language, "The QR code has been scanned. Waiting for the signature…"))
    expect(live).to_match_aria_snapshot(f"- status: {_t(language, 'The QR code has been scanned. Waiting for the signature…')}")


def _signed_cms(tmp_path):
    """A CMS over a small document signed with a demo key, and the document: the verifier's input."""
    import datetime as dt

    from signing import pki
    from signing.certs import pkcs12_open
    from signing.cms import cms_sign

    key = pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    document = "Документ для проверки подписи / Қолтаңбаны тексеруге арналған құжат".encode()
    cms = cms_sign(data=document, key=key, signing_time=dt.datetime.now(dt.UTC))
    (tmp_path / "signature.cms").write_bytes(cms)
    (tmp_path / "document.txt").write_bytes(document)
    return tmp_path / "signature.cms", tmp_path / "document.txt"


@pytest.mark.parametrize("language, width", [("ru", 1366), ("kk", 390)])
def test_the_screens_the_axe_walk_does_not_reach(page, live_server, tmp_path, language, width):
    """The login's ЭЦП/QR tab, its ЭЦП modal and eGov QR window, registration step 1's ЭЦП modal and
    the verifier's result: 0 serious or critical axe violations, no sideways scroll, and the modal
    takes the focus."""
    page.set_viewport_size({"width": width, "height": 844})
    _set_language(page, live_server.url, language)
    for url, button in [("/login/?tab=eds", "Log in with the EDS"), ("/login/?tab=eds", "Log in by eGov QR"),
                        ("/register/", "Continue")]:
        page.goto(url)
        _fits_and_passes_axe(page)
        page.get_by_role("button", name=_t(language, button), exact=True).click()
        dialog = page.locator("#modal-root [role=dialog]")
        expect(dialog).to_be_visible()
        if button == "Log in by eGov QR":
            expect(dialog.locator("#qr-status")).to_be_visible()
        else:
            expect(dialog.locator("[data-keyfile-form]")).to_be_visible()  # no NCALayer here: the key file
        expect(page.locator("#modal-root [role=dialog] :focus")).to_have_count(1)
        assert axe_violations(page) == [], (url, button)
        assert horizontal_overflow(page) is None, (url, button)
    cms, document = _signed_cms(tmp_path)
    page.goto("/signing/verify/")
    page.locator("#id_file").set_input_files(str(cms))
    page.locator("#id_data").set_input_files(str(document))
    page.get_by_role("button", name=_t(language, "Verify"), exact=True).click()
    expect(page.locator("#verify-result")).to_be_visible()
    expect(page.locator(".verify-signature")).to_have_count(1)
    _fits_and_passes_axe(page)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_wizard_tab_chosen_by_keyboard_keeps_the_focus(page, live_server, login_browser, scene, language):  # noqa: F811
    """The wizard's tabs (manual activation: the arrows move, Enter saves the form and opens the
    tab): after the htmx swap of the stage the focus is on the tab just opened, not on <body>."""
    _set_language(page, live_server.url, language)
    login_browser(page, scene["user"])
    page.goto(f"/applications/{scene['application'].public_id}/stage/1/")
    selected = page.locator("#stage-body [role=tab][aria-selected=true]")
    first = selected.get_attribute("id")
    selected.focus()
    page.keyboard.press("ArrowRight")
    target = page.evaluate("document.activeElement.id")
    assert target and target != first
    expect(selected).to_have_id(first)  # manual activation: moving is not choosing
    page.keyboard.press("Enter")
    expect(selected).to_have_id(target)
    expect(page.locator(f"#{target}")).to_be_focused()
