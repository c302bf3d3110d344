"""BPMS journeys in a real browser: a KZhK operator advances a case on the mock's operator
page and the status reaches the portal through the feed; a KZhK admin finds a dead letter
in the outbox and sends it again; the overdue filter of BPMS cases."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bpms_bridge import registry, services
from bpms_bridge.models import AppliedEvent, BpmsCase, OutboxMessage
from bpms_bridge.tests import fakekind
from bpms_bridge.tests.mockproc import MockProcess
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake_kind():
    fakekind.reset()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event")
    yield
    registry.unregister_case_kind("fake")


@pytest.fixture
def mock(tmp_path, settings):
    proc = MockProcess(tmp_path / "mock.sqlite3").start()
    settings.BPMS_BASE_URL = proc.url
    yield proc
    proc.stop()


def test_operator_advances_a_case_and_the_portal_follows(page, mock, fake_kind):
    fakekind.create("c1")
    message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="c1:submit")
    services.outbox_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "sent"

    page.goto(mock.url + "/")
    expect(page.get_by_role("heading", name="Дела")).to_be_visible()
    page.get_by_role("link", name=message.bpms_case_id).click()
    status = page.locator("strong[data-status]")
    expect(status).to_have_text("Отправлено")
    page.get_by_role("button", name="Зарегистрировать").click()
    expect(status).to_have_text("Зарегистрировано")
    page.get_by_label("Исполнитель").fill("Сейткали Нурлан Бахытович")
    page.get_by_role("button", name="Назначить исполнителя").click()
    expect(status).to_have_text("На рассмотрении")
    expect(page.get_by_text("Сейткали Нурлан Бахытович", exact=False).first).to_be_visible()
    page.get_by_label("Замечания / причина").first.fill("Нет приложения №2")
    page.get_by_role("button", name="Вернуть на доработку").click()
    expect(status).to_have_text("На доработке")

    assert services.feed_pull() == 3
    assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review", "revision"]
    revision = fakekind.EVENTS["c1"][-1]
    assert revision["payload"]["notes"] == "Нет приложения №2" and revision["documents"][0]["name"].endswith(".pdf")
    assert AppliedEvent.objects.filter(case__case_id="c1").count() == 3


@pytest.fixture
def staff_page(page, login_browser):
    admin = UserFactory(is_staff=True, is_superuser=True)
    return login_browser(page, admin)


def test_admin_sends_a_dead_letter_again(staff_page, mock, fake_kind):
    page = staff_page
    fakekind.create("c9")
    message = OutboxMessage.objects.create(
        case_kind="fake", case_id="c9", kind="submit", idempotency_key="c9:submit", status="dead", attempts=15,
        next_attempt_at=timezone.now(), last_error="HTTP 500: fault switch: fail_500",
    )
    page.goto("/admin/bpms_bridge/outboxmessage/?status__exact=dead")
    row = page.get_by_role("row").filter(has_text="fail_500")
    expect(row).to_be_visible()
    row.get_by_role("checkbox").check()
    page.get_by_role("combobox", name="Действие").select_option(label="Отправить повторно (недоставленные и ожидающие сообщения)")
    page.get_by_role("button", name="Выполнить").click()
    expect(page.get_by_text("1 сообщение снова поставлено в очередь.")).to_be_visible()
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == 0
    services.outbox_send(message_id=message.pk)  # what the queued task does
    message.refresh_from_db()
    assert message.status == "sent" and mock.stats()["cases"] == 1


def test_admin_flags_overdue_cases(staff_page):
    page = staff_page
    now = timezone.now()
    BpmsCase.objects.create(case_kind="appeal", case_id="late-1", last_status="in_review", deadline=now - dt.timedelta(hours=2))
    BpmsCase.objects.create(case_kind="appeal", case_id="fine-1", last_status="in_review", deadline=now + dt.timedelta(days=3))
    page.goto("/admin/bpms_bridge/bpmscase/")
    page.get_by_role("link", name="Просрочено", exact=True).click()
    expect(page.get_by_role("link", name="late-1")).to_be_visible()
    expect(page.get_by_role("link", name="fine-1")).to_have_count(0)
