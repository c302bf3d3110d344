"""The guarantee application in a real browser (Russian): the УК creates it (Нет, then Да with a
contract), fills the four stages, invites the developer, the developer confirms with its ЭЦП and
fills and signs its part, the УК sends to moderation, the moderator returns it with remarks, the
parties fix it, the moderator passes it, the УК signs: «Заявка отправлена». The form once in kk."""

import re

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from applications.models import Application, ConsentType, DocumentType, Provider, Status
from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from cabinets.models import LegalEntityRecord, User
from signing import pki
from tests.factories import ContractFactory, OrganizationFactory, UserFactory


def _kk(msgid):
    """Kazakh terms through the catalogue: docs/glossary.md governs them."""
    with translation.override("kk"):
        return translation.gettext(msgid)


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def setup(db):
    company = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»",
                                  name_kk="«Демо Уәкілетті Компания» ЖШС")
    user = UserFactory(organization=company, email="uk@demo.kz")
    LegalEntityRecord.objects.create(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»")
    LegalEntityRecord.objects.create(bin=DEMO_COMPANY_BIN, name_ru=company.name_ru, legal_address="г. Астана, ул. Достык, 13")
    ContractFactory(organization=company, number="ДЛГ-23-02-064/147", project_name="Многоквартирный жилой комплекс")
    DocumentType.objects.create(stage=2, name_ru="Устав организации", name_kk="Ұйымның жарғысы", provider=Provider.COMPANY)
    DocumentType.objects.create(stage=3, name_ru="Правоустанавливающие документы на земельный участок",
                                name_kk="Жер учаскесіне құқық белгілейтін құжаттар", provider=Provider.DEVELOPER)
    ConsentType.objects.create(name_ru="Согласие на сбор и обработку персональных данных", name_kk="Келісім",
                               provider=Provider.COMPANY)
    ConsentType.objects.create(name_ru="Согласие на получение проектно-сметной документации", name_kk="ЖСҚ келісім",
                               provider=Provider.DEVELOPER)
    moderator = User.objects.create_user("moderator-b", "pw", is_staff=True, is_superuser=True)
    return {"company": company, "user": user, "moderator": moderator}


def sign_in_modal(page, slug):
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Выберите способ подписания")).to_be_visible()
    dialog.get_by_label("через ЭЦП").check()
    dialog.get_by_role("button", name="Продолжить").click()
    dialog.get_by_label("Выберите файл").set_input_files(str(pki.demo_key_path(slug)))
    dialog.get_by_label("Пароль").fill(pki.DEMO_PASSWORD)
    dialog.get_by_role("button", name="Отправить форму").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def upload(page, document_name, tmp_path, filename):
    path = tmp_path / filename
    path.write_bytes(PDF)
    section = page.locator("section.doc-field", has_text=document_name)
    section.locator("input[type=file]").set_input_files(str(path))
    expect(page.locator("section.doc-field", has_text=document_name).get_by_role("link", name=filename)).to_be_visible()


def open_tab(page, name):
    page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
    return page.locator("#tab-body")


def fill_stage1(page):
    tab = page.locator("#tab-body")
    # «Информация об УК»: prefilled from the organization and the registry.
    expect(tab.get_by_label("БИН")).to_have_value(DEMO_COMPANY_BIN)
    expect(tab.get_by_label("Юридический адрес")).to_have_value("г. Астана, ул. Достык, 13")
    tab.get_by_label("Соответствует юридическому адресу").check()
    tab.get_by_label("Телефон").fill("+77011234567")
    tab.get_by_label("Электронный адрес").fill("uk@demo.kz")
    tab.get_by_label("Номер банковского счета (ИИК)").fill("KZ86125KZT5004100100")
    tab.get_by_label("Банковский идентификационный код (БИК)").fill("KCJBKZKX")
    tab.get_by_label("Код Бенефициара (КБе)").fill("1")  # wrong on purpose
    tab.get_by_label("Наименование обслуживающего банка").fill("АО «Банк ЦентрКредит»")
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.locator("#id_company-kbe_error")).to_be_visible()
    expect(page.get_by_label("Наименование обслуживающего банка")).to_have_value("АО «Банк ЦентрКредит»")  # kept
    page.get_by_label("Код Бенефициара (КБе)").fill("17")
    tab = open_tab(page, "Состав акционеров / учредителей")
    expect(page.get_by_role("tab", name="Информация об УК")).to_have_attribute("data-complete", "1")  # green
    tab.get_by_label("Наименование организации или ФИО").fill("Иванов Иван Иванович")
    tab.get_by_label("БИН/ИИН").fill(DEMO_COMPANY_BIN)
    tab.get_by_label("Доля участия в уставном капитале").fill("60")
    tab.get_by_label("Дата первичной регистрации/ перерегистрации").fill("2016-03-01")
    page.get_by_role("button", name="+ Добавить ещё").click()
    blocks = page.locator("fieldset.repeat-block")
    expect(blocks).to_have_count(2)
    expect(blocks.nth(0).get_by_label("Наименование организации или ФИО")).to_have_value("Иванов Иван Иванович")
    second = blocks.nth(1)
    second.get_by_label("Наименование организации или ФИО").fill("ТОО «Учредитель»")
    second.get_by_label("БИН/ИИН").fill(DEMO_DEVELOPER_BIN)
    second.get_by_label("Доля участия в уставном капитале").fill("40")
    second.get_by_label("Дата первичной регистрации/ перерегистрации").fill("2015-02-01")
    tab = open_tab(page, "Руководитель исполнительного органа")
    tab.get_by_label("ФИО", exact=False).first.fill("Демов Алексей Петрович")
    tab.get_by_label("ИИН").fill("850101300015")
    tab.get_by_label("Должность").fill("Директор")
    tab.get_by_label("Документ о назначении").fill("Приказ")
    tab.get_by_label("Номер документа о назначении").fill("1-к")
    tab.get_by_label("Дата назначения").fill("2020-01-10")
    tab.get_by_label("Телефон").fill("+77011234567")
    tab.get_by_label("Электронный адрес").fill("head@demo.kz")
    tab = open_tab(page, "Информация о проекте")
    tab.get_by_label("Наименование проекта").fill("ЖК «Демо»")
    tab.get_by_label("Область").fill("г. Астана")
    tab.get_by_label("Адрес строительства").fill("ул. Туран, 1")
    expect(tab.get_by_label("Этажность")).to_be_hidden()
    tab.get_by_role("group", name="Включает многоэтажное строительство?").get_by_label("Да").check()
    tab.get_by_role("group", name="Включает строительство ИЖС?").get_by_label("Нет").check()
    expect(tab.get_by_label("Этажность")).to_be_visible()  # the answer changes the fields
    tab.get_by_label("Количество многоэтажных домов").fill("2")
    tab.get_by_label("Этажность").fill("12")
    tab.get_by_label("Количество квартир").fill("240")
    tab.get_by_label("Общая жилая площадь, м²").fill("15000")
    tab.get_by_label("Дата начала строительства").fill("2025-01-10")
    tab.get_by_label("Плановая дата завершения строительства").fill("2027-12-31")
    tab.get_by_label("Стоимость проекта, тенге").fill("15000000000")
    tab = open_tab(page, "Информация о застройщике")
    tab.get_by_label("БИН").fill(DEMO_DEVELOPER_BIN)
    tab.get_by_role("button", name="Поиск").click()
    expect(tab.get_by_label("Наименование организации")).to_have_value("ТОО «Демо Застройщик»")
    tab.get_by_label("Номер телефона").fill("+77017654321")
    tab.get_by_label("Электронный адрес").fill("dev@demo.kz")
    tab.get_by_role("button", name="Отправить электронное уведомление").click()
    expect(page.locator(".toast")).to_contain_text("Приглашение успешно отправлено на электронную почту Застройщика")
    for name in ("Информация об УК", "Состав акционеров / учредителей", "Руководитель исполнительного органа",
                 "Информация о проекте", "Информация о застройщике"):
        expect(page.get_by_role("tab", name=name)).to_have_attribute("data-complete", "1")


