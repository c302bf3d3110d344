"""Issue #14, accessibility and phones: axe-core (WCAG 2.1 A/AA rules) finds no serious or
critical violation, and no page scrolls sideways, on the main pages and modals in Russian and
Kazakh at 1 366 and 390 px; keyboard-only walks of the login and of the modals; the phone menu
closes. How to run and what is excepted: docs/accessibility.md.

HOMEPORTAL_SCREENSHOTS=DIR keeps a screenshot of every page walked (for a person to look at)."""

import datetime
import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import expect

from appeals import services as appeal_services
from appeals.models import OFFICIAL_LETTER, AppealStatus
from appeals.transitions import Actor
from applications.tests.factories import ApplicationFactory, valid_tab_data
from cabinets.services import notify_both_languages
from tests.factories import ContractFactory, OrganizationFactory, UserFactory

from .a11y import axe_violations, horizontal_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LETTER = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
SHOTS = os.environ.get("HOMEPORTAL_SCREENSHOTS")


@pytest.fixture
def scene():
    from django.utils.translation import gettext_lazy

    company = OrganizationFactory(bin="160340003066", name_ru="ТОО «Демо УК»", name_kk="«Демо УК» ЖШС")
    developer = OrganizationFactory(bin="150240008272", name_ru="ТОО «Демо Застройщик»", kind="developer")
    user = UserFactory(organization=company)
    contract = ContractFactory(organization=company, developer=developer, kind="guarantee")
    ContractFactory(organization=company, developer=developer, kind="subsidy")
    application = ApplicationFactory(organization=company, created_by=user, project_name="ЖК «Арман»",
                                     data=valid_tab_data())
    appeal = appeal_services.appeal_create(organization=company, user=user, contract=contract,
                                           category=appeal_services.category_other_ensure())
    appeal_services.appeal_update(appeal=appeal, user=user, data={"other_text": "Просим уточнить порядок."})
    appeal_services.appeal_file_add(appeal=appeal, slot=OFFICIAL_LETTER, content_type="application/pdf",
                                    uploaded_file=ContentFile(LETTER, name="letter.pdf"))
    sent = appeal_services.appeal_create(organization=company, user=user, contract=contract,
                                         category=appeal_services.category_other_ensure())
    appeal_services.appeal_update(appeal=sent, user=user, data={"other_text": "Второе обращение с длинным текстом."})
    sent = appeal_services.appeal_signed(appeal=sent, signer=appeal_services.Signer(full_name="ДЕМОВ А. П.",
                                         iin="800101300123", bin=company.bin), now=timezone.now())
    appeal_services.appeal_transition(sent, to=AppealStatus.REGISTERED, actor=Actor.BPMS, payload={
        "registration_number": "КЖК-ОБР-00001",
        "review_deadline": (timezone.localdate() + datetime.timedelta(days=12)).isoformat()})
    notify_both_languages(organization=company, title=gettext_lazy("Notifications"))
    return {"user": user, "application": application, "appeal": appeal, "sent": sent}


def _open(selector):
    def action(page):
        page.locator(selector).first.click()
        expect(page.locator("[role=dialog]").first).to_be_visible()
    return action


def _open_signing(step=None):
    def action(page):
        page.locator("button[name=action][value=sign]").click()
        page.locator("#consent-modal input[type=checkbox]").check()
        page.locator("#consent-modal button[type=submit]").click()
        expect(page.locator("#signing-modal [role=dialog]")).to_be_visible()
        if step == "ecp":
            page.locator("#signing-modal input[value=ecp]").check()
            page.locator("#signing-modal form button[type=submit]").first.click()
            expect(page.locator("#signing-modal input[type=file]")).to_be_visible()
    return action


