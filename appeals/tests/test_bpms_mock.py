"""An appeal through the real BPMS Simbase mock (a separate process): submit via the outbox, the
operator's actions come back through the feed with their payloads, the revision loop
(resubmit), the ДС signed by both parties, then by KZhK in BPMS."""

import pytest
from django.core.files.base import ContentFile

from appeals import services
from appeals.models import OFFICIAL_LETTER, AppealSignature, AppealStatus
from bpms_bridge import services as bridge
from bpms_bridge.models import OutboxMessage
from bpms_bridge.tests.mockproc import MockProcess

from .factories import AppealFactory

S = AppealStatus
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def mock(tmp_path, settings):
    proc = MockProcess(tmp_path / "mock.sqlite3").start()
    settings.BPMS_BASE_URL = proc.url
    yield proc
    proc.stop()


def _send_outbox():
    for message in OutboxMessage.objects.filter(status="pending").order_by("pk"):
        bridge.outbox_send(message_id=message.pk)
        message.refresh_from_db()
        assert message.status == "sent", (message.kind, message.last_error if hasattr(message, "last_error") else "")


def _pull_feed():
    """bpms_bridge.feed_pull holds a Redis lock shared by every test run on this machine: if
    another run holds it, try again."""
    import time

    from bpms_bridge import services as bridge

    for _attempt in range(100):
        if bridge.feed_pull():
            return
        time.sleep(0.2)
    raise AssertionError("the BPMS feed brought nothing")


def _act(mock, appeal, action, **form):
    status, answer = mock.call("POST", "/admin/actions", {"case_kind": "appeal", "external_id": str(appeal.public_id),
                                                          "action": action, **form})
    assert status == 200, answer


@pytest.mark.django_db
def test_appeal_round_trip_through_the_bpms_mock(mock):
    appeal = AppealFactory(other_text="")
    services.appeal_file_add(appeal=appeal, slot=OFFICIAL_LETTER, uploaded_file=ContentFile(PDF, name="letter.pdf"),
                             content_type="application/pdf")
    signer = services.Signer(full_name="ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ")
    services.appeal_signed(appeal=appeal, signer=signer)
    _send_outbox()

    _act(mock, appeal, "register")
    _act(mock, appeal, "assign", executor="Сейткали Нурлан Бахытович")
    _act(mock, appeal, "revision", notes="Приложите график работ")
    _pull_feed()
    appeal.refresh_from_db()
    assert appeal.status == S.REVISION
    assert appeal.registration_number and appeal.registered_at and appeal.review_deadline
    assert appeal.executor_name == "Сейткали Нурлан Бахытович" and appeal.internal_number.startswith("ВН-")
    notice = appeal.history.get(status=S.REVISION)
    assert notice.payload["notes"] == "Приложите график работ"
    assert b"/ByteRange" in notice.document.read()  # issued under KZhK's key: verifiable

    # Revision loop: signed again → «Заявка отправлена» → BPMS resubmission → review again.
    services.appeal_signed(appeal=appeal, signer=signer)
    _send_outbox()
    assert OutboxMessage.objects.filter(case_id=str(appeal.public_id), kind="resubmit").exists()
    _act(mock, appeal, "assign", executor="Сейткали Нурлан Бахытович")
    _act(mock, appeal, "approve")
    _act(mock, appeal, "prepare_ds")
    _pull_feed()
    appeal.refresh_from_db()
    assert appeal.status == S.DS_APPLICANT_SIGNING and appeal.ds_file

    services.appeal_ds_signed(appeal=appeal, organization=appeal.organization, signer=signer)
    appeal = services.appeal_ds_signed(appeal=appeal, organization=appeal.contract.developer,
                                       signer=services.Signer(full_name="ЖУМАБЕКОВ ЕРЛАН СЕРИКОВИЧ"))
    assert appeal.status == S.DS_KZHK_SIGNING
    _send_outbox()
    _act(mock, appeal, "sign_ds")
    _pull_feed()
    assert services.appeal_documents_issue_pending() == 1  # KZhK's issue of the ДС, on the worker
    appeal.refresh_from_db()
    assert appeal.status == S.DS_SIGNED and appeal.ds_number.startswith("ДС-") and appeal.ds_date
    assert b"/ByteRange" in appeal.ds_signed_file.read()
    assert set(appeal.signatures.values_list("party", flat=True)) >= {
        AppealSignature.Party.DS_APPLICANT, AppealSignature.Party.DS_DEVELOPER, AppealSignature.Party.DS_KZHK}
    statuses = list(appeal.history.filter(event="status").values_list("status", flat=True))
    assert statuses == [S.SENT, S.REGISTERED, S.IN_REVIEW, S.REVISION, S.SENT, S.IN_REVIEW, S.APPROVED,
                        S.DS_APPLICANT_SIGNING, S.DS_KZHK_SIGNING, S.DS_SIGNED]
