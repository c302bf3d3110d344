"""The shared Playwright step for the in-page key file (issue #11): in signing's ЭЦП panel the
file input and the password are filled and «Отправить форму» pressed; the page signs in the
browser and posts only the CMS."""

from playwright.sync_api import expect


def sign_with_key_file(scope, key_path, password, *, send="Отправить форму"):
    """`scope`: the modal (page.locator("#modal-root")) or the page showing the ЭЦП panel."""
    form = scope.locator("[data-keyfile-form]")
    expect(form).to_be_visible()
    form.locator("#id_key_file").set_input_files(str(key_path))
    form.locator("#id_password").fill(password)
    form.get_by_role("button", name=send).click()
