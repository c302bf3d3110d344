import io

import pytest

from applications import demo
from applications.models import Application, ConsentType, DocumentType

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent():
    from cabinets import demo as cabinets_demo

    cabinets_demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    counts = (DocumentType.objects.count(), ConsentType.objects.count(), Application.objects.count())
    demo.seed(stdout=io.StringIO())
    assert counts == (DocumentType.objects.count(), ConsentType.objects.count(), Application.objects.count())
    assert counts[0] >= 10 and ConsentType.objects.filter(service="guarantee").count() == 3
    assert Application.objects.filter(service="guarantee").count() == 2
    assert DocumentType.objects.filter(stage=3, provider="developer").exists()


def test_subsidy_demo(django_capture_on_commit_callbacks):
    from applications.models import Status
    from cabinets import demo as cabinets_demo

    cabinets_demo.seed(stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(stdout=io.StringIO())
    demo.seed(stdout=io.StringIO())
    subsidy = Application.objects.filter(service="subsidy").order_by("pk")
    assert [a.status for a in subsidy] == [Status.DRAFT, Status.IN_REVIEW]
    draft, review = subsidy
    assert draft.contract.kind == "subsidy" and draft.developer is not None
    assert review.registration_number == "СУБ-2026/0001" and review.due_date
    assert [e.label for e in review.history.order_by("created_at", "pk")][-3:] == [
        "Заявка отправлена", "Заявка зарегистрирована", "Заявка на рассмотрении"]
    from applications import selectors

    assert selectors.application_readiness(review).tabs == dict.fromkeys(review.definition.tabs, True)
    assert DocumentType.objects.filter(service="subsidy").count() == 4


def test_the_subsidy_demo_in_review_goes_on_with_the_mock(tmp_path, settings, django_capture_on_commit_callbacks):
    """docs/demo.md §2a: with the mock running, the demo application in review reaches the
    agreement signing (the mock's register/assign for a case already in review change nothing)."""
    from applications.models import DecisionDocument, Status
    from bpms_bridge import services as bridge
    from bpms_bridge.models import OutboxMessage
    from bpms_bridge.tests.mockproc import MockProcess
    from cabinets import demo as cabinets_demo

    cabinets_demo.seed(stdout=io.StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed(stdout=io.StringIO())
    review = Application.objects.get(service="subsidy", status=Status.IN_REVIEW)
    proc = MockProcess(tmp_path / "mock.sqlite3").start()
    try:
        settings.BPMS_BASE_URL = proc.url
        for message in OutboxMessage.objects.filter(status="pending").order_by("pk"):
            bridge.outbox_send(message_id=message.pk)
        for action in ("register", "assign", "approve", "send_agreement"):
            status, answer = proc.call("POST", "/admin/actions", {"case_kind": "subsidy", "external_id": str(
                review.public_id), "action": action, "executor": "Сапарова Айгерим Болатовна"})
            assert status == 200, answer
        for _attempt in range(100):
            if bridge.feed_pull():
                break
    finally:
        proc.stop()
    review.refresh_from_db()
    assert review.status == Status.AGREEMENT_SIGNING
    assert review.registration_number  # the mock's own number now (BPMS is the source of it)
    assert DecisionDocument.objects.filter(application=review, kind="subsidy_agreement").count() == 1
