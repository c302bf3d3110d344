"""Issue #14 item 12: the QR window on a 390-px phone — «Отправить» and «Получить новый QR-код»
stay in the viewport while the window scrolls (sticky footer), and the window offers the eGov
mobile / eGov Business deep links with the API №1 address (a user cannot scan their own screen);
on a computer the links are hidden and the QR is scanned."""

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.test_signing_journeys import _open_modal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IN_VIEWPORT = """el => { const r = el.getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth; }"""


def _open_qr(page):
    dialog = _open_modal(page)
    dialog.get_by_label("через QR").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.get_by_role("heading", name="Подписать с помощью QR-кода:")).to_be_visible()
    return dialog


def test_qr_buttons_stay_in_view_and_deep_links_on_a_phone(page, login_browser, company_user):  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 700})
    login_browser(page, company_user)
    dialog = _open_qr(page)
    send = dialog.get_by_role("button", name="Отправить", exact=True)
    renew = dialog.get_by_role("button", name="Получить новый QR-код")
    modal = page.locator(".signing-modal")
    overflow = modal.evaluate("m => m.scrollHeight - m.clientHeight")
    assert overflow > 0  # the window scrolls at this size: without the sticky footer the buttons are below
    for scroll in ("m => m.scrollTop = 0", "m => m.scrollTop = m.scrollHeight / 2", "m => m.scrollTop = m.scrollHeight"):
        modal.evaluate(scroll)
        for button in (send, renew):
            assert button.evaluate(IN_VIEWPORT), scroll
            # not covered by the content scrolling under it
            assert button.evaluate("b => { const r = b.getBoundingClientRect();"
                                   " return b.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }")
    api1 = dialog.locator("#qr-text").input_value().removeprefix("mobileSign:")
    mobile = dialog.get_by_role("link", name="Открыть в eGov mobile")
    business = dialog.get_by_role("link", name="Открыть в eGov Business")
    expect(mobile).to_be_visible()
    expect(business).to_be_visible()
    assert mobile.get_attribute("href").startswith(f"https://mgovsign.page.link/?link={quote(api1, safe='')}&")
    assert business.get_attribute("href").startswith(f"https://egovbusiness.page.link/?link={quote(api1, safe='')}&")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_no_deep_links_on_a_computer(page, login_browser, company_user):  # noqa: F811
    page.set_viewport_size({"width": 1366, "height": 768})
    login_browser(page, company_user)
    dialog = _open_qr(page)
    expect(dialog.get_by_role("link", name="Открыть в eGov mobile")).to_be_hidden()
    expect(dialog.get_by_role("button", name="Отправить", exact=True)).to_be_in_viewport()