def test_whole_path_to_application_sent(page, browser, live_server, login_browser, setup, tmp_path, settings):
    login_browser(page, setup["user"])
    page.goto("/applications/guarantee/")
    # «Да» with a contract of the organization
    page.get_by_role("link", name="Создать заявку").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="Создание заявки на гарантирование")).to_be_visible()
    dialog.get_by_label("Да").first.check()
    dialog.get_by_text("ДЛГ-23-02-064/147").locator("xpath=..").get_by_text("Выбрать").click()
    dialog.get_by_role("button", name="Создать").click()
    expect(page.get_by_role("heading", name=re.compile("Многоквартирный жилой комплекс"))).to_be_visible()
    assert Application.objects.get().contract.number == "ДЛГ-23-02-064/147"
    # «Нет»: a new project
    page.goto("/applications/guarantee/")
    page.get_by_role("link", name="Создать заявку").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Нет").first.check()
    dialog.get_by_role("button", name="Создать").click()
    expect(page.get_by_role("tab", name="Информация об УК")).to_be_visible()
    app = Application.objects.filter(contract__isnull=True).get()
    expect(page.get_by_role("button", name="Назад")).to_have_count(0)

    fill_stage1(page)
    page.get_by_role("button", name="Далее").click()
    expect(page.locator(".route li.current")).to_contain_text("Корпоративная документация")
    upload(page, "Устав организации", tmp_path, "ustav.pdf")
    page.get_by_role("button", name="Далее").click()
    expect(page.locator(".route li.current")).to_contain_text("Документация по проекту")
    page.get_by_label("Государственная").check()
    page.get_by_label("Предмет экспертизы").fill("Рабочий проект")
    page.get_by_label("Наименование проекта согласно экспертизе").fill("ЖК «Демо»")
    page.get_by_label("Номер экспертизы").fill("01-0001/25")
    page.get_by_label("Дата экспертизы").fill("2025-01-05")
    page.get_by_role("button", name="Далее").click()
    expect(page.locator(".route li.current")).to_contain_text("Предоставление согласий")
    row = page.locator("tr", has_text="Согласие на сбор и обработку персональных данных")
    expect(row).to_contain_text("Не подписан")
    row.get_by_role("button", name="Сформировать согласие").click()
    row = page.locator("tr", has_text="Согласие на сбор и обработку персональных данных")
    expect(row.get_by_role("link", name="Смотреть документ")).to_be_visible()
    row.get_by_role("button", name="Подписать ЭЦП/QR").click()
    sign_in_modal(page, "company_head_sign")
    expect(page.locator("tr", has_text="Согласие на сбор и обработку персональных данных")).to_contain_text("Подписан")
    expect(page.get_by_role("button", name="Отправить на модерацию")).to_be_disabled()  # the developer's part is missing

    # The developer: the e-mailed link, ЭЦП confirmation, its own cabinet, its part.
    link = re.search(r"https?://\S+/applications/invite/\S+/", mail.outbox[-1].body).group(0)
    path = link.split("/applications/", 1)[1]
    dev_context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    dev = dev_context.new_page()
    dev.goto("/applications/" + path)
    expect(dev.get_by_text("ТОО «Демо Застройщик»")).to_be_visible()
    dev.get_by_role("button", name="Подтвердить ЭЦП").click()
    sign_in_modal(dev, "developer_head_sign")
    expect(dev.locator(".toast")).to_contain_text("Личный кабинет для Застройщика создан")
    dev.get_by_role("link", name="ЖК «Демо»").click()
    expect(dev.get_by_text("Вы — застройщик по этой заявке")).to_be_visible()
    dev.goto(f"/applications/guarantee/{app.public_id}/stage/3/")
    upload(dev, "Правоустанавливающие документы на земельный участок", tmp_path, "zemlya.pdf")
    dev.goto(f"/applications/guarantee/{app.public_id}/stage/4/")
    row = dev.locator("tr", has_text="Согласие на получение проектно-сметной документации")
    row.get_by_role("button", name="Сформировать согласие").click()
    dev.locator("tr", has_text="Согласие на получение проектно-сметной документации").get_by_role(
        "button", name="Подписать ЭЦП/QR").click()
    sign_in_modal(dev, "developer_head_sign")
    expect(dev.locator("tr", has_text="Согласие на получение проектно-сметной документации")).to_contain_text("Подписан")

    # The УК sends to moderation.
    page.reload()
    page.get_by_role("button", name="Отправить на модерацию").click()
    expect(page.locator("tr", has_text="ЖК «Демо»")).to_contain_text("На модерации")
    _working_day_has_come(app)

    # The moderator returns it with remarks.
    mod_context = browser.new_context(base_url=live_server.url, locale="ru-RU")
    mod = mod_context.new_page()
    login_browser(mod, setup["moderator"])
    mod.goto(f"/admin/applications/application/{app.pk}/moderate/")
    mod.get_by_label("Замечание: Устав организации").fill("Нет последней страницы")
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the worker's task (applications.moderation_decide) runs at once here
    mod.get_by_role("button", name="Есть замечания").click()
    expect(mod.locator(".messagelist")).to_contain_text("Документ формируется")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.refresh_from_db()
    assert app.status == Status.REVISION

    page.goto(f"/applications/guarantee/{app.public_id}/stage/2/")
    expect(page.get_by_text("Нет последней страницы")).to_be_visible()
    upload(page, "Устав организации", tmp_path, "ustav-polnyi.pdf")
    # The developer re-signs its part.
    dev.goto(f"/applications/guarantee/{app.public_id}/stage/4/")
    dev.locator("tr", has_text="Согласие на получение проектно-сметной документации").get_by_role(
        "button", name="Подписать ЭЦП/QR").click()
    sign_in_modal(dev, "developer_head_sign")
    page.goto(f"/applications/guarantee/{app.public_id}/stage/4/")
    page.get_by_role("button", name="Отправить на модерацию").click()
    _working_day_has_come(app)

    # The moderator passes it; the УК signs: «Заявка отправлена».
    mod.goto(f"/admin/applications/application/{app.pk}/moderate/")
    for box in mod.locator("#checklist input[type=checkbox]").all():
        box.check()
    mod.get_by_role("button", name="Замечаний нет").click()
    expect(mod.locator(".messagelist")).to_be_visible()
    page.goto(f"/applications/guarantee/{app.public_id}/stage/4/")
    expect(page.locator(".app-title")).to_contain_text("Заявка проверена, необходимо подписать")
    page.get_by_role("button", name="Подписание заявки").click()
    sign_in_modal(page, "company_head_sign")
    page.goto("/applications/guarantee/")
    row = page.locator("tr", has_text="ЖК «Демо»")
    expect(row).to_contain_text("Заявка отправлена")
    expect(row.get_by_role("button", name="Удалить")).to_have_count(0)
    row.get_by_role("link", name="История заявки").click()
    expect(page.locator(".history-table")).to_contain_text("Заявка проверена, необходимо доработать")
    expect(page.locator(".history-table")).to_contain_text("Заявка отправлена")
    dev_context.close()
    mod_context.close()


