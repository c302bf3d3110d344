"""The portal's file picker (#14, templates/includes/filepick.html) in Debian's Chromium, ru at
1 366 px and kk at 390 px: on the signing modal's key-file form, an appeal's upload slot (the tus
widget) and the verifier, the caption is the page's «Выберите файл» / «Файлды таңдаңыз» and
«Файл не выбран» / «Файл таңдалмаған» (not the browser's «Choose File / No file chosen»); Tab
reaches the native input, its focus shows on the label, Space opens the file chooser and the chosen
file's name is shown; the input keeps its accessible name; axe-core finds 0 serious/critical.
Without JavaScript the native input shows as it is. Screenshots: /tmp/filepick-shots/."""

from pathlib import Path

import pytest
from django.conf import settings as dj_settings
from django.utils import translation
from playwright.sync_api import expect

from appeals.models import OFFICIAL_LETTER
from appeals.tests.factories import AppealFactory
from cabinets.demo import DEMO_COMPANY_BIN
from tests.browser.a11y import axe_violations
from tests.factories import OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/filepick-shots")
VIEWPORT = {"ru": {"width": 1366, "height": 900}, "kk": {"width": 390, "height": 844}}


def _t(lang, msgid, context=None):
    with translation.override(lang):
        return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


def _open(page, live_server, lang, url):
    host = live_server.url.split("//", 1)[1].split(":")[0]
    page.context.add_cookies([{"name": dj_settings.LANGUAGE_COOKIE_NAME, "value": lang, "domain": host, "path": "/"}])
    page.set_viewport_size(VIEWPORT[lang])
    # a listener from the start: the file-chooser interception is on before Space is pressed
    page.on("filechooser", lambda chooser: None)
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _files(tmp_path, lang):
    first, second = tmp_path / f"ключ-{lang}.p12", tmp_path / f"хат-{lang} (2026).pdf"
    first.write_bytes(b"not really a key")
    second.write_bytes(b"%PDF-1.7\n%%EOF\n")
    return first, second


def _check_picker(page, start, input_id, lang, name, first, second):
    """`start`: an element just before the input in the tab order (focused, then Tab)."""
    picker = page.locator(".filepick").filter(has=page.locator(f"[id='{input_id}']"))
    field = picker.locator("input[type=file]")
    button, chosen = picker.locator(".filepick-button"), picker.locator("[data-filepick-name]")
    expect(button).to_be_visible()
    expect(button).to_contain_text(_t(lang, "Choose file"))
    expect(chosen).to_have_text(_t(lang, "No file chosen"))
    expect(field).to_have_accessible_name(name)
    assert field.evaluate("e => getComputedStyle(e).display") != "none"  # in the DOM, visually hidden
    assert field.bounding_box()["width"] <= 1  # the browser's own caption is not shown

    start.evaluate("e => { if (e.tabIndex < 0 && !e.hasAttribute('tabindex')) e.tabIndex = -1; e.focus(); }")
    page.keyboard.press("Tab")
    expect(field).to_be_focused()
    style = button.evaluate("b => { const s = getComputedStyle(b); return [s.outlineStyle, s.boxShadow]; }")
    assert style[0] == "solid" and style[1] != "none", style  # the focus shows on the label
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    assert chooser.value.element.evaluate("(e, id) => e.id === id", input_id)
    chooser.value.set_files(str(first))
    expect(chosen).to_have_text(first.name)
    field.set_input_files(str(second))
    expect(chosen).to_have_text(second.name)
    expect(field).to_have_accessible_name(name)
    assert axe_violations(page) == []
    return picker


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_signing_modal_key_file(page, login_browser, live_server, tmp_path, lang):
    SHOTS.mkdir(exist_ok=True)
    user = UserFactory(organization=OrganizationFactory(bin=DEMO_COMPANY_BIN))
    login_browser(page, user)
    _open(page, live_server, lang, "/signing/demo/")
    page.get_by_role("button", name=_t(lang, "Sign with EDS/QR")).click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[value=ecp]").check()
    dialog.get_by_role("button", name=_t(lang, "Continue")).click()
    form = dialog.locator("[data-keyfile-form]")
    expect(form).to_be_visible()
    dialog.screenshot(path=str(SHOTS / f"signing-keyfile-empty-{lang}.png"))
    first, second = _files(tmp_path, lang)
    _check_picker(page, form, "id_key_file", lang, _t(lang, "Choose file"), first, second)
    dialog.screenshot(path=str(SHOTS / f"signing-keyfile-chosen-{lang}.png"))


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_appeal_upload_slot(page, login_browser, live_server, tmp_path, lang):
    SHOTS.mkdir(exist_ok=True)
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, created_by=user)
    login_browser(page, user)
    _open(page, live_server, lang, f"/appeals/{appeal.public_id}/?tab=docs")
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    expect(slot).to_be_visible()
    slot.screenshot(path=str(SHOTS / f"appeal-slot-empty-{lang}.png"))
    first, second = _files(tmp_path, lang)
    name = slot.locator(f"#file-{OFFICIAL_LETTER}-label").text_content().strip()
    assert name.startswith(_t(lang, "File", "appeals") + ": ")
    _check_picker(page, slot.locator("form.upload-form"), f"file-{OFFICIAL_LETTER}", lang, name, first, second)
    slot.screenshot(path=str(SHOTS / f"appeal-slot-chosen-{lang}.png"))
    slot.locator("button[type=submit]").click()  # the tus widget takes the chosen file and empties the input
    expect(slot.locator(".file-list")).to_contain_text(second.name)
    expect(page.locator(f"#slot-{OFFICIAL_LETTER} [data-filepick-name]")).to_have_text(_t(lang, "No file chosen"))


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_verifier(page, live_server, tmp_path, lang):
    _open(page, live_server, lang, "/signing/verify/")
    first, second = _files(tmp_path, lang)
    form = page.locator("form.verify-form")
    name = _t(lang, "Signed file (PDF or CMS)")
    _check_picker(page, form, "id_file", lang, name, first, second)
    page.screenshot(path=str(SHOTS / f"verify-{lang}.png"))
    # the second picker: Tab goes on from the first to it
    page.locator("#id_file").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#id_data")).to_be_focused()
    expect(page.locator("#id_data")).to_have_accessible_name(_t(lang, "Signed document (for a detached CMS)"))


