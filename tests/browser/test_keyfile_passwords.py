"""Non-ASCII key passwords in the page (issue #11), Debian's Chromium: a fresh key of the demo
company's head re-wrapped under «Құпия2024», as PBES2/AES-256 (PBKDF2 over the UTF-8 bytes) and as the
legacy 3DES + RC2-40 + SHA-1 MAC (PKCS#12 KDF over the BMPString), each opened in the page and signed;
the server accepts the CMS. A password one letter off is refused in the page. The same files open in
Python and in the NCALayer emulator: signing/tests/test_key_passwords.py."""

import pytest
from playwright.sync_api import expect

from signing import pki
from tests.browser.keyfile import sign_with_key_file

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Құпия2024"  # noqa: S105 - a test key's password


@pytest.fixture(scope="module")
def unicode_key_files(tmp_path_factory, _test_pki):
    base = tmp_path_factory.mktemp("unicode-keys")
    p12 = pki.issue_test_key(slug="company_head", purpose="SIGN")
    files = {}
    for kind, legacy in (("pbes2", False), ("legacy", True)):
        path = base / f"RSA256_unicode_{kind}.p12"
        path.write_bytes(pki.pkcs12_rewrap(p12, password=pki.DEMO_PASSWORD, new_password=PASSWORD, legacy=legacy))
        files[kind] = path
    return files


def _ecp_panel(page):
    page.goto("/signing/demo/")
    page.get_by_role("button", name="Подписать ЭЦП/QR").click()
    dialog = page.get_by_role("dialog")
    dialog.locator("input[value=ecp]").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.locator("[data-keyfile-form]")).to_be_visible()
    return dialog


@pytest.mark.parametrize("kind", ["pbes2", "legacy"])
def test_a_kazakh_password_opens_the_key_file_in_the_page(page, login_browser, company_user, unicode_key_files, kind):
    from signing.models import Signature

    login_browser(page, company_user)
    dialog = _ecp_panel(page)
    sign_with_key_file(dialog, unicode_key_files[kind], "Кұпия2024")  # К (Cyrillic) for Қ: wrong
    expect(dialog.locator("#id_password_error")).to_have_text("Неверный пароль к файлу ключа.")
    assert not Signature.objects.exists()
    sign_with_key_file(dialog, unicode_key_files[kind], PASSWORD)
    table = page.locator(".signature-table").first
    expect(table).to_contain_text("Подписано")
    expect(table).to_contain_text("ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")
    from signing.services import pkcs12_open  # the server stored the fresh key's signature, not a demo file's

    fresh = pkcs12_open(data=unicode_key_files[kind].read_bytes(), password=PASSWORD).certificate_info
    (signature,) = Signature.objects.all()
    assert signature.signer_iin == fresh.iin
    assert signature.certificate_serial == fresh.serial_number