def test_the_form_in_kazakh(page, login_browser, setup):
    login_browser(page, setup["user"])
    page.goto("/applications/guarantee/")
    page.get_by_role("button", name="ҚАЗ").click()
    expect(page.get_by_role("link", name="Өтінім жасау")).to_be_visible()
    page.get_by_role("link", name="Өтінім жасау").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Өтінім қолданыстағы кепілдік беру шарты шеңберінде беріле ме?")).to_be_visible()
    dialog.get_by_label("Жоқ").first.check()
    dialog.get_by_role("button", name="Жасау").click()
    for text in ("Корпоративтік ақпарат", "Корпоративтік құжаттама", _kk("Project documentation"), "Келісім беру"):
        expect(page.locator(".route")).to_contain_text(text)
    expect(page.get_by_role("button", name=_kk("Save draft"))).to_be_visible()
    expect(page.get_by_role("button", name="Келесі")).to_be_visible()
    expect(page.get_by_role("tab", name="УК туралы ақпарат")).to_be_visible()
    page.get_by_label("Бенефициар коды (КБе)").fill("1")
    page.get_by_role("button", name=_kk("Save draft")).click()
    expect(page.locator("#id_company-kbe_error")).to_be_visible()
    expect(page.get_by_label("Бенефициар коды (КБе)")).to_have_value("1")


