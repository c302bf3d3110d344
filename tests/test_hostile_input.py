"""#10 items 4 and 5: hostile input is a message at the field (never a 5xx) and a broker outage
after commit never fails the request."""

import contextlib
import socket
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from applications.tests.factories import ApplicationFactory
from cabinets.models import Survey, SurveyChoice, SurveyQuestion, SurveyResponse
from tests.factories import OrganizationFactory, UserFactory


def _survey():
    survey = Survey.objects.create(title_ru="Анкета", title_kk="Сауалнама")
    single = SurveyQuestion.objects.create(survey=survey, kind="single", text_ru="Оценка", text_kk="Баға", position=1)
    SurveyChoice.objects.create(question=single, text_ru="Отлично", text_kk="Өте жақсы")
    multiple = SurveyQuestion.objects.create(survey=survey, kind="multiple", text_ru="Что", text_kk="Не",
                                             position=2, required=False)
    SurveyChoice.objects.create(question=multiple, text_ru="А", text_kk="А")
    text = SurveyQuestion.objects.create(survey=survey, kind="text", text_ru="Отзыв", text_kk="Пікір", position=3,
                                         required=False)
    return survey, single, multiple, text


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["²", "٣", "３", "1\x00", "-1", "9" * 40])
def test_survey_answers_with_odd_digits_are_a_message_not_a_500(cabinet_client, value):
    survey, single, multiple, text = _survey()
    url = reverse("cabinets:survey", args=[survey.pk])
    response = cabinet_client.post(url, {f"q{single.pk}": value, f"q{multiple.pk}": [value, "²"],
                                         f"q{text.pk}": "ok"})
    assert response.status_code == 200
    with translation.override("ru"):
        from django.utils.translation import gettext

        assert gettext("Answer this question.") in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db
def test_a_nul_byte_in_a_survey_text_answer_is_a_message_and_keeps_the_text(cabinet_client):
    survey, single, _multiple, text = _survey()
    url = reverse("cabinets:survey", args=[survey.pk])
    response = cabinet_client.post(url, {f"q{single.pk}": str(single.choices.get().pk), f"q{text.pk}": "хоро\x00шо"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "хорошо" in html and "field-error" in html
    assert not SurveyResponse.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_submits_of_one_survey_store_one_response_and_never_fail():
    survey, single, _multiple, _text = _survey()
    organization = OrganizationFactory()
    users = [UserFactory(organization=organization) for _ in range(8)]
    data = {f"q{single.pk}": str(single.choices.get().pk)}
    url = reverse("cabinets:survey", args=[survey.pk])
    barrier, codes = threading.Barrier(len(users)), []

    def submit(user):
        try:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            barrier.wait()
            codes.append(client.post(url, data).status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            codes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302] * len(users)
    assert SurveyResponse.objects.filter(survey=survey, organization=organization).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("tab_values", [
    {"tab": "project", "project-project_name": "ЖК\x00 «Нұр»"},
    {"tab": "shareholders", "sh-TOTAL_FORMS": "1", "sh-INITIAL_FORMS": "0", "sh-0-name": "Ива\x00нов",
     "sh-0-bin_iin": "160340003066", "sh-0-share": "50", "sh-0-registered_on": "2016-03-01"},
])
def test_a_nul_byte_in_a_wizard_tab_is_a_message_and_nothing_else_is_lost(client, tab_values):
    from homeportal.forms import NUL_REMOVED

    app = ApplicationFactory()
    client.force_login(UserFactory(organization=app.organization))
    url = reverse("applications:stage", args=[app.public_id, 1])
    response = client.post(url, {**tab_values, "action": "save"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    with translation.override("ru"):
        assert str(NUL_REMOVED) in html
    app.refresh_from_db()
    kept = str(app.data)
    assert "\x00" not in kept and ("ЖК «Нұр»" in kept or "Иванов" in kept)


# --- #10 item 5: the broker down after commit ---------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens on it once the socket is closed


@contextlib.contextmanager
def broker_down():
    """Celery's producer points at a port where nothing listens: a real refused connection."""
    from homeportal.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{_closed_port()}/0"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url = old
        app._pool = None
        app.amqp._producer_pool = None


def test_broker_down_really_refuses():
    from kombu.exceptions import OperationalError

    from bpms_bridge.tasks import outbox_send_task

    with broker_down(), pytest.raises(OperationalError):
        outbox_send_task.apply_async((1,), retry=False)


@pytest.mark.django_db(transaction=True)
def test_signing_an_appeal_with_the_broker_down_succeeds_and_the_outbox_delivers_later():
    from appeals.models import AppealStatus
    from appeals.tests.factories import AppealFactory
    from bpms_bridge.models import OutboxMessage
    from bpms_bridge.services import outbox_sweep
    from cabinets.demo import DEMO_COMPANY_BIN
    from signing.services import pdf_render, signing_request_create
    from signing.tests.test_flows import _ecp_post

    company = OrganizationFactory(bin=DEMO_COMPANY_BIN)
    user = UserFactory(organization=company)
    appeal = AppealFactory(organization=company, created_by=user)
    document = pdf_render(template_name="signing/pdf/demo_document.html", context={
        "title": "Обращение", "organization_name": "ТОО Демо", "organization_bin": DEMO_COMPANY_BIN, "number": "A-1"})
    sr = signing_request_create(
        subject=appeal, document=document, filename="appeal.pdf", title_ru="Обращение", title_kk="Өтініш",
        organization=company, required_bin=company.bin, allowed_roles={"head", "may_sign"},
        on_complete="appeals:appeal_signed", return_url=reverse("appeals:list"), signer_user=user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with broker_down():
        response = _ecp_post(client, sr, "company_head_sign")
    assert response.status_code < 400, response.content[:500]
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.SENT
    message = OutboxMessage.objects.get(case_id=str(appeal.public_id))
    assert message.status == "pending"
    assert outbox_sweep() >= 1  # the broker is back: the sweeper hands the row to a worker


@pytest.mark.django_db
@pytest.mark.parametrize("bin_", ["\x00", "12345678901\x00", "１２３４５６７８９０１２", "", "1" * 13])
def test_registry_lookup_of_a_malformed_bin_finds_nothing(bin_):
    """The wizard's «Поиск» sends the typed BIN as it is: a NUL byte used to reach PostgreSQL (a 500)."""
    from cabinets.selectors import legal_entity_lookup

    assert legal_entity_lookup(bin=bin_) is None
