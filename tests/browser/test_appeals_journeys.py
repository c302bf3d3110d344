"""«Мои обращения в АО «КЖК»» in a real browser (Russian): create a guarantee-type appeal with
category «Иное», upload the letter, save a draft, come back, sign by ЭЦП; another appeal signed by
QR through the eGov mobile simulator; BPMS statuses with their payloads, the revision loop, and the
ДС signed by the applicant, the developer and KZhK, downloaded and verified."""


import pytest
from playwright.sync_api import expect

from appeals import services
from appeals.models import OFFICIAL_LETTER, Appeal, AppealFile, AppealStatus
from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from signing import pki
from tests.factories import ContractFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = AppealStatus
LETTER = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def parties():
    company = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»")
    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»", kind="developer")
    contract = ContractFactory(organization=company, developer=developer, number="ДЛГ-23-02-064/147",
                               kind="guarantee")
    ContractFactory(organization=company, developer=developer, number="ДС-24-01-015/12", kind="subsidy")
    services.category_other_ensure()
    return {
        "company": company, "developer": developer, "contract": contract,
        "user": UserFactory(organization=company), "developer_user": UserFactory(organization=developer),
    }


def _sign_by_ecp(page, slug):
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Подпись документа")).to_be_visible()
    dialog.get_by_label("через ЭЦП").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.get_by_role("heading", name="Подписать, используя электронную цифровую подпись (ЭЦП)")).to_be_visible()
    dialog.get_by_label("Выберите файл").set_input_files(str(pki.demo_key_path(slug)))
    dialog.get_by_label("Пароль").fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name="Отправить форму").click()


