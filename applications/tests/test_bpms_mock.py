"""An application through the real BPMS Simbase mock (a separate process): submitted via the
outbox on «Заявка отправлена», registered, returned for revision, re-sent («resubmit»),
approved → the pledge agreement to sign by the УК and the developer."""

import pytest
from django.core.files.base import ContentFile

from applications import services
from applications.models import DecisionDocument, Status
from applications.tests.test_workflow import complete_application
from bpms_bridge import services as bridge
from bpms_bridge.models import OutboxMessage
from bpms_bridge.tests.mockproc import MockProcess

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    from applications.models import Provider
    from applications.tests.factories import ConsentTypeFactory, DocumentTypeFactory

    return {
        "company_doc": DocumentTypeFactory(stage=2, provider=Provider.COMPANY),
        "developer_doc": DocumentTypeFactory(stage=3, provider=Provider.DEVELOPER),
        "company_consent": ConsentTypeFactory(provider=Provider.COMPANY),
        "developer_consent": ConsentTypeFactory(provider=Provider.DEVELOPER),
    }


@pytest.fixture
def mock(tmp_path, settings):
    # feed_pull takes a lock in the cache; the shared Redis test DB is used by every parallel run
    # on this machine, so another run's pull would make ours return 0 events: use a private cache.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"applications-bpms-{tmp_path.name}"}}
    proc = MockProcess(tmp_path / "mock.sqlite3").start()
    settings.BPMS_BASE_URL = proc.url
    yield proc
    proc.stop()


def _send_outbox():
    for message in OutboxMessage.objects.filter(status="pending").order_by("pk"):
        bridge.outbox_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == "sent", (message.kind, message.last_error)


def _act(mock, app, action, **form):
    status, answer = mock.call("POST", "/admin/actions", {"case_kind": app.definition.bpms_case_kind,
                                                          "external_id": str(app.public_id),
                                                          "action": action, **form})
    assert status == 200, answer


def test_application_round_trip_through_the_bpms_mock(mock, company, company_user, registry, catalogue):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    _send_outbox()
    _act(mock, app, "register")
    _act(mock, app, "assign", executor="Сейткали Нурлан Бахытович")
    _act(mock, app, "revision", notes="Приложите график работ")
    bridge.feed_pull()
    app.refresh_from_db()
    assert app.status == Status.REVISION
    assert app.registration_number and app.registered_at and app.due_date
    notice = app.history.get(status=Status.REVISION)
    assert "Приложите график работ" in notice.comment
    assert b"/ByteRange" in notice.document.read()  # issued under KZhK's key

    services.file_upload(application=app, document_type=catalogue["company_doc"], actor=company_user,
                         uploaded_file=ContentFile(b"%PDF-1.4\n%%EOF\n", name="grafik.pdf"), provider="company")
    services.application_signed(application=app, actor=company_user)
    _send_outbox()
    assert OutboxMessage.objects.filter(case_id=str(app.public_id), kind="resubmit").exists()
    _act(mock, app, "assign", executor="Сейткали Нурлан Бахытович")
    _act(mock, app, "approve")
    bridge.feed_pull()
    app.refresh_from_db()
    assert app.status == Status.APPROVED
    services.application_documents_issue_pending(settle_seconds=0)  # the worker's step
    pledge = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.PLEDGE)
    assert pledge.state == DecisionDocument.State.TO_SIGN and pledge.signed_document.parties.count() == 2
    statuses = list(app.history.filter(event="status").order_by("id").values_list("status", flat=True))
    assert statuses == [Status.SENT, Status.REGISTERED, Status.IN_REVIEW, Status.REVISION, Status.SENT,
                        Status.IN_REVIEW, Status.APPROVED]


def test_subsidy_application_round_trip_through_the_bpms_mock(mock, company, company_user, registry):
    """The mock's subsidy route: register, assign, approve, the agreement sent for signing; the
    parties' signatures make the portal's «Договор субсидирования подписан» and tell the mock."""
    from applications.tests.test_subsidy import complete_subsidy

    app, _dev = complete_subsidy(company, company_user)
    services.application_signed(application=app, actor=company_user)
    _send_outbox()
    assert OutboxMessage.objects.get(case_id=str(app.public_id), kind="submit").case_kind == "subsidy"
    for action in ("register", "assign", "approve", "send_agreement"):
        _act(mock, app, action)
    bridge.feed_pull()
    app.refresh_from_db()
    assert app.status == Status.AGREEMENT_SIGNING and app.registration_number and app.due_date
    agreement = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.SUBSIDY_AGREEMENT)
    assert agreement.title == "Договор субсидирования" and agreement.signed_document.parties.count() == 2
    services.decision_document_transition(agreement, to=DecisionDocument.State.SIGNED, actor="system")
    app.refresh_from_db()
    assert app.status == Status.AGREEMENT_SIGNED and app.issued_contract.kind == "subsidy"
    _send_outbox()  # signed_document: the mock accepts it on its subsidy route (agreement_signing → agreement_signed)
    assert OutboxMessage.objects.get(case_id=str(app.public_id), kind="signed_document").status == "sent"
    statuses = list(app.history.filter(event="status").order_by("id").values_list("status", flat=True))
    assert statuses == [Status.SENT, Status.REGISTERED, Status.IN_REVIEW, Status.SUBSIDY_APPROVED,
                        Status.AGREEMENT_SIGNING, Status.AGREEMENT_SIGNED]
