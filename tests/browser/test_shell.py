"""The portal shell in a real browser: both languages, the menu, the language switch."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_in_russian_then_kazakh(page):
    page.goto("/")
    assert page.get_by_role("heading", name="Личный кабинет юридического лица").is_visible()
    assert page.locator(".brand-text").get_by_text("Казахстанская Жилищная Компания").is_visible()

    page.get_by_role("button", name="ҚАЗ").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Заңды тұлғаның жеке кабинеті").is_visible()
    assert page.locator("html").get_attribute("lang") == "kk"

    # The choice persists across pages.
    page.goto("/faq/")
    assert page.locator("html").get_attribute("lang") == "kk"

    assert page.get_by_role("heading", name="Жиі қойылатын сұрақтар (FAQ)").is_visible()
    page.get_by_role("button", name="RU").click()
    expect(page.get_by_role("heading", name="Часто задаваемые вопросы (FAQ)")).to_be_visible()


def test_menu_is_hidden_until_the_icon_opens_it(page):
    page.goto("/")
    menu = page.locator("#side-menu")
    assert not menu.is_visible()
    page.get_by_role("button", name="Меню").click()
    assert menu.is_visible()
    for label in ["Профиль", "Гарантирование", "Субсидирование", "Корректировка", "Уведомления", "Анкеты"]:
        assert menu.get_by_role("link", name=label).first.is_visible()
