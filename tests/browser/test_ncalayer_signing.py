"""ЭЦП through NCALayer in a real browser (Debian Chromium): the page's static/js/ncalayer.js talks
to the NCALayer emulator (ncalayer_emulator, over wss:// with the test PKI's server certificate) and
posts only the CMS; in Russian and in Kazakh. Also: «Отмена» in NCALayer, a wrong password in
NCALayer, an NCALayer without the basics module (the older commonUtils calls), a key NCALayer
must not offer (BIN filter), and no NCALayer at all (the key-file form)."""

import pytest
from django.utils import translation
from playwright.sync_api import expect

from cabinets.demo import DEMO_COMPANY_BIN
from signing import pki
from signing.models import SigningRequest
from tests.browser import test_appeals_journeys as appeal_journey
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _t(lang, msgid, context=None):
    with translation.override(lang):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


parties = appeal_journey.parties  # the appeal journey's setup (a fixture)


def _iin(slug):
    return next(k["iin"] for k in pki.demo_manifest()["keys"] if k["slug"] == slug)


@pytest.fixture
def company_org():
    return OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»")


@pytest.fixture
def company_user(company_org):
    """The head of the demo company: the page asks NCALayer for a key with the user's IIN."""
    return UserFactory(organization=company_org, iin=_iin("company_head_sign"))


def _open_ecp(page, lang="ru"):
    page.goto("/signing/demo/")
    if lang == "kk":
        page.get_by_role("button", name="ҚАЗ").click()
        expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("button", name=_t(lang, "Sign with EDS/QR")).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name=_t(lang, "Continue")).click()
    expect(dialog.get_by_role("heading", name=_t(lang, "Sign using an electronic digital signature (ЭЦП)"))).to_be_visible()
    return dialog


def _ncalayer_ready(dialog, lang="ru"):
    expect(dialog.locator("[data-ncalayer-status]")).to_have_text(
        _t(lang, "NCALayer is running: the key and its password stay in NCALayer."))
    expect(dialog.locator("[data-keyfile-form]")).to_be_hidden()
    return dialog.get_by_role("button", name=_t(lang, "Sign in NCALayer"))


def _signed(page, person="ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ", lang="ru"):
    table = page.locator(".signature-table").first
    expect(table).to_contain_text(_t(lang, "Signed"))
    expect(table).to_contain_text(person)


def _last_sign_request(ncalayer):
    return [r for r in ncalayer.state()["recent"] if r["method"] not in ("getActiveTokens", "changeLocale")][-1]


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_sign_through_ncalayer_over_wss(page, login_browser, company_user, ncalayer, lang):
    """wss:// as NCALayer itself: the emulator answers with company_head_sign by itself."""
    assert ncalayer.url.startswith("wss://")
    ncalayer.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD)
    login_browser(page, company_user)
    dialog = _open_ecp(page, lang)
    _ncalayer_ready(dialog, lang).click()
    _signed(page, lang=lang)
    request = _last_sign_request(ncalayer)
    assert request["module"] == "kz.gov.pki.knca.basics" and request["method"] == "sign"
    args = request["args"]
    assert args["format"] == "cms" and args["locale"] == lang
    assert args["signerParams"]["extKeyUsageOids"] == ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2"]
    assert args["signerParams"]["bin"] == DEMO_COMPANY_BIN
    assert args["signingParams"]["decode"] is True
    assert request["origin"].startswith("http://localhost") or request["origin"].startswith("http://127.0.0.1")
    assert request["answer"] == "result"
    assert SigningRequest.objects.get().status == SigningRequest.Status.COMPLETED


