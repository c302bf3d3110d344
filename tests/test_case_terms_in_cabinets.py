"""The regulated term of a case in the cabinet: the history shows the deadline and the
executor's current step with its due time (bpms_bridge's calendar and seed 004's route); the
lists flag an overdue case."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals.models import AppealStatus
from appeals.tests.factories import AppealFactory
from bpms_bridge.models import BpmsCase, ReviewRoute, ReviewRouteStep
from bpms_bridge.routes_data import seed_routes
from bpms_bridge.selectors import review_deadline, route_for

pytestmark = pytest.mark.django_db

def _registered_appeal(organization, registered):
    seed_routes(ReviewRoute, ReviewRouteStep)
    appeal = AppealFactory(organization=organization, status=AppealStatus.IN_REVIEW,
                           registration_number="КЖК-ОБР-00077", registered_at=registered,
                           review_deadline=timezone.localdate(registered) + datetime.timedelta(days=12))
    deadline = review_deadline(route_for(case_kind="appeal"), registered)
    BpmsCase.objects.create(case_kind="appeal", case_id=str(appeal.public_id), registered_at=registered,
                            deadline=deadline, last_status="in_review")
    return appeal, deadline


@pytest.fixture
def appeal(cabinet_user):
    return _registered_appeal(cabinet_user.organization, timezone.now() - datetime.timedelta(hours=1))[0]


def test_history_shows_deadline_and_the_current_step(cabinet_client, cabinet_user):
    appeal, deadline = _registered_appeal(cabinet_user.organization, timezone.now() - datetime.timedelta(hours=1))
    body = cabinet_client.get(reverse("appeals:history", args=[appeal.public_id])).content.decode()
    assert 'id="case-terms"' in body
    assert timezone.localtime(deadline).strftime("%d.%m.%Y %H:%M") in body
    assert "Текущий этап исполнителя" in body
    assert "Просрочено" not in body


def test_history_flags_a_case_past_its_deadline(cabinet_client, cabinet_user):
    appeal, _deadline = _registered_appeal(cabinet_user.organization, timezone.now() - datetime.timedelta(days=40))
    body = cabinet_client.get(reverse("appeals:history", args=[appeal.public_id])).content.decode()
    assert "Просрочено" in body


def test_list_flags_an_overdue_appeal_only_while_kzhk_owes_the_answer(cabinet_client, appeal):
    appeal.review_deadline = timezone.localdate() - datetime.timedelta(days=1)
    appeal.save(update_fields=["review_deadline"])
    assert "Просрочено" in cabinet_client.get(reverse("appeals:list")).content.decode()
    appeal.status = AppealStatus.REJECTED
    appeal.save(update_fields=["status"])
    assert "Просрочено" not in cabinet_client.get(reverse("appeals:list")).content.decode()


def test_no_terms_before_bpms_registers_the_case(cabinet_client, cabinet_user):
    draft = AppealFactory(organization=cabinet_user.organization)
    body = cabinet_client.get(reverse("appeals:history", args=[draft.public_id])).content.decode()
    assert 'id="case-terms"' not in body


def test_application_history_and_list_show_terms(cabinet_client, cabinet_user):
    from applications.models import Application, Status

    seed_routes(ReviewRoute, ReviewRouteStep)
    application = Application.objects.create(organization=cabinet_user.organization, status=Status.REGISTERED,
                                             project_name="ЖК «Тест»", due_date=datetime.date(2026, 1, 5))
    registered = timezone.now() - datetime.timedelta(days=60)
    BpmsCase.objects.create(case_kind="application", case_id=str(application.public_id), registered_at=registered,
                            deadline=review_deadline(route_for(case_kind="application"), registered))
    history = cabinet_client.get(reverse("applications:history", args=[application.public_id])).content.decode()
    assert 'id="case-terms"' in history and "Просрочено" in history
    assert "Просрочено" in cabinet_client.get(reverse("applications:list")).content.decode()
