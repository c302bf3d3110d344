"""Resumable uploads in a real browser (tus-js-client → uploads/tus.py): a 50 MB file, the page
reloaded at about half, the same file chosen again — it continues from the server's offset with
the progress shown, and the finished file's sha256 is recorded. In Russian and Kazakh."""

import hashlib
import os

import pytest
from django.conf import settings as dj_settings
from django.utils import translation
from playwright.sync_api import expect

from appeals.models import OFFICIAL_LETTER, AppealFile
from appeals.tests.factories import AppealFactory
from tests.factories import UserFactory
from uploads.models import ResumableUpload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MiB = 1024 * 1024


def _throttle(page, bytes_per_second: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 5, "downloadThroughput": -1,
                                                   "uploadThroughput": bytes_per_second})


def _percent(page) -> int:
    return int(page.locator(".tus-upload").first.get_attribute("data-tus-percent") or 0)


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_reload_at_half_then_the_same_file_continues_from_the_offset(page, login_browser, live_server, settings,
                                                                    tmp_path, lang):
    settings.TUS_CHUNK_SIZE = 2 * MiB
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, created_by=user)
    data = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + os.urandom(50 * MiB - 15)
    path = tmp_path / "ПСД-50МБ.pdf"
    path.write_bytes(data)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    page.context.add_cookies([{"name": dj_settings.LANGUAGE_COOKIE_NAME, "value": lang, "domain": host, "path": "/"}])
    login_browser(page, user)
    with translation.override(lang):
        continued = translation.gettext("Continued from {percent}.").split("{percent}")[0].strip()
    page.set_viewport_size({"width": 1366, "height": 900} if lang == "ru" else {"width": 390, "height": 844})
    _throttle(page, 12 * MiB)

    page.goto(f"/appeals/{appeal.public_id}/?tab=docs")
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    slot.locator("input[type=file]").set_input_files(str(path))
    slot.locator("button[type=submit]").click()
    expect(slot.locator(".tus-upload .progress")).to_be_visible()
    page.wait_for_function("() => { const r = document.querySelector('.tus-upload');"
                           " return r && +r.dataset.tusPercent >= 45; }", timeout=60_000)
    page.reload()  # the connection of the running PATCH is dropped

    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    slot.locator("input[type=file]").set_input_files(str(path))
    slot.locator("button[type=submit]").click()
    status = slot.locator(".tus-status")
    expect(status).to_contain_text(continued, timeout=30_000)
    assert _percent(page) >= 35  # it went on from the offset, not from zero
    assert int(status.inner_text().split(continued, 1)[1].strip().split()[0]) >= 35  # "… 47 %."
    slot.screenshot(path=f"/tmp/h16-tus-shots/progress-{lang}.png")
    expect(slot.locator(".tus-upload .progress")).to_be_visible()
    expect(page.locator(f"#slot-{OFFICIAL_LETTER} .file-list")).to_contain_text("ПСД-50МБ.pdf", timeout=90_000)

    record = AppealFile.objects.get(appeal=appeal)
    assert record.size == len(data) and record.sha256 == hashlib.sha256(data).hexdigest()
    assert ResumableUpload.objects.count() == 1  # one upload, resumed — not a second one
    page.screenshot(path=f"/tmp/h16-tus-shots/resumed-{lang}.png", full_page=True)