def test_sign_in_the_emulators_dialog(page, login_browser, company_org, ncalayer):
    """The person chooses the key and types its password on the emulator's page (NCALayer's
    dialog): a wrong password is refused there and the request waits; then the right one signs.
    Keys of other people (IIN) or of the wrong purpose are offered greyed out."""
    login_browser(page, UserFactory(organization=company_org, iin=_iin("company_signer_sign")))
    dialog = _open_ecp(page)
    _ncalayer_ready(dialog).click()
    emulator_page = page.context.new_page()
    emulator_page.goto(ncalayer.page_url)
    expect(emulator_page.get_by_role("heading", name="#", exact=False).first).to_contain_text("kz.gov.pki.knca.basics.sign")
    expect(emulator_page.locator("option[value=company_head_sign]").first).to_be_disabled()
    expect(emulator_page.locator("option[value=company_signer_auth]").first).to_be_disabled()
    emulator_page.get_by_label("Ключ").first.select_option("company_signer_sign")
    emulator_page.get_by_label("Пароль").first.fill("not-the-password")
    emulator_page.get_by_role("button", name="Подписать").first.click()
    expect(emulator_page.get_by_role("alert")).to_have_text("Неверный пароль.")
    emulator_page.get_by_label("Ключ").first.select_option("company_signer_sign")
    emulator_page.get_by_label("Пароль").first.fill(pki.DEMO_PASSWORD)
    emulator_page.get_by_role("button", name="Подписать").first.click()
    expect(emulator_page.get_by_text("Нет запросов.", exact=False)).to_be_visible()
    _signed(page, person="САТПАЕВА АЙГЕРИМ КАНАТОВНА")


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_cancelled_in_ncalayer(page, login_browser, company_user, ncalayer, lang):
    ncalayer.mode(mode="cancel")
    login_browser(page, company_user)
    dialog = _open_ecp(page, lang)
    _ncalayer_ready(dialog, lang).click()
    expect(dialog.get_by_role("alert")).to_have_text(_t(lang, "Signing was cancelled in NCALayer."))
    assert SigningRequest.objects.get().status != SigningRequest.Status.COMPLETED
    # the modal stays usable: sign again, this time NCALayer answers
    ncalayer.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name=_t(lang, "Sign in NCALayer")).click()
    _signed(page, lang=lang)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_wrong_password_in_ncalayer(page, login_browser, company_user, ncalayer, lang):
    ncalayer.mode(mode="auto", key="company_head_sign", password="not-the-password")
    login_browser(page, company_user)
    dialog = _open_ecp(page, lang)
    _ncalayer_ready(dialog, lang).click()
    expect(dialog.get_by_role("alert")).to_have_text(_t(lang, "Wrong password for the key file."))
    assert SigningRequest.objects.get().status != SigningRequest.Status.COMPLETED


def test_ncalayer_offers_no_key_of_another_organization(page, login_browser, company_user, ncalayer):
    """signerParams (bin, iin): the developer's head key does not fit the company's request,
    NCALayer offers it greyed out and the user can only cancel."""
    ncalayer.mode(mode="auto", key="developer_head_sign", password=pki.DEMO_PASSWORD)
    login_browser(page, company_user)
    dialog = _open_ecp(page)
    _ncalayer_ready(dialog).click()
    expect(dialog.get_by_role("alert")).to_have_text(_t("ru", "Signing was cancelled in NCALayer."))
    request = _last_sign_request(ncalayer)
    assert request["args"]["signerParams"]["bin"] == DEMO_COMPANY_BIN
    assert request["refused_key"].startswith("developer_head_sign: ")