def test_without_javascript_the_native_input_shows(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/signing/verify/")
        field = page.locator("#id_file")
        expect(field).to_be_visible()
        assert field.bounding_box()["width"] > 50
        expect(page.locator(".filepick-button").first).to_be_hidden()
        expect(page.locator("[data-filepick-name]").first).to_be_hidden()
        expect(field).to_have_accessible_name("Подписанный файл (PDF или CMS)")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_application_document_field(page, login_browser, live_server, tmp_path, lang):
    """The wizard's document field: the picker's name is «Загрузить» (as before), choosing sends the
    files at once; the fresh field shows the file in its list and «Файл не выбран» again."""
    from applications.models import Application, DocumentType, Provider

    SHOTS.mkdir(exist_ok=True)
    user = UserFactory(organization=OrganizationFactory(bin=DEMO_COMPANY_BIN))
    DocumentType.objects.create(stage=2, name_ru="Устав организации", name_kk="Ұйымның жарғысы", provider=Provider.COMPANY)
    app = Application.objects.create(organization=user.organization, project_name="ЖК «Файлы»")
    login_browser(page, user)
    _open(page, live_server, lang, f"/applications/guarantee/{app.public_id}/stage/2/")
    section = page.locator("section.doc-field").first
    picker = section.locator(".filepick")
    field = picker.locator("input[type=file]")
    expect(picker.locator(".filepick-button")).to_have_text(_t(lang, "Choose file"))
    expect(picker.locator("[data-filepick-name]")).to_have_text(_t(lang, "No file chosen"))
    expect(field).to_have_accessible_name(_t(lang, "Upload"))
    field.focus()
    assert picker.locator(".filepick-button").evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
    section.screenshot(path=str(SHOTS / f"application-field-{lang}.png"))
    assert axe_violations(page) == []
    pdf = tmp_path / f"устав-{lang}.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    field.set_input_files(str(pdf))
    expect(page.locator("section.doc-field .file-list").first).to_contain_text(pdf.name)
    expect(page.locator("section.doc-field [data-filepick-name]").first).to_have_text(_t(lang, "No file chosen"))