def _pages(scene):
    app, appeal, sent = scene["application"].public_id, scene["appeal"].public_id, scene["sent"].public_id
    anonymous = [
        ("home", "/", None), ("login", "/login/", None), ("login-ecp", "/login/?tab=eds", None),
        ("register", "/register/", None), ("verifier", "/signing/verify/", None), ("faq", "/faq/", None),
    ]
    signed_in = [
        ("profile", "/profile/", None),
        ("guarantee-list", "/applications/guarantee/", None),
        ("guarantee-create-modal", "/applications/guarantee/", _open("[data-create-application]")),
        ("subsidy-list", "/applications/subsidy/", None),
        *[(f"wizard-stage-{n}", f"/applications/{app}/stage/{n}/", None) for n in (1, 2, 3, 4)],
        ("application-history", f"/applications/{app}/history/", None),
        ("appeal-list", "/appeals/", None),
        ("appeal-type-modal", "/appeals/", _open("a[href='/appeals/new/']")),
        ("appeal-form", f"/appeals/{appeal}/", None),
        ("appeal-documents", f"/appeals/{appeal}/?tab=docs", None),
        ("appeal-consent-modal", f"/appeals/{appeal}/", _open("button[name=action][value=sign]")),
        ("signing-modal", f"/appeals/{appeal}/", _open_signing()),
        ("signing-modal-ecp", f"/appeals/{appeal}/", _open_signing("ecp")),
        ("appeal-history", f"/appeals/{sent}/history/", None),
        ("notifications", "/notifications/", None),
        ("surveys", "/surveys/", None),
    ]
    return anonymous, signed_in


def _set_language(page, base_url, language):
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base_url}])


def _walk(page, login_browser, scene, *, base_url, language, width, check):
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
    _set_language(page, base_url, language)
    anonymous, signed_in = _pages(scene)
    problems = {}
    for group, pages in (("anonymous", anonymous), ("signed_in", signed_in)):
        if group == "signed_in":
            login_browser(page, scene["user"])
        for name, url, action in pages:
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == language
            if action:
                action(page)
            found = check(page)
            if found:
                problems[name] = found
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SHOTS}/{language}-{width}-{name}.png", full_page=True)
    if SHOTS:
        Path(f"{SHOTS}/{check.__name__}-{language}-{width}.json").write_text(
            json.dumps(problems, ensure_ascii=False, indent=1), encoding="utf-8")
    return problems


def _summary(problems: dict) -> str:
    lines = []
    for name, found in problems.items():
        if isinstance(found, list):
            lines += [f"{name}: {v['id']} ({v['impact']}) {' | '.join(t.split(' :: ')[0] for t in v['targets'])}" for v in found]
        else:
            lines.append(f"{name}: {found['scroll']} > {found['viewport']} px: {', '.join(found['widest'])}")
    return "\n".join(lines)


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("width", [1366, 390])
def test_no_serious_or_critical_axe_violations(page, live_server, login_browser, scene, language, width):
    problems = _walk(page, login_browser, scene, base_url=live_server.url, language=language, width=width, check=axe_violations)
    assert problems == {}, _summary(problems)


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("width", [1366, 768, 390])
def test_no_page_scrolls_sideways(page, live_server, login_browser, scene, language, width):
    problems = _walk(page, login_browser, scene, base_url=live_server.url, language=language, width=width, check=horizontal_overflow)
    assert problems == {}, _summary(problems)