def _in_thread(fn, **kwargs):
    """pyHanko signs with asyncio.run(): not in the thread where Playwright's loop runs."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return fn(**kwargs)
        finally:
            connection.close()  # the worker thread's own connection

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _consent_and_open_signing(page):
    page.get_by_role("button", name="Подписать заявку").click()
    consent = page.get_by_role("dialog")
    expect(consent.get_by_role("heading", name="Условия и сроки рассмотрения обращения")).to_be_visible()
    expect(consent).to_contain_text("с 9.30 до 19.00")
    consent.get_by_role("button", name="Подписать заявку").click()
    expect(page.get_by_role("dialog")).to_contain_text("Подтвердите согласие с условиями и сроками рассмотрения.")
    page.get_by_role("dialog").get_by_label("С условиями и сроками рассмотрения обращения ознакомлен(а) и согласен(на)").check()
    page.get_by_role("dialog").get_by_role("button", name="Подписать заявку").click()


def test_create_other_appeal_upload_letter_draft_then_sign_by_ecp(page, login_browser, parties, tmp_path):
    login_browser(page, parties["user"])
    page.goto("/appeals/")
    expect(page.get_by_role("heading", name="Мои обращения в АО «КЖК»")).to_be_visible()
    page.get_by_role("link", name="Создать обращение").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Выберите тип обращения")).to_be_visible()
    expect(dialog).to_contain_text("действующих договоров гарантирования долевого жилищного строительства")
    expect(dialog).to_contain_text("+7 7172 79 75 75")
    dialog.get_by_role("link", name="Субсидирование").click()
    expect(page.get_by_role("dialog")).to_contain_text("действующих договоров субсидирования")
    page.get_by_role("dialog").get_by_role("link", name="Гарантирование").click()
    expect(page.get_by_role("dialog")).to_contain_text("гарантирования долевого жилищного строительства")
    page.get_by_role("dialog").get_by_role("link", name="Далее").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("link", name="← Вернуться назад")).to_be_visible()
    dialog.get_by_label("1. Выберите договор, по которому подается обращение в АО «КЖК»").select_option(
        str(parties["contract"].pk))
    dialog.get_by_label("2. Выберите категорию обращения").select_option(label="Иное")
    dialog.get_by_role("button", name="Создать обращение").click()

    expect(page.get_by_role("heading", name="Обращение в АО «КЖК»: Иное")).to_be_visible()
    expect(page.get_by_label("Номер договора")).to_have_value("ДЛГ-23-02-064/147")
    expect(page.get_by_text("Важно! Заявления, направленные вне рабочего времени АО «КЖК»")).to_be_visible()
    page.get_by_label("Текст обращения").fill("Просим уточнить порядок представления отчётности.")
    page.get_by_role("tab", name="Подтверждающие документы").click()
    letter = tmp_path / "Письмо-обращение.pdf"
    letter.write_bytes(LETTER)
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    slot.locator("input[type=file]").set_input_files(str(letter))
    slot.get_by_role("button", name="Загрузить").click()
    expect(page.locator(f"#slot-{OFFICIAL_LETTER}").get_by_role("link", name="Письмо-обращение.pdf")).to_be_visible()
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.get_by_text("Черновик сохранён.")).to_be_visible()

    # Come back later from the list.
    page.goto("/appeals/")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("На создании")
    row.get_by_role("link", name="Редактировать").click()
    expect(page.get_by_label("Текст обращения")).to_have_value("Просим уточнить порядок представления отчётности.")

    _consent_and_open_signing(page)
    _sign_by_ecp(page, "company_head_sign")
    expect(page.get_by_role("heading", name="Мои обращения в АО «КЖК»")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("Заявка отправлена")
    appeal = Appeal.objects.get()
    assert appeal.status == S.SENT and appeal.signatures.get().signer_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"


def _ready_appeal(parties, text="Иное обращение") -> Appeal:
    from django.core.files.base import ContentFile

    appeal = services.appeal_create(organization=parties["company"], user=parties["user"],
                                    contract=parties["contract"], category=services.category_other_ensure())
    services.appeal_update(appeal=appeal, user=parties["user"], data={"other_text": text})
    services.appeal_file_add(appeal=appeal, slot=OFFICIAL_LETTER, uploaded_file=ContentFile(LETTER, name="letter.pdf"),
                             content_type="application/pdf")
    return appeal


def test_sign_by_qr_through_the_egov_simulator(page, login_browser, parties):
    appeal = _ready_appeal(parties)
    login_browser(page, parties["user"])
    page.goto(f"/appeals/{appeal.public_id}/")
    _consent_and_open_signing(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("через QR").check()
    dialog.get_by_role("button", name="Продолжить").click()
    expect(dialog.get_by_role("heading", name="Подписать с помощью QR-кода:")).to_be_visible()
    qr_text = dialog.locator("#qr-text").input_value()
    phone = page.context.new_page()
    phone.goto("/signing/dev/egov-simulator/")
    phone.get_by_label("Текст QR-кода или адрес API 1").fill(qr_text)
    phone.get_by_label("Демо-ключ").select_option("company_signer_sign")
    phone.get_by_role("button", name="Сканировать и подписать").click()
    expect(phone.locator(".simulator-result")).to_contain_text("HTTP 200")
    phone.close()
    expect(dialog.locator("#qr-status")).to_contain_text("Документ подписан в приложении", timeout=10_000)
    dialog.get_by_role("button", name="Отправить", exact=True).click()
    expect(page.get_by_role("heading", name="Мои обращения в АО «КЖК»")).to_be_visible()
    expect(page.locator("tbody tr").first).to_contain_text("Заявка отправлена")
    appeal.refresh_from_db()
    assert appeal.signatures.get().signer_name == "САТПАЕВА АЙГЕРИМ КАНАТОВНА"


@pytest.fixture
def bpms_mock(tmp_path, settings):
    from bpms_bridge.tests.mockproc import MockProcess

    proc = MockProcess(tmp_path / "mock.sqlite3").start()
    settings.BPMS_BASE_URL = proc.url
    yield proc
    proc.stop()


def _send_outbox():
    from bpms_bridge import services as bridge
    from bpms_bridge.models import OutboxMessage

    for message in OutboxMessage.objects.filter(status="pending").order_by("pk"):
        bridge.outbox_send(message_id=message.pk)


def _pull_feed():
    """bpms_bridge.feed_pull holds a Redis lock shared by every test run on this machine: if
    another run holds it, try again."""
    import time

    from bpms_bridge import services as bridge

    for _attempt in range(100):
        if bridge.feed_pull():
            return
        time.sleep(0.2)
    raise AssertionError("the BPMS feed brought nothing")


def _operator(mock, appeal, *actions, **form):
    """KZhK's operator acts in BPMS Simbase (the mock); the portal pulls the feed."""
    _send_outbox()
    for action in actions:
        status, answer = mock.call("POST", "/admin/actions", {
            "case_kind": "appeal", "external_id": str(appeal.public_id), "action": action, **form})
        assert status == 200, answer
    _in_thread(_pull_feed)


