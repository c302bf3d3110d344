"""The HMAC webhook and the admin pages (dead letter retry, overdue flag)."""

import datetime as dt
import json
import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from bpms_bridge import registry
from bpms_bridge.contract import webhook_signature
from bpms_bridge.models import AppliedEvent, BpmsCase, OutboxMessage
from bpms_bridge.tests import fakekind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_kind():
    fakekind.reset()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event")
    yield
    registry.unregister_case_kind("fake")


def ev(seq, case_seq, status):
    return {"seq": seq, "case_seq": case_seq, "case_kind": "fake", "external_id": "c1", "case_id": "SB-1",
            "status": status, "occurred_at": "2026-11-23T10:00:00+05:00", "payload": {}, "documents": []}


def post(client, data, *, secret=None, ts=None):
    secret = secret or settings.BPMS_WEBHOOK_SECRET
    body = json.dumps(data).encode()
    sig = webhook_signature(secret=secret, timestamp=int(ts or time.time()), body=body)
    return client.post(reverse("bpms_bridge:webhook"), data=body, content_type="application/json", HTTP_X_BPMS_SIGNATURE=sig)


@pytest.fixture
def worker(settings):
    """The worker's task runs at once (eager) where a test looks at what it applied."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_signed_webhook_applies_and_repeats_are_harmless(client, worker):
    fakekind.create("c1")
    response = post(client, {"events": [ev(1, 1, "registered")]})
    assert response.status_code == 202 and response.json() == {"results": ["queued"]}
    assert post(client, ev(1, 1, "registered")).json() == {"results": ["queued"]}
    assert fakekind.HISTORY["c1"] == ["sent", "registered"]
    assert list(AppliedEvent.objects.values_list("seq", "outcome", "source")) == [(1, "applied", "webhook")]


def test_the_webhook_only_checks_and_hands_over(client, monkeypatch, django_assert_num_queries):
    """#18: no database and no apply in the request: one publish of the valid events."""
    from bpms_bridge import tasks

    sent = []
    monkeypatch.setattr(tasks.webhook_apply_task, "apply_async", lambda args, **kw: sent.append(args))
    fakekind.create("c1")
    with django_assert_num_queries(0):
        response = post(client, {"events": [ev(1, 1, "registered"), {"seq": "x"}, ev(2, 2, "in_review")]})
    assert response.status_code == 202 and response.json() == {"results": ["queued", "malformed", "queued"]}
    assert [[e["seq"] for e in raws] for (raws,) in sent] == [[1, 2]]
    assert not AppliedEvent.objects.exists() and fakekind.HISTORY["c1"] == ["sent"]
    tasks.webhook_apply_task.run(*sent[0])  # the worker
    tasks.webhook_apply_task.run(*sent[0])  # redelivered: nothing twice
    assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review"]


def test_with_the_broker_down_the_webhook_applies_itself(client, monkeypatch):
    from bpms_bridge import services as bridge

    monkeypatch.setattr(bridge, "enqueue", lambda task, args=(), **kw: False)
    fakekind.create("c1")
    response = post(client, ev(1, 1, "registered"))
    assert response.status_code == 200 and response.json() == {"results": ["applied"]}


@pytest.mark.parametrize("kwargs", [{"secret": "wrong"}, {"ts": time.time() - 3600}])
def test_bad_or_stale_signature_is_refused(client, kwargs):
    fakekind.create("c1")
    assert post(client, ev(1, 1, "registered"), **kwargs).status_code == 403
    assert not AppliedEvent.objects.exists()


def test_malformed_body_is_400_not_500(client):
    body = b"{not json"
    sig = webhook_signature(secret=settings.BPMS_WEBHOOK_SECRET, timestamp=int(time.time()), body=body)
    response = client.post(reverse("bpms_bridge:webhook"), data=body, content_type="application/json", HTTP_X_BPMS_SIGNATURE=sig)
    assert response.status_code == 400
    assert post(client, {"events": [{"seq": "x"}, 5]}).json() == {"results": ["malformed", "malformed"]}
    assert client.get(reverse("bpms_bridge:webhook")).status_code == 405


def test_webhook_gap_triggers_a_feed_pull(client, monkeypatch, worker):
    from bpms_bridge import tasks

    calls = []
    monkeypatch.setattr(tasks.feed_pull_task, "apply_async", lambda *a, **kw: calls.append(1))
    fakekind.create("c1")
    assert post(client, ev(2, 2, "in_review")).json() == {"results": ["queued"]}
    assert calls == [1]
    assert not AppliedEvent.objects.exists()


@pytest.fixture
def admin_client(client, django_user_model):
    from tests.factories import UserFactory

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_admin_dead_letter_is_listed_and_retryable(admin_client, django_capture_on_commit_callbacks):
    message = OutboxMessage.objects.create(
        case_kind="fake", case_id="c1", kind="submit", idempotency_key="k", status="dead", attempts=15,
        next_attempt_at=timezone.now(), last_error="HTTP 500",
    )
    url = reverse("admin:bpms_bridge_outboxmessage_changelist")
    page = admin_client.get(url + "?status__exact=dead")
    assert page.status_code == 200 and b"HTTP 500" in page.content
    with django_capture_on_commit_callbacks():
        admin_client.post(url, {"action": "retry", "_selected_action": [message.pk]})
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts == 0


def test_admin_overdue_filter(admin_client):
    now = timezone.now()
    BpmsCase.objects.create(case_kind="fake", case_id="late", deadline=now - dt.timedelta(hours=1))
    BpmsCase.objects.create(case_kind="fake", case_id="fine", deadline=now + dt.timedelta(days=1))
    BpmsCase.objects.create(case_kind="fake", case_id="done", deadline=now - dt.timedelta(days=1), finished=True)
    url = reverse("admin:bpms_bridge_bpmscase_changelist")
    overdue = admin_client.get(url + "?overdue=yes").content.decode()
    assert "late" in overdue and "fine" not in overdue and ">done<" not in overdue
    assert admin_client.get(url).status_code == 200


def test_admin_reapplies_a_refused_event(admin_client, monkeypatch):
    from bpms_bridge import client, services

    fakekind.create("c1")
    raw = {**ev(7, 1, "in_review"), "case_id": "SB-1"}
    assert services.event_apply(raw=raw) == "failed"
    monkeypatch.setattr(client, "fetch_case", lambda *, bpms_case_id: {"case_id": bpms_case_id, "events": [raw]})
    fakekind.STATUS["c1"] = "registered"
    url = reverse("admin:bpms_bridge_appliedevent_changelist")
    page = admin_client.post(url, {"action": "reapply", "_selected_action": [AppliedEvent.objects.get().pk]}, follow=True)
    assert "Применено: 1, по-прежнему отклонено: 0." in page.content.decode()
    assert AppliedEvent.objects.get().outcome == "applied" and fakekind.STATUS["c1"] == "in_review"
