"""Signing journeys in a real browser (Russian): sign a demo document by ЭЦП and by eGov QR (through
the eGov mobile simulator page), see «Сведения о подписи», verify the downloaded PDF on the verifier."""

import re

import pytest
from playwright.sync_api import expect

from signing import pki

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_modal(page):
    page.goto("/signing/demo/")
    page.get_by_role("button", name="Подписать ЭЦП/QR").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Подпись документа")).to_be_visible()
    expect(dialog.get_by_text("Выберите способ подписания")).to_be_visible()
    return dialog


def _verify_download(page):
    with page.expect_download() as info:
        page.get_by_role("link", name="Скачать подписанный документ").first.click()
    path = info.value.path()
    page.goto("/signing/verify/")
    page.locator("#id_file").set_input_files(path)
    page.get_by_role("button", name="Проверить").click()
    expect(page.get_by_role("heading", name="Все подписи действительны; документ не изменён.")).to_be_visible()
    expect(page.locator(".verify-report")).to_contain_text(pki.KZHK_BIN)


def test_sign_demo_document_by_ecp_then_verify_download(page, login_browser, company_user):
    login_browser(page, company_user)
    dialog = _open_modal(page)
    dialog.get_by_label("через ЭЦП").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.get_by_role("heading", name="Подписать, используя электронную цифровую подпись (ЭЦП)")).to_be_visible()
    expect(dialog.get_by_text("Пожалуйста, используйте ключ RSA").first).to_be_visible()
    dialog.get_by_label("Выберите файл").set_input_files(str(pki.demo_key_path("company_head_sign")))
    dialog.get_by_label("Пароль").fill("not-the-password")
    dialog.get_by_role("button", name="Отправить форму").click()
    expect(page.locator("#id_password_error")).to_have_text("Неверный пароль к файлу ключа.")
    # the upload is not kept after a refusal: choose the file again (a key never lives on the server)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Выберите файл").set_input_files(str(pki.demo_key_path("company_head_sign")))
    dialog.get_by_label("Пароль").fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name="Отправить форму").click()
    table = page.locator(".signature-table").first
    expect(table).to_contain_text("Подписано")
    expect(table).to_contain_text("ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")
    expect(table.get_by_role("columnheader", name="Статус подписания")).to_be_visible()
    _verify_download(page)


def test_refused_certificate_message_at_the_field(page, login_browser, company_user):
    login_browser(page, company_user)
    dialog = _open_modal(page)
    dialog.get_by_role("button", name="Продолжить").click()
    dialog.get_by_label("Выберите файл").set_input_files(str(pki.demo_key_path("revoked_sign")))
    dialog.get_by_label("Пароль").fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name="Отправить форму").click()
    expect(page.locator("#id_key_file_error")).to_have_text("Сертификат отозван.")


def test_sign_demo_document_by_qr_through_the_simulator(page, login_browser, company_user):
    login_browser(page, company_user)
    dialog = _open_modal(page)
    dialog.get_by_label("через QR").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.get_by_role("heading", name="Подписать с помощью QR-кода:")).to_be_visible()
    expect(dialog.get_by_text("Отсканируйте данный QR-код;")).to_be_visible()
    expect(dialog.locator(".signing-countdown")).to_contain_text(re.compile(r"Получить новый QR-код через 0?9:[0-5]\d"))
    expect(dialog.get_by_role("img", name="QR-код для подписания в eGov mobile")).to_be_visible()
    qr_text = dialog.locator("#qr-text").input_value()
    assert qr_text.startswith("mobileSign:http")
    expect(dialog.locator("#qr-status")).to_contain_text("Ожидаем сканирования QR-кода")

    phone = page.context.new_page()
    phone.goto("/signing/dev/egov-simulator/")
    phone.get_by_label("Текст QR-кода или адрес API 1").fill(qr_text)
    phone.get_by_label("Демо-ключ").select_option("company_signer_sign")
    phone.get_by_role("button", name="Сканировать и подписать").click()
    expect(phone.locator(".simulator-result")).to_contain_text("HTTP 200")
    phone.close()

    expect(dialog.locator("#qr-status")).to_contain_text("Документ подписан в приложении", timeout=10_000)
    dialog.get_by_role("button", name="Отправить", exact=True).click()
    table = page.locator(".signature-table").first
    expect(table).to_contain_text("САТПАЕВА АЙГЕРИМ КАНАТОВНА")
    expect(table).to_contain_text("Подписано")
    _verify_download(page)