def test_statuses_revision_loop_and_ds_signed_by_all_parties(page, login_browser, parties, browser, live_server,
                                                             tmp_path, django_user_model, bpms_mock, settings):
    appeal = _ready_appeal(parties)
    services.appeal_signed(appeal=appeal, signer=services.Signer(full_name="ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"))
    _operator(bpms_mock, appeal, "register", "assign", "revision", executor="Сапарова Айгерим Болатовна",
              notes="Приложите график работ")
    appeal.refresh_from_db()
    assert appeal.status == S.REVISION

    login_browser(page, parties["user"])
    page.goto("/appeals/")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text(appeal.registration_number)
    expect(row).to_contain_text("Заявка рассмотрена, необходимо доработать")
    row.get_by_role("link", name="Подробнее").click()
    expect(page.get_by_role("heading", name="История заявки")).to_be_visible()
    history = page.locator(".history-table")
    for text in ["Заявка сформирована", "Заявка подписана", "Заявка отправлена", "Заявка зарегистрирована",
                 appeal.registration_number, appeal.review_deadline.strftime("%d.%m.%Y"), "Заявка на рассмотрении",
                 "Сапарова Айгерим Болатовна", appeal.internal_number, "Приложите график работ"]:
        expect(history).to_contain_text(text)
    with page.expect_download() as info:
        history.get_by_role("link", name="Скачать").click()
    _verify(page, info.value.path())

    # Revision: edit and sign again → «Заявка отправлена».
    page.goto(f"/appeals/{appeal.public_id}/history/")
    page.get_by_role("link", name="Доработать").click()
    page.get_by_label("Текст обращения").fill("Иное обращение, дополненное графиком.")
    _consent_and_open_signing(page)
    _sign_by_ecp(page, "company_head_sign")
    expect(page.locator("tbody tr").first).to_contain_text("Заявка отправлена")

    _operator(bpms_mock, appeal, "assign", "approve", "prepare_ds")
    page.reload()
    expect(page.locator("tbody tr").first).to_contain_text("Подписание ДС Заявителем")

    # The applicant signs the ДС.
    page.goto("/appeals/")
    page.locator("tbody tr").first.get_by_role("link", name="Дополнительное соглашение").click()
    expect(page.locator("#appeal-status")).to_have_text("Подписание ДС Заявителем")
    page.get_by_role("button", name="Подписать ДС").click()
    _sign_by_ecp(page, "company_head_sign")
    expect(page.locator(".signature-table")).to_contain_text("ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")
    expect(page.get_by_role("button", name="Подписать ДС")).to_have_count(0)

    # The developer signs in its own cabinet.
    dev_context = browser.new_context(base_url=live_server.url, locale="ru-RU", accept_downloads=True)
    dev = dev_context.new_page()
    login_browser(dev, parties["developer_user"])
    dev.goto("/appeals/")
    dev_row = dev.locator("tbody tr").first
    expect(dev_row).to_contain_text("ДЛГ-23-02-064/147")
    expect(dev_row.get_by_role("link", name="Подробнее")).to_have_count(0)
    dev_row.get_by_role("link", name="Дополнительное соглашение").click()
    dev.get_by_role("button", name="Подписать ДС").click()
    _sign_by_ecp(dev, "developer_head_sign")
    table = dev.locator(".signature-table")
    expect(table).to_contain_text("ЖУМАБЕКОВ ЕРЛАН СЕРИКОВИЧ")
    expect(table).to_contain_text("ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")
    expect(dev.locator("#appeal-status")).to_have_text("Подписание ДС АО «КЖК»")
    dev_context.close()

    # KZhK signs in the admin; the status table is the only way.
    staff = django_user_model.objects.create_superuser("kzhk-moderator", "x", surname="Модератор")
    admin_context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    admin = admin_context.new_page()
    login_browser(admin, staff)
    admin.goto(f"/admin/appeals/appeal/{appeal.pk}/transition/")
    admin.locator("#id_to").select_option("ds_signed")
    admin.locator("#id_ds_number").fill("ДС-42/2026")
    admin.locator("#id_ds_date").fill("2026-12-25")
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker's task (appeals.ds_sign_by_kzhk) runs at once here
    admin.locator("input[type=submit]").click()
    expect(admin.locator(".messagelist")).to_contain_text("Документ формируется")
    admin_context.close()

    page.goto(f"/appeals/{appeal.public_id}/ds/")
    expect(page.locator("#appeal-status")).to_have_text("ДС подписано")
    expect(page.locator(".signature-table")).to_contain_text("АО «КЖК»")
    with page.expect_download() as info:
        page.get_by_role("link", name="Скачать ДС").click()
    # The ДС carries the applicant's and the developer's PAdES signatures, then KZhK's.
    _verify(page, info.value.path(), bins=(DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN))
    assert AppealFile.objects.filter(appeal=appeal).count() == 1


