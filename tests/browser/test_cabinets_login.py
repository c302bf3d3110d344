"""Cabinet journeys in a real browser (Russian): the three-tab login, forgot password,
profile e-mail change, notifications. Codes are read from mail.outbox / the SMS outbox."""

import pytest
from playwright.sync_api import expect

from cabinets.models import Notification
from cabinets.tests.helpers import last_email_code
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_by_bin_and_password_then_logout(page):
    user = UserFactory()
    page.goto("/login/")
    expect(page.get_by_role("heading", name="ВОЙТИ")).to_be_visible()
    page.get_by_role("tab", name="БИН/Пароль").click()
    expect(page.get_by_role("tab", name="БИН/Пароль")).to_have_attribute("aria-selected", "true")
    page.locator("#id_bin").fill(user.organization.bin)
    page.locator("#id_password").fill("Wrong-pass1")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".field-error")).to_have_text("Неверный пароль")
    page.locator("#id_password").fill("Passw0rd!")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.locator("#profile-bin")).to_have_text(user.organization.bin)
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_role("link", name="ВОЙТИ").first).to_be_visible()


def test_login_by_email_code(page):
    user = UserFactory()
    page.goto("/login/")
    page.locator("#id_email").fill(user.email)
    page.get_by_role("button", name="Получить разовый код").click()
    page.get_by_label("Разовый код").fill(last_email_code(user.email))
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()
    expect(page.locator("#profile-email")).to_contain_text(user.email)


def test_lockout_after_five_wrong_passwords(page):
    user = UserFactory()
    page.goto("/login/?tab=bin")
    for _ in range(5):
        page.locator("#id_bin").fill(user.organization.bin)
        page.locator("#id_password").fill("Wrong-pass1")
        page.get_by_role("button", name="Войти").click()
        page.wait_for_load_state()
    expect(page.locator(".form-errors")).to_contain_text("15 минут")
    page.locator("#id_bin").fill(user.organization.bin)
    page.locator("#id_password").fill("Passw0rd!")
    page.get_by_role("button", name="Войти").click()
    expect(page.locator(".form-errors")).to_contain_text("15 минут")


def test_forgot_password_with_live_checklist(page):
    user = UserFactory()
    page.goto("/login/")
    page.get_by_role("link", name="Забыли пароль?").click()
    page.locator("#id_email").fill(user.email)
    page.get_by_role("button", name="Получить разовый код").click()
    page.get_by_label("Разовый код").fill(last_email_code(user.email))
    new = page.get_by_label("Новый пароль")
    new.fill("abc")
    checklist = page.locator("[data-password-checklist]")
    expect(checklist.locator('[data-rule="lower"]')).to_have_class("ok")
    expect(checklist.locator('[data-rule="upper"]')).not_to_have_class("ok")
    new.fill("Abcdef1!")
    page.get_by_label("Повторите пароль").fill("Abcdef1!")
    for rule in ("length", "digit", "special", "lower", "upper", "match"):
        expect(checklist.locator(f'[data-rule="{rule}"]')).to_have_class("ok")
    page.get_by_role("button", name="Сохранить новый пароль").click()
    expect(page.locator(".toast-success")).to_contain_text("Пароль изменён")
    page.locator("#id_bin").fill(user.organization.bin)
    page.locator("#id_password").fill("Abcdef1!")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Профиль")).to_be_visible()


def test_profile_email_change_shows_green_check(page, login_browser):
    user = UserFactory()
    login_browser(page, user)
    page.goto("/profile/")
    page.locator("#profile-email").get_by_role("link", name="Изменить").click()
    page.get_by_label("Новое значение").fill("renamed@example.kz")
    page.get_by_label("Текущий пароль").fill("Passw0rd!")
    page.get_by_role("button", name="Получить разовый код").click()
    expect(page.locator("#contact-code")).to_contain_text("renamed@example.kz")
    page.get_by_label("Разовый код").fill(last_email_code("renamed@example.kz"))
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.locator("#profile-email .verified")).to_be_visible()
    expect(page.locator("#profile-email")).to_contain_text("renamed@example.kz")


def test_notification_marked_read_with_htmx(page, login_browser):
    user = UserFactory()
    Notification.objects.create(organization=user.organization, title_ru="Заявка зарегистрирована", title_kk="Өтінім тіркелді")
    Notification.objects.create(organization=user.organization, title_ru="Вторая", title_kk="Екінші")
    login_browser(page, user)
    page.goto("/notifications/")
    expect(page.locator("#unread-count")).to_have_text("2")
    card = page.locator(".notification", has_text="Заявка зарегистрирована")
    card.get_by_role("button", name="Отметить как прочитанное").click()
    expect(page.locator("#unread-count")).to_have_text("1")
    expect(page.locator(".notification", has_text="Заявка зарегистрирована")).not_to_have_class("unread")


@pytest.mark.parametrize(("url", "button"), [("/login/?tab=eds", "Войти через ЭЦП"), ("/register/", "Продолжить")])
def test_a_refused_ecp_start_says_why_at_the_button(page, settings, url, button):
    """The start posts by htmx into the modal root; once the per-IP limit refuses it, the message must
    appear on the page (it once went into the empty modal root and the click seemed to do nothing)."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "1/15minutes", "register-ip": "1/hour"}
    page.goto(url)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name=button).click()
    expect(page.locator("#id_eds_error")).to_contain_text("Слишком много попыток")
    expect(page.get_by_role("button", name=button)).to_be_visible()
    assert page.locator("main#main").count() == 1  # the page swapped in place, not nested
