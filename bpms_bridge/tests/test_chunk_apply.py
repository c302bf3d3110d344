"""A feed chunk goes to the real domains set-wise (issue #18 item 4): appeals and applications
locked in one query each, moved through `Workflow.batch()` with the same checks and hooks as one
transition each, written with a constant number of statements; a refusal undoes only itself; a
failing hook sends the chunk back one event at a time."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appeals import services as appeal_services
from appeals.models import Appeal, AppealHistory
from appeals.tests.factories import AppealFactory
from applications import services as app_services
from applications.models import ApplicationHistory, DecisionDocument, Status
from applications.tests.conftest import company, company_user, registry  # noqa: F401 — fixtures
from applications.tests.test_workflow import catalogue, complete_application  # noqa: F401 — fixture
from bpms_bridge import services
from bpms_bridge.models import AppliedEvent, BpmsCase
from cabinets.models import Notification

pytestmark = pytest.mark.django_db

WHEN = "2026-11-23T10:00:00+05:00"


def _appeal_events(appeals, *, first_seq=1):
    events, seq = [], first_seq
    for step, (status, payload) in enumerate((("registered", {"registration_number": "КЖК-1"}),
                                              ("in_review", {"executor_name": "Исполнитель", "internal_number": "В-1"}),
                                              ("approved", {}))):
        for appeal in appeals:
            events.append({"seq": seq, "case_seq": step + 1, "case_kind": "appeal", "external_id": str(appeal.public_id),
                           "case_id": f"SB-{appeal.pk}", "status": status, "occurred_at": WHEN, "payload": payload,
                           "documents": []})
            seq += 1
    return events


def _sent_appeals(n):
    return [AppealFactory(status="sent", sent_at=timezone.now()) for _ in range(n)]


def _apply(events):
    with CaptureQueriesContext(connection) as queries:
        results = services.events_apply(raws=events)
    return results, len(queries)


def test_a_chunk_moves_every_appeal_with_a_constant_number_of_statements():
    few, many = _sent_appeals(2), _sent_appeals(8)
    results, few_queries = _apply(_appeal_events(few))
    assert results == ["applied"] * 6
    results, many_queries = _apply(_appeal_events(many, first_seq=100))
    assert results == ["applied"] * 24
    assert many_queries <= few_queries <= 20, (few_queries, many_queries)  # set-wise, not per event
    for appeal in Appeal.objects.filter(pk__in=[a.pk for a in few + many]):
        assert appeal.status == "approved" and appeal.registration_number == "КЖК-1" and appeal.executor_name
        assert list(appeal.history.filter(event=AppealHistory.Event.STATUS).order_by("pk").values_list(
            "status", flat=True)) == ["registered", "in_review", "approved"]
        assert Notification.objects.filter(organization=appeal.organization).count() == 3
    case = BpmsCase.objects.get(case_id=str(many[0].public_id))
    assert case.last_case_seq == 3 and case.last_status == "approved" and case.bpms_case_id == f"SB-{many[0].pk}"
    # The same chunk again applies nothing.
    assert set(services.events_apply(raws=_appeal_events(many, first_seq=100))) == {"duplicate"}


def test_a_refused_event_in_a_chunk_undoes_only_itself():
    appeals = _sent_appeals(3)
    events = _appeal_events(appeals)[:3]  # «registered» for each
    events[1] = {**events[1], "status": "in_review", "payload": {}}  # required data missing: refused
    assert services.events_apply(raws=events) == ["applied", "failed", "applied"]
    statuses = dict(Appeal.objects.filter(pk__in=[a.pk for a in appeals]).values_list("pk", "status"))
    assert [statuses[a.pk] for a in appeals] == ["registered", "sent", "registered"]
    failed = AppliedEvent.objects.get(outcome="failed")
    assert failed.seq == 2 and failed.error


def test_a_failing_hook_sends_the_chunk_one_event_at_a_time(monkeypatch):
    appeals = _sent_appeals(3)
    broken = str(appeals[1].public_id)
    real = appeal_services._enter_registered

    def enter_registered(step):
        if str(step.obj.public_id) == broken:
            raise RuntimeError("hook failed")
        real(step)

    monkeypatch.setitem(appeal_services.WORKFLOW.on_enter, "registered", enter_registered)
    assert services.events_apply(raws=_appeal_events(appeals)[:3]) == ["applied", "failed", "applied"]
    statuses = dict(Appeal.objects.filter(pk__in=[a.pk for a in appeals]).values_list("pk", "status"))
    assert [statuses[a.pk] for a in appeals] == ["registered", "sent", "registered"]
    assert AppealHistory.objects.filter(appeal__in=appeals, status="registered").count() == 2


def test_applications_in_a_chunk_get_their_status_at_once_and_the_pledge_from_the_worker(
        company, company_user, registry, catalogue, django_capture_on_commit_callbacks):  # noqa: F811
    apps = []
    for _ in range(2):
        app, _dev = complete_application(company, company_user, catalogue)
        app_services.application_signed(application=app, actor=company_user)
        apps.append(app)
    events, seq = [], 1
    for step, (status, payload) in enumerate(((Status.REGISTERED, {"registration_number": "01-1/26"}),
                                              (Status.IN_REVIEW, {}), (Status.APPROVED, {}))):
        for app in apps:
            events.append({"seq": seq, "case_seq": step + 1, "case_kind": "application", "external_id": str(app.public_id),
                           "status": status, "occurred_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat(),
                           "payload": payload, "documents": []})
            seq += 1
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.events_apply(raws=events) == ["applied"] * 6
    for app in apps:
        app.refresh_from_db()
        assert app.status == Status.APPROVED and app.registration_number == "01-1/26"
        assert ApplicationHistory.objects.filter(application=app, event="status").count() == 4  # sent + 3
    assert not DecisionDocument.objects.filter(application__in=apps).exists()  # not in the apply step
    assert callbacks  # the documents' tasks (and the e-mail copies) are sent once the chunk commits
    for app in apps:
        app_services.application_status_document_issue(application_id=app.pk, status=Status.APPROVED)
    assert DecisionDocument.objects.filter(application__in=apps, kind=DecisionDocument.Kind.PLEDGE).count() == 2


def test_a_chunks_tasks_go_out_in_one_fan_out_publish_and_its_notifications_in_both_languages(
        company, company_user, registry, catalogue, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    """#18: the document tasks and e-mail copies a chunk makes are published together once it
    commits (a `homeportal.fan_out` per hundred, which a worker expands); nothing of a chunk
    rolled back is sent. The notifications are rendered in ru and kk set-wise."""
    from homeportal import celery as hp_celery

    published = []
    monkeypatch.setattr(hp_celery, "enqueue", lambda task, args=(), **kw: published.append((task.name, args)) or True)
    apps = []
    for _ in range(3):
        app, _dev = complete_application(company, company_user, catalogue)
        app_services.application_signed(application=app, actor=company_user)
        apps.append(app)
    events = [{"seq": 10 + i, "case_seq": step + 1, "case_kind": "application", "external_id": str(app.public_id),
               "status": status, "occurred_at": WHEN, "payload": payload, "documents": []}
              for step, (status, payload) in enumerate(((Status.REGISTERED, {"registration_number": "01-2/26"}),
                                                        (Status.IN_REVIEW, {}), (Status.APPROVED, {})))
              for i, app in enumerate(apps, start=3 * step)]
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.events_apply(raws=events) == ["applied"] * 9
    [(name, (items,))] = published
    assert name == "homeportal.fan_out"
    names = [item[0] for item in items]
    assert names.count("applications.status_document_issue") == 3 and "cabinets.tasks.send_notification_emails" in names
    published.clear()
    hp_celery.fan_out.run(items)  # the worker
    assert [name for name, _args in published] == names
    from audit import chain

    assert chain.verify(anchors=False).intact  # the history rows a chunk wrote with COPY are chained
    assert ApplicationHistory.objects.filter(application__in=apps, status=Status.APPROVED).count() == 3
    notes = Notification.objects.filter(organization=company).order_by("-pk")[:9]
    assert all(n.title_ru and n.title_kk and n.title_ru != n.title_kk for n in notes)
    assert all(n.link == f"/applications/{apps[0].public_id}/stage/1/" for n in notes if str(apps[0].public_id) in n.link)


def test_tasks_of_a_rolled_back_chunk_are_not_published(monkeypatch, django_capture_on_commit_callbacks):
    from django.db import transaction

    from homeportal import celery as hp_celery
    from homeportal.celery import enqueue_on_commit, publishes_batched

    published = []
    monkeypatch.setattr(hp_celery, "enqueue", lambda task, args=(), **kw: published.append((task.name, args)) or True)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), publishes_batched():
        for i in range(3):
            enqueue_on_commit(hp_celery.fan_out, ([["kept", [i], None]],))
        try:
            with transaction.atomic():
                enqueue_on_commit(hp_celery.fan_out, ([["undone", [9], None]],))
                raise RuntimeError
        except RuntimeError:
            pass
    [(name, (items,))] = published
    assert name == "homeportal.fan_out" and [item[1] for item in items] == [([["kept", [i], None]],) for i in range(3)]
