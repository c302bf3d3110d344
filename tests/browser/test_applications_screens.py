"""Screens of #12 in a real browser: «Создать» appears only after a choice, the review-term card
keeps each label beside its value, numeric fields keep letters, shareholders rows added and removed."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appeals import services as appeal_services
from appeals.models import AppealStatus
from appeals.tests.factories import AppealFactory
from appeals.transitions import Actor
from bpms_bridge.models import BpmsCase
from tests.factories import ContractFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def user(db):
    return UserFactory(organization=OrganizationFactory(bin="160340003066"))


def test_create_button_waits_for_a_choice(page, login_browser, user):
    ContractFactory(organization=user.organization, number="ДЛГ-1/1", project_name="ЖК «Выбор»")
    login_browser(page, user)
    page.goto("/applications/guarantee/")
    page.get_by_role("link", name="Создать заявку").click()
    dialog = page.get_by_role("dialog")
    create = dialog.locator("[data-create-actions] button")
    expect(dialog.get_by_label("Да").first).to_be_visible()  # the modal is there …
    expect(create).to_have_count(1)
    expect(create).to_have_text("Создать")
    expect(create).to_be_hidden()  # … and «Создать» in it waits for a choice
    dialog.get_by_label("Да").first.check()
    expect(create).to_be_hidden()  # «Да» alone: a contract must be picked first
    dialog.get_by_text("ДЛГ-1/1").locator("xpath=..").get_by_text("Выбрать").click()
    expect(create).to_be_visible()
    dialog.get_by_label("Нет").first.check()
    expect(create).to_be_visible()


@pytest.mark.parametrize("width", [1366, 390])
def test_review_term_labels_sit_beside_their_values(page, login_browser, width):
    appeal = AppealFactory(status=AppealStatus.SENT)
    appeal_services.appeal_transition(appeal, to=AppealStatus.REGISTERED, actor=Actor.BPMS,
                                      payload={"registration_number": "КЖК-1"})
    now = timezone.now()
    BpmsCase.objects.create(case_kind="appeal", case_id=str(appeal.public_id), registered_at=now,
                            deadline=now + datetime.timedelta(days=8))
    page.set_viewport_size({"width": width, "height": 900})
    login_browser(page, UserFactory(organization=appeal.organization))
    page.goto(f"/appeals/{appeal.public_id}/history/")
    card = page.locator("#case-terms")
    expect(card).to_be_visible()
    labels, values = card.locator("dt"), card.locator("dd")
    for i in range(labels.count()):
        label, value = labels.nth(i).bounding_box(), values.nth(i).bounding_box()
        if width > 480:  # label left of its own value, on the same line
            assert abs(label["y"] - value["y"]) < 4 and label["x"] < value["x"]
        else:  # stacked: the value right under its label
            assert label["y"] < value["y"] and abs(label["x"] - value["x"]) < 4


def test_create_without_js_asks_first_then_creates(browser, live_server, login_browser, user):
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", java_script_enabled=False)
    page = context.new_page()
    try:
        login_browser(page, user)
        page.goto("/applications/guarantee/new/")
        expect(page.get_by_role("button", name="Создать", exact=True)).to_be_hidden()
        page.get_by_label("Нет").first.check()
        page.get_by_role("button", name="Далее").click()
        page.get_by_role("button", name="Создать", exact=True).click()
        expect(page.get_by_role("tab", name="Информация об УК")).to_be_visible()
    finally:
        context.close()


def test_numeric_letters_stay_and_a_block_is_removed(page, login_browser, user):
    from applications.tests.factories import ApplicationFactory, valid_tab_data

    app = ApplicationFactory(organization=user.organization, data=valid_tab_data())
    login_browser(page, user)
    page.goto(f"/applications/guarantee/{app.public_id}/stage/1/?tab=project")
    field = page.get_by_label("Количество многоэтажных домов")
    field.fill("")
    field.press_sequentially("12a")
    expect(field).to_have_value("12a")  # a type=number input would have dropped the letter
    page.get_by_role("button", name="Сохранить черновик").click()
    expect(page.locator("#id_project-ms_buildings_error")).to_have_text("Введите только цифры.")
    expect(page.get_by_label("Количество многоэтажных домов")).to_have_value("12a")
    tab = page.get_by_role("tab", name="Состав акционеров / учредителей")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    blocks = page.locator("fieldset.repeat-block")
    expect(blocks).to_have_count(2)  # the two of the test data
    page.get_by_role("button", name="+ Добавить ещё").click()
    expect(blocks).to_have_count(3)
    blocks.nth(2).get_by_label("Наименование организации или ФИО").fill("ТОО «Второй»")
    blocks.nth(0).get_by_role("button", name="Удалить блок 1").click()
    expect(blocks).to_have_count(2)
    expect(blocks.nth(0).get_by_label("Наименование организации или ФИО")).to_have_value("ТОО «Учредитель»")
    expect(blocks.nth(1).get_by_label("Наименование организации или ФИО")).to_have_value("ТОО «Второй»")
