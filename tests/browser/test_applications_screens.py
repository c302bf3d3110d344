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
    create = dialog.get_by_role("button", name="Создать", exact=True)
    expect(create).to_be_hidden()
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