def test_upload_errors_at_the_field(page, login_browser, setup, tmp_path, monkeypatch, settings):
    # The limit is changed below under the running server, which a release does with a restart (the
    # page cache's code fingerprint): the reload must render, not serve the page from before.
    settings.PAGE_CACHE_SECONDS = 0
    app = Application.objects.create(organization=setup["company"], project_name="ЖК «Файлы»")
    login_browser(page, setup["user"])
    page.goto(f"/applications/guarantee/{app.public_id}/stage/2/")
    section = page.locator("section.doc-field", has_text="Устав организации")
    fake = tmp_path / "ustav.pdf"
    fake.write_bytes(b"MZ this is not a pdf")
    section.locator("input[type=file]").set_input_files(str(fake))
    expect(page.locator("section.doc-field", has_text="Устав организации").locator(".field-error")).to_contain_text(
        "ustav.pdf")
    big = tmp_path / "big.pdf"
    big.write_bytes(PDF + b"0" * 3_000_000)
    monkeypatch.setattr("applications.views.MAX_FILE_BYTES", 2 * 1024 * 1024)
    page.reload()  # the page now allows 2 MB: the browser refuses before sending
    section = page.locator("section.doc-field", has_text="Устав организации")
    section.locator("input[type=file]").set_input_files(str(big))
    expect(section.locator(".field-error")).to_contain_text("600")
    assert not app.files.exists()


def _working_day_has_come(app):
    """Sent outside 9:30–19:00 Astana time (the suite may run at night), the application waits
    for the next opening before a moderator may decide: move that opening to now."""
    from django.utils import timezone

    type(app).objects.filter(pk=app.pk, moderation_opens_at__gt=timezone.now()).update(moderation_opens_at=timezone.now())