def _focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), id: e.id, text: (e.textContent || '').trim().slice(0, 60),
                in_dialog: !!e.closest('[role=dialog]'), in_menu: !!e.closest('#side-menu')}; }""")


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_phone_menu_is_an_overlay_that_closes_and_never_reopens_by_itself(page, live_server, login_browser, scene,
                                                                             language):
    page.set_viewport_size({"width": 390, "height": 844})
    _set_language(page, live_server.url, language)
    login_browser(page, scene["user"])
    page.goto("/profile/")
    menu, toggle = page.locator("#side-menu"), page.locator("[data-menu-toggle]")
    expect(menu).to_be_hidden()
    toggle.click()
    expect(menu).to_be_visible()
    assert _focused(page)["in_menu"]
    assert toggle.get_attribute("aria-expanded") == "true"
    page.locator("[data-menu-close]").click()  # ✕
    expect(menu).to_be_hidden()
    assert _focused(page)["tag"] == "button" and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.mouse.click(380, 600)  # the backdrop beside the menu
    expect(menu).to_be_hidden()
    toggle.click()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    toggle.click()
    expect(menu).to_be_visible()
    page.goto("/appeals/")  # left open on the last page: not restored on a phone
    expect(menu).to_be_hidden()
    assert horizontal_overflow(page) is None


def test_the_desktop_menu_keeps_its_state_and_the_page_fits_with_it_open(page, login_browser, scene):
    page.set_viewport_size({"width": 1366, "height": 900})
    login_browser(page, scene["user"])
    page.goto("/appeals/")
    page.locator("[data-menu-toggle]").click()
    page.goto("/applications/guarantee/")
    expect(page.locator("#side-menu")).to_be_visible()
    assert horizontal_overflow(page) is None
    page.goto("/appeals/")
    assert horizontal_overflow(page) is None


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_login_by_keyboard_alone(page, live_server, scene, language):
    """Skip link first; the method tabs follow the ARIA tabs pattern (arrows move and activate).
    The arrows are pressed back to back, without waiting for the panel: the focus stays on the
    selected tab and the last press wins (was a known defect: the tab strip itself was swapped, so
    a press during htmx's settle followed the plain link and left the focus on <body>)."""
    from cabinets.models import User

    User.objects.filter(pk=scene["user"].pk).update(password=_hashed("Passw0rd!"))
    _set_language(page, live_server.url, language)
    page.goto("/login/")
    page.keyboard.press("Tab")
    assert _focused(page)["text"] in ("Перейти к содержимому", "Мазмұнға өту")
    page.keyboard.press("Enter")
    tabs = page.locator("[role=tab]")
    selected = page.locator("[role=tab][aria-selected=true]")
    first_id = selected.get_attribute("id")
    for _ in range(30):  # Tab through the page until the selected tab (the only tab stop of the strip)
        page.keyboard.press("Tab")
        if _focused(page)["id"] == first_id:
            break
    assert _focused(page)["id"] == first_id
    assert [tabs.nth(i).get_attribute("tabindex") for i in range(tabs.count())].count("0") == 1
    page.keyboard.press("ArrowRight")
    expect(selected).not_to_have_id(first_id)
    expect(selected).to_be_focused()
    second_id = selected.get_attribute("id")
    expect(page.locator("#login-tab")).to_have_attribute("aria-labelledby", second_id)
    page.keyboard.press("ArrowRight")  # back to back: → ← (the first answer may not have come)
    page.keyboard.press("ArrowLeft")
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    expect(selected).to_have_id(second_id)
    expect(selected).to_be_focused()
    expect(page.locator("#login-tab")).to_have_attribute("aria-labelledby", second_id)
    expect(page).to_have_url(re.compile(r"\?tab=" + second_id.removeprefix("tab-") + "$"))
    page.keyboard.press("ArrowLeft")
    expect(selected).to_have_id(first_id)
    expect(selected).to_be_focused()
    expect(page.locator("#login-tab")).to_have_attribute("aria-labelledby", first_id)
    # The BIN/password form, filled and sent from the keyboard.
    for _ in range(3):
        if page.locator("#tab-bin[aria-selected=true]").count():
            break
        page.keyboard.press("ArrowRight")
        expect(selected).to_be_focused()
    expect(page.locator("#login-tab")).to_have_attribute("aria-labelledby", "tab-bin")
    expect(page.locator("#tab-bin")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("document.activeElement.name") == "bin":
            break
        page.keyboard.press("Tab")
    page.keyboard.type(scene["user"].organization.bin)
    page.keyboard.press("Tab")
    page.keyboard.type("Passw0rd!")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)


def _hashed(password):
    from django.contrib.auth.hashers import make_password

    return make_password(password)


@pytest.mark.parametrize("language, width", [("ru", 1366), ("kk", 390)])
def test_modals_take_keep_and_give_back_the_focus(page, live_server, login_browser, scene, language, width):
    """Type choice, create and consent modals: focus moves in, Tab and Shift+Tab stay inside,
    the background is inert, Esc closes and the focus returns to the trigger."""
    page.set_viewport_size({"width": width, "height": 844})
    _set_language(page, live_server.url, language)
    login_browser(page, scene["user"])
    for url, trigger in [("/appeals/", "a[href='/appeals/new/']"),
                         ("/applications/guarantee/", "[data-create-application]"),
                         (f"/appeals/{scene['appeal'].public_id}/", "button[name=action][value=sign]")]:
        page.goto(url)
        page.locator(trigger).first.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("[role=dialog]").first
        expect(dialog).to_be_visible()
        assert dialog.get_attribute("aria-modal") == "true"
        labelled = dialog.get_attribute("aria-labelledby")
        assert labelled and page.locator(f"#{labelled}").inner_text().strip()
        page.wait_for_function("document.activeElement.closest('[role=dialog]') !== null")
        for _ in range(12):
            page.keyboard.press("Tab")
            assert _focused(page)["in_dialog"], (url, _focused(page))
        for _ in range(12):
            page.keyboard.press("Shift+Tab")
            assert _focused(page)["in_dialog"], (url, _focused(page))
        assert page.evaluate("document.querySelector('header.site-header').closest('[inert]') !== null")
        page.keyboard.press("Escape")
        expect(page.locator("[role=dialog]")).to_have_count(0)
        assert page.evaluate(f"document.activeElement === document.querySelector(\"{trigger}\")"), (url, _focused(page))
        assert page.evaluate("document.querySelector('[inert]') === null")


@pytest.mark.parametrize("language, width", [("kk", 1366), ("ru", 390)])
def test_the_signing_modal_by_keyboard(page, live_server, login_browser, scene, language, width):
    """Consent, then the signing modal (method choice, then the ЭЦП panel) with the keyboard:
    the focus is inside at each step, stays inside, Esc closes, the focus is back on «Подписать»."""
    page.set_viewport_size({"width": width, "height": 844})
    _set_language(page, live_server.url, language)
    login_browser(page, scene["user"])
    page.goto(f"/appeals/{scene['appeal'].public_id}/")
    trigger = "button[name=action][value=sign]"
    page.locator(trigger).focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.closest('#consent-modal') !== null")
    page.keyboard.press("Space")  # the consent check-box has the focus
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#signing-modal [role=dialog]")).to_be_visible()
    page.wait_for_function("document.activeElement.closest('#signing-modal') !== null")
    dialog = page.locator("#signing-modal [role=dialog]")
    assert dialog.get_attribute("aria-modal") == "true" and dialog.get_attribute("aria-labelledby") == "signing-title"
    for key in ["Tab"] * 10 + ["Shift+Tab"] * 10:
        page.keyboard.press(key)
        assert _focused(page)["in_dialog"], _focused(page)
    page.locator("#signing-modal input[value=ecp]").focus()
    page.keyboard.press("Space")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    expect(page.locator("#signing-modal input[type=file]")).to_be_visible()
    page.wait_for_function("document.activeElement.closest('#signing-modal') !== null")
    for key in ["Tab"] * 10 + ["Shift+Tab"] * 10:
        page.keyboard.press(key)
        assert _focused(page)["in_dialog"], _focused(page)
    assert axe_violations(page, context="#signing-modal") == []
    page.keyboard.press("Escape")
    expect(page.locator("[role=dialog]")).to_have_count(0)
    assert page.evaluate(f"document.activeElement === document.querySelector('{trigger}')"), _focused(page)