def _verify(page, path, *, bins=()):
    page.goto("/signing/verify/")
    page.locator("#id_file").set_input_files(path)
    page.get_by_role("button", name="Проверить").click()
    expect(page.get_by_role("heading", name="Все подписи действительны; документ не изменён.")).to_be_visible()
    for bin_ in (pki.KZHK_BIN, *bins):
        expect(page.locator(".verify-report")).to_contain_text(bin_)


def test_upload_errors_at_the_document_and_delete(page, login_browser, parties, tmp_path):
    appeal = services.appeal_create(organization=parties["company"], user=parties["user"],
                                    contract=parties["contract"], category=services.category_other_ensure())
    login_browser(page, parties["user"])
    page.goto(f"/appeals/{appeal.public_id}/?tab=docs")
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    # Wrong type: the server's message at the document, nothing stored.
    exe = tmp_path / "program.pdf"
    exe.write_bytes(b"MZ\x90\x00" * 100)
    slot.locator("input[type=file]").set_input_files(str(exe))
    slot.get_by_role("button", name="Загрузить").click()
    expect(page.locator(f"#slot-{OFFICIAL_LETTER}")).to_contain_text("Этот тип файла не принимается")
    # Too large: caught in the browser before anything is sent (the limit lowered for the test).
    page.locator(f"#slot-{OFFICIAL_LETTER} form.upload-form").evaluate("f => f.setAttribute('data-max-bytes', '10')")
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(LETTER)
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    slot.locator("input[type=file]").set_input_files(str(letter))
    slot.get_by_role("button", name="Загрузить").click()
    expect(slot).to_contain_text("Размер файла превышает 700 Мб.")
    assert not AppealFile.objects.exists()
    # A good file, then 🗑.
    page.reload()
    slot = page.locator(f"#slot-{OFFICIAL_LETTER}")
    slot.locator("input[type=file]").set_input_files(str(letter))
    slot.get_by_role("button", name="Загрузить").click()
    expect(page.locator(f"#slot-{OFFICIAL_LETTER}").get_by_role("link", name="letter.pdf")).to_be_visible()
    page.locator(f"#slot-{OFFICIAL_LETTER}").get_by_role("button", name="Удалить letter.pdf").click()
    expect(page.locator(f"#slot-{OFFICIAL_LETTER}").get_by_role("link", name="letter.pdf")).to_have_count(0)
    assert not AppealFile.objects.exists()