def test_older_ncalayer_without_the_basics_module(page, login_browser, company_user, ncalayer):
    """NCALayer 1.2 (commonUtils only): the page falls back to getActiveTokens + createCAdESFromBase64Hash."""
    ncalayer.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD, version="1.2", legacy=True)
    try:
        login_browser(page, company_user)
        dialog = _open_ecp(page)
        _ncalayer_ready(dialog).click()
        _signed(page)
        methods = [r["method"] for r in ncalayer.state()["recent"]]
        assert methods[-2:] == ["getActiveTokens", "createCAdESFromBase64Hash"]
        assert "sign" not in methods  # version 1.2: the basics module is not asked at all
    finally:
        ncalayer.mode(mode="manual", version="1.4", legacy=False)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_no_ncalayer_shows_the_key_file_form(page, login_browser, company_user, lang):
    """Nothing listens at NCALAYER_URL (the port is held closed): the modal says so and offers the
    key file signed in the page, and the link «Скачать NCALayer»."""
    login_browser(page, company_user)
    dialog = _open_ecp(page, lang)
    expect(dialog.locator("[data-ncalayer-status]")).to_have_text(_t(lang, (
        "NCALayer is not running: sign with the key file below, or start NCALayer and reload the page.")))
    expect(dialog.locator("[data-ncalayer-box]")).to_be_hidden()
    expect(dialog.get_by_role("link", name=_t(lang, "Download NCALayer"))).to_have_attribute("href", "https://ncl.pki.gov.kz/")
    dialog.get_by_label(_t(lang, "Choose file")).set_input_files(str(pki.demo_key_path("company_head_sign")))
    dialog.get_by_label(_t(lang, "Password")).fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name=_t(lang, "Send form")).click()
    _signed(page, lang=lang)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_login_by_ecp_through_ncalayer_with_the_auth_key(page, company_org, ncalayer, lang):
    """«ЭЦП/QR» login: the server's nonce signed in NCALayer with the AUTH key (clientAuth asked of
    NCALayer: a SIGN key would not be offered)."""
    user = UserFactory(organization=company_org, iin=_iin("company_head_auth"))
    ncalayer.mode(mode="auto", key="company_head_auth", password=pki.DEMO_PASSWORD)
    page.goto("/login/?tab=eds")
    if lang == "kk":
        page.get_by_role("button", name="ҚАЗ").click()
        expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("button", name=_t(lang, "Log in with the EDS")).click()  # straight to the ЭЦП panel
    dialog = page.locator("#modal-root")
    _ncalayer_ready(dialog, lang).click()
    expect(page.locator("#profile-iin")).to_have_text(user.iin)
    args = _last_sign_request(ncalayer)["args"]
    assert args["signerParams"]["extKeyUsageOids"] == ["1.3.6.1.5.5.7.3.2"]
    assert args["locale"] == lang


def test_appeal_signed_through_ncalayer_in_kazakh_on_a_phone(page, live_server, login_browser, parties, ncalayer):
    """The appeal journey's «Өтінімге қол қою» (consent, then the ЭЦП panel) in Kazakh at 390 px:
    NCALayer (the emulator, over wss://) signs with the company head's SIGN key; the appeal is sent."""
    from django.conf import settings as dj_settings

    from appeals.models import Appeal, AppealStatus

    assert _t("kk", "Document signing") != "Document signing"  # the kk catalogue is compiled (make messages)
    page.set_viewport_size({"width": 390, "height": 844})
    page.context.add_cookies([{"name": dj_settings.LANGUAGE_COOKIE_NAME, "value": "kk", "url": live_server.url}])
    user = parties["user"]
    user.iin = _iin("company_head_sign")
    user.save(update_fields=["iin"])
    appeal = appeal_journey._ready_appeal(parties)
    ncalayer.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD)
    login_browser(page, user)
    page.goto(f"/appeals/{appeal.public_id}/")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    page.get_by_role("button", name=_t("kk", "Sign the application", "appeals")).click()
    consent = page.get_by_role("dialog")
    expect(consent.get_by_role("heading", name=_t("kk", "Conditions and terms of review of the appeal", "appeals"))).to_be_visible()
    consent.get_by_label(_t("kk", "I have read the conditions and terms of review of the appeal and agree with them", "appeals")).check()
    consent.get_by_role("button", name=_t("kk", "Sign the application", "appeals")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name=_t("kk", "Document signing"))).to_be_visible()
    dialog.get_by_label(_t("kk", "via ЭЦП")).check()
    dialog.get_by_role("button", name=_t("kk", "Continue")).click()
    _ncalayer_ready(dialog, "kk").click()
    expect(page.get_by_role("heading", name=_t("kk", "My appeals to JSC «KZhK»", "appeals"))).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text(_t("kk", "Application sent", "appeal status"))
    appeal = Appeal.objects.get()
    assert appeal.status == AppealStatus.SENT
    assert appeal.signatures.get().signer_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"
    args = _last_sign_request(ncalayer)["args"]
    assert args["locale"] == "kk" and args["signerParams"]["bin"] == DEMO_COMPANY_BIN
    assert args["signerParams"]["extKeyUsageOids"] == ["1.3.6.1.5.5.7.3.4", "1.2.398.3.3.4.1.2"]
