"""Outbox and inbound event application, with the BPMS client replaced (no HTTP here; the
integration tests talk to the real mock over HTTP with a real worker)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from bpms_bridge import client, registry, services
from bpms_bridge.models import AppliedEvent, BpmsCase, FeedCursor, OutboxMessage
from bpms_bridge.tests import fakekind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fake_kind():
    fakekind.reset()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event", final_statuses=("rejected", "ds_signed"))
    yield
    registry.unregister_case_kind("fake")


@pytest.fixture
def sent_calls(monkeypatch):
    calls = []

    def fake_send(**kwargs):
        calls.append(kwargs)
        return {"case_id": "SB-1", "message_id": len(calls), "duplicate": False}

    monkeypatch.setattr(client, "send_message", fake_send)
    return calls


def ev(seq, case_seq, status, case_id="c1", **payload):
    return {
        "seq": seq, "case_seq": case_seq, "case_kind": "fake", "external_id": case_id, "case_id": "SB-1",
        "status": status, "occurred_at": "2026-11-23T10:00:00+05:00", "payload": payload, "documents": [],
    }


class TestOutbox:
    def test_enqueue_schedules_a_send_on_commit_only(self, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
            message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={"a": 1}, idempotency_key="k1")
        assert message.status == "pending"
        from homeportal.page_cache import _CommitBump  # every transaction's table-version bump

        assert len([c for c in callbacks if not isinstance(c, _CommitBump)]) == 1

    def test_same_idempotency_key_gives_the_same_row(self):
        first = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        again = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        assert first.pk == again.pk
        assert OutboxMessage.objects.count() == 1

    def test_send_marks_sent_and_links_the_case(self, sent_calls):
        message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={"x": dt.date(2026, 1, 2)}, idempotency_key="k1")
        services.outbox_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == "sent" and message.attempts == 1 and message.bpms_case_id == "SB-1"
        assert sent_calls[0]["idempotency_key"] == "k1" and sent_calls[0]["payload"] == {"x": "2026-01-02"}
        assert BpmsCase.objects.get(case_kind="fake", case_id="c1").bpms_case_id == "SB-1"
        # A second run (a redelivered task) sends nothing.
        services.outbox_send(message_id=message.pk)
        assert len(sent_calls) == 1

    def test_failure_backs_off_then_dead_letter_then_admin_retry(self, monkeypatch, settings):
        settings.BPMS_OUTBOX_MAX_ATTEMPTS = 3

        def down(**kwargs):
            raise client.BpmsError("ConnectionRefusedError")

        monkeypatch.setattr(client, "send_message", down)
        message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        now = timezone.now()
        services.outbox_send(message_id=message.pk, now=now)
        message.refresh_from_db()
        assert message.status == "pending" and message.attempts == 1 and "Refused" in message.last_error
        assert message.next_attempt_at > now
        # Not due yet: nothing happens.
        services.outbox_send(message_id=message.pk, now=now)
        message.refresh_from_db()
        assert message.attempts == 1
        for _ in range(2):
            services.outbox_send(message_id=message.pk, now=timezone.now() + dt.timedelta(hours=2))
        message.refresh_from_db()
        assert message.status == "dead" and message.attempts == 3
        services.outbox_retry(message=message)
        message.refresh_from_db()
        assert message.status == "pending" and message.attempts == 0

    def test_permanent_error_is_dead_at_once(self, monkeypatch):
        def bad(**kwargs):
            raise client.BpmsError("HTTP 400: bad", permanent=True, status=400)

        monkeypatch.setattr(client, "send_message", bad)
        message = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        services.outbox_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == "dead"

    def test_backoff_grows_and_is_capped(self, settings):
        settings.BPMS_OUTBOX_BACKOFF_BASE = 2.0
        settings.BPMS_OUTBOX_BACKOFF_CAP = 60.0
        assert 1.0 <= services.backoff_seconds(1) <= 2.0
        assert 4.0 <= services.backoff_seconds(3) <= 8.0
        assert all(30.0 <= services.backoff_seconds(20) <= 60.0 for _ in range(50))

    def test_messages_of_one_case_go_in_order(self, sent_calls):
        first = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        second = services.outbox_enqueue(case_kind="fake", case_id="c1", kind="signed_ds", payload={}, idempotency_key="k2")
        assert services.outbox_send(message_id=second.pk) is None
        services.outbox_send(message_id=first.pk)
        services.outbox_send(message_id=second.pk)
        assert [c["kind"] for c in sent_calls] == ["submit", "signed_ds"]

    def test_sweeper_finds_due_rows(self):
        services.outbox_enqueue(case_kind="fake", case_id="c1", kind="submit", payload={}, idempotency_key="k1")
        assert services.outbox_sweep(now=timezone.now() + dt.timedelta(seconds=1)) == 1


class TestInbound:
    def test_events_apply_in_order_once(self):
        from bpms_bridge.models import ReviewRoute

        ReviewRoute.objects.create(case_kind="fake", title_ru="Тест", title_kk="Тест", total_working_days=8)
        fakekind.create("c1")
        assert services.event_apply(raw=ev(1, 1, "registered", registered_at="2026-11-23T10:00:00+05:00")) == "applied"
        assert services.event_apply(raw=ev(1, 1, "registered")) == "duplicate"
        assert services.event_apply(raw=ev(5, 2, "in_review")) == "applied"
        assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review"]
        case = BpmsCase.objects.get(case_id="c1")
        assert case.last_status == "in_review" and case.last_case_seq == 2
        assert case.deadline == dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
        assert fakekind.EVENTS["c1"][0]["payload"]["review_deadline"].startswith("2026-12-03T10:00")

    def test_old_event_never_moves_the_status_back(self):
        fakekind.create("c1")
        services.event_apply(raw=ev(1, 1, "registered"))
        services.event_apply(raw=ev(2, 2, "in_review"))
        assert services.event_apply(raw=ev(1, 1, "registered"), source="webhook") == "duplicate"
        assert fakekind.STATUS["c1"] == "in_review"
        assert AppliedEvent.objects.count() == 2

    def test_webhook_gap_waits_for_the_feed(self):
        fakekind.create("c1")
        assert services.event_apply(raw=ev(2, 2, "in_review"), source="webhook", strict_order=True) == "gap"
        assert fakekind.STATUS["c1"] == "sent"
        assert services.event_apply(raw=ev(1, 1, "registered"), source="webhook", strict_order=True) == "applied"
        assert services.event_apply(raw=ev(2, 2, "in_review"), source="webhook", strict_order=True) == "applied"

    def test_rejected_transition_is_recorded_and_the_feed_goes_on(self):
        fakekind.create("c1")
        assert services.event_apply(raw=ev(1, 1, "ds_signed")) == "failed"
        applied = AppliedEvent.objects.get()
        assert "not allowed" in applied.error
        assert services.event_apply(raw=ev(2, 2, "registered")) == "applied"

    def test_unknown_kind_and_final_status(self):
        raw = ev(1, 1, "registered")
        raw["case_kind"] = "nobody"
        assert services.event_apply(raw=raw) == "unknown_kind"
        fakekind.create("c2")
        services.event_apply(raw=ev(2, 1, "rejected", case_id="c2"))
        assert BpmsCase.objects.get(case_id="c2").finished

    @pytest.mark.parametrize("bad", [{}, {"seq": "x"}, {**ev(1, 1, "registered"), "occurred_at": "2026-11-23T10:00:00"}])
    def test_malformed_events_raise_bridge_error(self, bad):
        with pytest.raises(services.BridgeError):
            services.event_apply(raw=bad)

    def test_feed_pull_moves_the_cursor(self, monkeypatch):
        fakekind.create("c1")
        feed = [ev(3, 2, "in_review"), ev(1, 1, "registered"), {"seq": 4, "junk": True}]

        def fetch(*, after, limit):
            return [e for e in feed if e["seq"] > after]

        monkeypatch.setattr(client, "fetch_events", fetch)
        assert services.feed_pull() == 3
        assert FeedCursor.objects.get().last_seq == 4
        assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review"]
        assert services.feed_pull() == 0


class TestBatch:
    def test_a_chunk_applies_in_order_and_one_refusal_does_not_undo_the_others(self):
        fakekind.create("c1")
        fakekind.create("c2")
        services.event_apply(raw=ev(1, 1, "registered"))
        unknown = {**ev(7, 1, "registered", case_id="x"), "case_kind": "nobody"}
        counts = services.events_apply_batch(raws=[
            ev(4, 2, "in_review"), ev(1, 1, "registered"),            # c1: new one + an old repeat
            ev(3, 1, "approved", case_id="c2"),                       # c2: refused (sent -> approved)
            ev(5, 2, "registered", case_id="c2"),                     # c2: fine after the refusal
            ev(6, 3, "approved"),                                     # c1
            unknown, {"seq": "junk"},
        ])
        assert counts == {"applied": 3, "duplicate": 1, "failed": 1, "unknown_kind": 1, "malformed": 1}
        assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review", "approved"]
        assert fakekind.HISTORY["c2"] == ["sent", "registered"]
        c1, c2 = BpmsCase.objects.get(case_id="c1"), BpmsCase.objects.get(case_id="c2")
        assert (c1.last_case_seq, c1.last_status, c2.last_case_seq, c2.last_status) == (3, "approved", 2, "registered")
        assert AppliedEvent.objects.get(seq=3).outcome == "failed"
        # The same chunk again: nothing new.
        again = services.events_apply_batch(raws=[ev(4, 2, "in_review"), ev(6, 3, "approved")])
        assert again == {"duplicate": 2} and AppliedEvent.objects.count() == 6

    def test_batch_uses_few_queries_per_event(self, django_assert_max_num_queries):
        for i in range(20):
            fakekind.create(f"q{i}")
        raws = [ev(100 + i, 1, "registered", case_id=f"q{i}") for i in range(20)]
        # 4 up front + 2 savepoint statements per event + 2 bulk writes (+ transaction).
        with django_assert_max_num_queries(4 + 2 * 20 + 4):
            assert services.events_apply_batch(raws=raws) == {"applied": 20}


# --- #10 item 9: a long BPMS outage does not make dead letters; the backlog is visible ----------

@pytest.mark.django_db
def test_a_three_day_outage_keeps_retrying_then_dead_letter_and_backlog_is_shown(monkeypatch, admin_client):
    def down(**kwargs):
        raise client.BpmsError("ConnectionRefusedError")

    monkeypatch.setattr(client, "send_message", down)
    message = services.outbox_enqueue(case_kind="fake", case_id="c9", kind="submit", payload={}, idempotency_key="k9")
    # 2 h of outage at the capped backoff is ~40 attempts: the old 15-attempt rule had killed it
    for _ in range(40):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        services.outbox_send(message_id=message.pk)
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(hours=71))
    message.refresh_from_db()
    assert message.status == "pending" and message.attempts >= 40
    health = admin_client.get("/healthz").json()["bpms_outbox"]
    assert health["pending"] == 1 and health["oldest_pending_seconds"] >= 71 * 3600 and health["dead"] == 0
    page = admin_client.get("/admin/bpms_bridge/outboxmessage/").content.decode()
    assert "Ожидают отправки в BPMS: 1" in page
    # past 72 h it is a dead letter (the admin «Send again» revives it, as before)
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - dt.timedelta(hours=72, minutes=1),
                                                       next_attempt_at=timezone.now())
    services.outbox_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "dead"
    assert admin_client.get("/healthz").json()["bpms_outbox"]["dead"] == 1
