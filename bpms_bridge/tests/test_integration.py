"""Integration: a real Celery worker against Redis, the BPMS mock as a real HTTP process.

Run with your own Redis DB, e.g.
REDIS_URL=redis://127.0.0.1:6379/13 TEST_DATABASE_NAME=test_hp_bpms pytest bpms_bridge/tests/test_integration.py
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection, transaction

from bpms_bridge import registry, services
from bpms_bridge.models import AppliedEvent, BpmsCase
from bpms_bridge.tests import fakekind
from bpms_bridge.tests.mockproc import ROOT, MockProcess

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout=20.0, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@pytest.fixture(autouse=True)
def fake_kind(settings):
    settings.BPMS_OUTBOX_BACKOFF_BASE = 0.3
    settings.BPMS_OUTBOX_BACKOFF_CAP = 1.0
    settings.BPMS_OUTBOX_LEASE_SECONDS = 2.0
    settings.BPMS_HTTP_TIMEOUT = 3.0
    fakekind.reset()
    registry.register_case_kind("fake", apply_event="bpms_bridge.tests.fakekind.apply_event")
    yield
    registry.unregister_case_kind("fake")


@pytest.fixture
def worker():
    from celery.contrib.testing.worker import start_worker

    from homeportal.celery import app

    assert app.conf.broker_url.startswith("redis://")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as w:
        yield w


def enqueue_submit(case_id="c1", key="submit-c1"):
    fakekind.create(case_id)
    with transaction.atomic():  # the domain's status-changing transaction
        return services.outbox_enqueue(case_kind="fake", case_id=case_id, kind="submit", payload={"category": ""}, idempotency_key=key)


def status_of(message):
    message.refresh_from_db()
    return message.status


def test_a_case_reaches_the_mock_once_and_statuses_come_back_in_order(bpms_mock, worker):
    from bpms_bridge.tasks import feed_pull_task

    message = enqueue_submit()
    wait_for(lambda: status_of(message) == "sent", message="the outbox row to be sent")
    assert message.attempts == 1 and message.bpms_case_id.startswith("SB-")
    stats = bpms_mock.stats()
    assert stats["cases"] == 1 and stats["messages"] == 1
    for action in ("register", "assign", "approve"):
        assert bpms_mock.action(action, case_kind="fake", external_id="c1")[0] == 200
    feed_pull_task.delay()
    wait_for(lambda: AppliedEvent.objects.count() == 3, message="three applied events")
    assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review", "approved"]
    case = BpmsCase.objects.get(case_kind="fake", case_id="c1")
    assert case.bpms_case_id == message.bpms_case_id and case.last_case_seq == 3
    assert list(AppliedEvent.objects.values_list("status", flat=True)) == ["registered", "in_review", "approved"]
    assert fakekind.EVENTS["c1"][0]["payload"]["registration_number"]


def test_mock_down_then_back_nothing_lost_nothing_duplicated(bpms_mock, worker):
    from bpms_bridge.tasks import feed_pull_task

    bpms_mock.stop()
    message = enqueue_submit()
    wait_for(lambda: (message.refresh_from_db() or message.attempts) >= 2, message="failed attempts while BPMS is down")
    assert message.status == "pending" and message.last_error
    assert feed_pull_task.apply().get() == 0  # the feed is down too: nothing applied, nothing lost
    bpms_mock.start()  # same port, same SQLite file
    wait_for(lambda: status_of(message) == "sent", message="the row to be sent once BPMS is back")
    assert bpms_mock.stats()["cases"] == 1 and bpms_mock.stats()["messages"] == 1
    bpms_mock.action("register", case_kind="fake", external_id="c1")
    bpms_mock.action("assign", case_kind="fake", external_id="c1")
    bpms_mock.stop()
    feed_pull_task.apply()
    bpms_mock.start()
    bpms_mock.action("approve", case_kind="fake", external_id="c1")
    feed_pull_task.delay()
    wait_for(lambda: AppliedEvent.objects.count() == 3, message="all events after the outage")
    assert fakekind.HISTORY["c1"] == ["sent", "registered", "in_review", "approved"]
    assert AppliedEvent.objects.count() == 3


def test_worker_killed_in_the_middle_of_a_send_the_case_arrives_once(bpms_mock):
    """A separate worker process is SIGKILLed while BPMS holds the answer; the sweeper resends
    with the same idempotency key after the lease and BPMS answers with the same case."""
    from celery.contrib.testing.worker import start_worker

    from homeportal.celery import app

    db = connection.settings_dict
    env = {
        **os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "BPMS_BASE_URL": bpms_mock.url, "BPMS_API_TOKEN": "dev-bpms-token", "BPMS_HTTP_TIMEOUT": "60",
        "BPMS_OUTBOX_LEASE_SECONDS": "2", "PYTHONPATH": str(ROOT),
    }
    bpms_mock.faults(delay_after=30)  # BPMS stores the case, then answers very late
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "homeportal", "worker", "--pool=solo", "--concurrency=1",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", "celery", "--loglevel=WARNING"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    try:
        message = enqueue_submit()
        wait_for(lambda: bpms_mock.stats()["cases"] == 1, timeout=40, message="the case to reach BPMS")
        message.refresh_from_db()
        assert message.status == "pending" and message.attempts == 1  # claimed, answer not received
        os.killpg(proc.pid, signal.SIGKILL)  # the worker dies in the middle of the send
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    bpms_mock.faults(reset=True)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        time.sleep(2.1)  # the lease expires
        assert services.outbox_sweep() == 1
        wait_for(lambda: status_of(message) == "sent", message="the resend after the sweep")
    assert message.attempts == 2
    stats = bpms_mock.stats()
    assert stats["cases"] == 1 and stats["messages"] == 1
    case = bpms_mock.call("GET", f"/api/cases/{message.bpms_case_id}")[1]
    assert case["external_id"] == "c1"


def test_events_repeated_and_out_of_order_final_status_right_history_clean(tmp_path, live_server, worker, settings):
    mock = MockProcess(tmp_path / "m.sqlite3", webhook_url=live_server.url + "/bpms/webhook/",
                       webhook_secret=settings.BPMS_WEBHOOK_SECRET).start()
    settings.BPMS_BASE_URL = mock.url
    try:
        message = enqueue_submit()
        wait_for(lambda: status_of(message) == "sent", message="the submit")
        mock.faults(webhook_repeat=True, webhook_reverse=True)
        statuses = ["registered", "in_review", "approved", "ds_applicant_signing"]
        mock.call("POST", "/admin/emit", {"events": [{"case_kind": "fake", "external_id": "c1", "status": s} for s in statuses]})
        wait_for(lambda: AppliedEvent.objects.count() == 4, message="the last status")
        wait_for(lambda: mock.stats()["webhooks"]["delivered"] >= 8, message="all (repeated) webhooks")
        # And the feed once more on top: still nothing new.
        assert services.feed_pull() in (0, 4)
    finally:
        mock.stop()
    assert fakekind.HISTORY["c1"] == ["sent", *statuses]
    applied = list(AppliedEvent.objects.order_by("case_seq").values_list("case_seq", "status", "outcome"))
    assert applied == [(i + 1, s, "applied") for i, s in enumerate(statuses)]


def test_dropped_and_timed_out_calls_every_case_arrives_once(bpms_mock, worker, settings):
    settings.BPMS_HTTP_TIMEOUT = 1.0
    bpms_mock.faults(drop_every=3)
    messages = [enqueue_submit(case_id=f"d{i}", key=f"submit-d{i}") for i in range(6)]
    wait_for(lambda: all(status_of(m) == "sent" for m in messages), timeout=40, message="every row sent despite drops")
    assert sum(m.attempts for m in messages) > len(messages)  # some calls were dropped and retried
    # A BPMS that answers after the client gave up: it stored the case; the retry gets the same case.
    bpms_mock.faults(reset=True, delay_before=1.5)
    slow = enqueue_submit(case_id="slow", key="submit-slow")
    wait_for(lambda: bpms_mock.stats()["cases"] == 7, timeout=20, message="the slow case stored by BPMS")
    bpms_mock.faults(reset=True)
    wait_for(lambda: status_of(slow) == "sent", timeout=30, message="the slow case acknowledged")
    assert slow.attempts >= 2
    stats = bpms_mock.stats()
    assert stats["cases"] == 7 and stats["messages"] == 7
    assert len({m.bpms_case_id for m in [*messages, slow]}) == 7
