"""The transition table: every allowed move succeeds with its payload, every other is refused."""

import base64
import datetime
import itertools

import pytest
from django.utils import timezone

from appeals import services, transitions
from appeals.models import AppealHistory, AppealSignature, AppealStatus
from appeals.services import Document, TransitionRefused
from appeals.transitions import Actor
from cabinets.models import Notification

from .factories import AppealFactory

S = AppealStatus
PDF = b"%PDF-1.4\n% test\n"

PAYLOADS = {
    S.SENT: {},
    S.REGISTERED: {"registration_number": "КЖК-2026-0001", "review_deadline": "2026-12-10"},
    S.IN_REVIEW: {"executor_name": "Сапарова Айгерим Болатовна", "internal_number": "ВН-17"},
    S.REVISION: {"revision_deadline": "2026-12-20", "document": Document("Уведомление.pdf", PDF)},
    S.REJECTED: {"document": Document("Отказ.pdf", PDF)},
    S.APPROVED: {},
    S.DS_APPLICANT_SIGNING: {"document": Document("ДС.pdf", PDF)},
    S.DS_KZHK_SIGNING: {},
    S.DS_SIGNED: {"ds_number": "ДС-1/2026", "ds_date": "2026-12-25", "document": Document("ДС-подп.pdf", PDF)},
}
ALL_ACTORS = [Actor.APPLICANT, Actor.SYSTEM, Actor.BPMS, Actor.STAFF]


@pytest.mark.django_db
@pytest.mark.parametrize("rule", transitions.TRANSITIONS, ids=lambda r: f"{r.source}->{r.target}")
def test_every_allowed_transition(rule, django_capture_on_commit_callbacks):
    appeal = AppealFactory(status=rule.source, sent_at=timezone.now())
    actor = sorted(rule.actors)[0]
    with django_capture_on_commit_callbacks(execute=True):
        appeal = services.appeal_transition(appeal, to=rule.target, actor=actor, payload=dict(PAYLOADS[rule.target]))
    appeal.refresh_from_db()
    assert appeal.status == rule.target
    step = appeal.history.get(event=AppealHistory.Event.STATUS)
    assert (step.from_status, step.status) == (rule.source, rule.target)
    note = Notification.objects.get(organization=appeal.organization)
    assert note.title_ru and note.title_kk and note.title_ru != note.title_kk
    developer_notes = Notification.objects.filter(organization=appeal.contract.developer).count()
    assert developer_notes == (1 if rule.target in (S.DS_APPLICANT_SIGNING, S.DS_SIGNED) else 0)
    if "document" in PAYLOADS[rule.target]:
        assert step.document and step.document_name
    for key in rule.required:
        if key != "document":
            assert key in step.payload


@pytest.mark.django_db
@pytest.mark.parametrize("rule", transitions.TRANSITIONS, ids=lambda r: f"{r.source}->{r.target}")
def test_allowed_transition_refused_for_other_actors(rule):
    appeal = AppealFactory(status=rule.source)
    for actor in set(ALL_ACTORS) - rule.actors:
        with pytest.raises(TransitionRefused):
            services.appeal_transition(appeal, to=rule.target, actor=actor, payload=dict(PAYLOADS[rule.target]))
    appeal.refresh_from_db()
    assert appeal.status == rule.source


@pytest.mark.django_db
@pytest.mark.parametrize("rule", [r for r in transitions.TRANSITIONS if r.required],
                         ids=lambda r: f"{r.source}->{r.target}")
def test_transition_refused_without_its_payload(rule):
    appeal = AppealFactory(status=rule.source)
    with pytest.raises(TransitionRefused):
        services.appeal_transition(appeal, to=rule.target, actor=sorted(rule.actors)[0], payload={})
    appeal.refresh_from_db()
    assert appeal.status == rule.source


REFUSED = [
    (a, b) for a, b in itertools.product(S.values, S.values) if transitions.find(a, b) is None
]


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_every_other_transition_is_refused_and_logged(source, target, caplog):
    appeal = AppealFactory(status=source)
    for actor in ALL_ACTORS:
        with pytest.raises(TransitionRefused):
            services.appeal_transition(appeal, to=target, actor=actor, payload=dict(PAYLOADS.get(target, {})))
    appeal.refresh_from_db()
    assert appeal.status == source
    assert not appeal.history.filter(event=AppealHistory.Event.STATUS).exists()
    assert "refused" in caplog.text


def test_table_covers_ten_statuses_and_user_actions():
    assert len(S.values) == 10
    assert set(transitions.USER_ACTIONS) == set(S.values)
    assert transitions.user_can(S.DRAFT, transitions.DELETE)
    assert not transitions.user_can(S.SENT, transitions.EDIT)
    assert transitions.user_can(S.REVISION, transitions.SIGN)


@pytest.mark.django_db
def test_registration_date_follows_working_hours():
    # Sent on Saturday 22.11.2026 at 12:00 Astana time → registered Monday 24.11 at 9:30.
    sent = timezone.make_aware(datetime.datetime(2026, 11, 21, 12, 0))
    appeal = AppealFactory(status=S.SENT, sent_at=sent)
    appeal = services.appeal_transition(appeal, to=S.REGISTERED, actor=Actor.BPMS, payload=PAYLOADS[S.REGISTERED])
    local = timezone.localtime(appeal.registered_at)
    assert local.weekday() == 0 and (local.hour, local.minute) == (9, 30)
    assert local.date() == datetime.date(2026, 11, 23)


@pytest.mark.django_db
def test_bpms_event_is_idempotent_and_never_backwards(monkeypatch):
    issued = []
    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda *, pdf, title, signers=None: issued.append(pdf) or b"SIGNED")
    appeal = AppealFactory(status=S.SENT, sent_at=timezone.now())
    event = {"seq": 1, "status": "registered", "occurred_at": timezone.now().isoformat(),
             "payload": {"registration_number": "R-1", "review_deadline": "2026-12-01"}, "documents": []}
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event=event)
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event=event)
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED and appeal.last_bpms_seq == 1
    assert appeal.history.filter(event=AppealHistory.Event.STATUS).count() == 1
    # An older status with a newer seq does not move it back.
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event={**event, "seq": 2, "status": "sent"})
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED
    # A document arrives base64-encoded.
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event={
        "seq": 3, "status": "in_review", "payload": {"executor_name": "Исполнитель", "executor_number": "ВН-7"}})
    appeal.refresh_from_db()
    assert appeal.internal_number == "ВН-7"
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event={
        "seq": 4, "status": "revision", "payload": {"deadline": "2026-12-05", "notes": "Приложите график"},
        "documents": [{"name": "Уведомление.pdf", "content_type": "application/pdf",
                       "data_b64": base64.b64encode(PDF).decode()}]})
    appeal.refresh_from_db()
    assert appeal.status == S.REVISION and appeal.revision_deadline == datetime.date(2026, 12, 5)
    step = appeal.history.get(status=S.REVISION)
    # An unsigned notification from BPMS is issued under KZhK's key, so it can be verified.
    assert issued == [PDF] and step.document.read() == b"SIGNED"
    # Unknown case ids are ignored.
    assert services.appeal_apply_bpms_event(case_id="nope", event=event) is None


@pytest.mark.django_db
def test_ds_goes_to_kzhk_only_after_applicant_and_developer():
    appeal = AppealFactory(status=S.DS_APPLICANT_SIGNING)
    signer = services.Signer(full_name="Иванов Иван", iin="850101300123")
    appeal = services.appeal_ds_signed(appeal=appeal, organization=appeal.organization, signer=signer)
    assert appeal.status == S.DS_APPLICANT_SIGNING
    # Signing twice changes nothing.
    services.appeal_ds_signed(appeal=appeal, organization=appeal.organization, signer=signer)
    assert appeal.signatures.count() == 1
    appeal = services.appeal_ds_signed(appeal=appeal, organization=appeal.contract.developer, signer=signer)
    assert appeal.status == S.DS_KZHK_SIGNING
    parties = set(appeal.signatures.values_list("party", flat=True))
    assert parties == {AppealSignature.Party.DS_APPLICANT, AppealSignature.Party.DS_DEVELOPER}


@pytest.mark.django_db
def test_sending_enqueues_for_bpms_and_bridge_events_apply():
    from bpms_bridge.models import OutboxMessage
    from bpms_bridge.services import event_apply

    appeal = AppealFactory(status=S.DRAFT)
    appeal = services.appeal_signed(appeal=appeal, signer=services.Signer(full_name="Иванов"))
    message = OutboxMessage.objects.get(case_kind="appeal", case_id=str(appeal.public_id))
    assert message.kind == "submit" and message.payload["contract_number"] == appeal.contract.number
    outcome = event_apply(raw={
        "seq": 101, "case_seq": 1, "case_kind": "appeal", "external_id": str(appeal.public_id), "status": "registered",
        "occurred_at": timezone.now().isoformat(), "payload": {"registration_number": "КЖК-77",
                                                                "review_deadline": "2026-12-30"}})
    assert outcome == "applied"
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED and appeal.registration_number == "КЖК-77"
    # A move the table refuses is recorded as failed by the bridge; the appeal stays.
    outcome = event_apply(raw={
        "seq": 102, "case_seq": 2, "case_kind": "appeal", "external_id": str(appeal.public_id),
        "status": "ds_signed", "occurred_at": timezone.now().isoformat(), "payload": {}})
    assert outcome == "failed"
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED


@pytest.mark.django_db
def test_resubmission_after_revision_goes_to_bpms_as_resubmit():
    from bpms_bridge.models import OutboxMessage

    appeal = AppealFactory(status=S.DRAFT)
    signer = services.Signer(full_name="Иванов")
    appeal = services.appeal_signed(appeal=appeal, signer=signer)
    appeal.status = S.REVISION
    appeal.save(update_fields=["status"])
    services.appeal_signed(appeal=appeal, signer=signer)
    kinds = list(OutboxMessage.objects.filter(case_id=str(appeal.public_id)).order_by("pk").values_list("kind", flat=True))
    assert kinds == ["submit", "resubmit"]


@pytest.mark.django_db
def test_bpms_ds_signed_issues_the_signed_ds_from_the_pdf_the_parties_signed(monkeypatch):
    from django.core.files.base import ContentFile

    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda *, pdf, title, signers=None: b"PADES:" + pdf)
    appeal = AppealFactory(status=S.DS_KZHK_SIGNING)
    appeal.ds_file.save("ds.pdf", ContentFile(PDF))
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event={
        "seq": 9, "status": "ds_signed", "occurred_at": "2026-12-25T10:00:00+05:00",
        "payload": {"ds_number": "ДС-00009", "final": True}, "documents": []})
    appeal.refresh_from_db()
    assert appeal.status == S.DS_SIGNED and appeal.ds_number == "ДС-00009"
    assert appeal.ds_date == datetime.date(2026, 12, 25)
    assert not appeal.ds_signed_file  # the status at once; KZhK's issue on the worker (called here)
    services.appeal_ds_signed_issue(appeal_id=appeal.pk)
    services.appeal_ds_signed_issue(appeal_id=appeal.pk)  # idempotent
    appeal.refresh_from_db()
    assert appeal.ds_signed_file.read() == b"PADES:" + PDF
    issued = appeal.history.get(event=AppealHistory.Event.DOCUMENT_ISSUED)
    assert issued.document.name == appeal.ds_signed_file.name
    assert appeal.signatures.filter(party=AppealSignature.Party.DS_KZHK).exists()


@pytest.mark.django_db
def test_bpms_sequence_numbers_beyond_32_bits():
    appeal = AppealFactory(status=S.SENT, sent_at=timezone.now())
    seq = 1_764_000_000_000_123
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event={
        "seq": seq, "status": "registered", "payload": {"registration_number": "R-9"}})
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED and appeal.last_bpms_seq == seq


@pytest.mark.django_db
def test_bpms_notice_is_signed_in_the_prepare_step_and_not_again_in_apply(monkeypatch):
    """KZhK's signature happens in appeal_prepare_bpms_event (bpms_bridge runs it before its
    transaction); apply then stores that PDF as is."""
    issued = []

    def fake_issue(*, pdf, title, signers=None):
        issued.append(pdf)
        return b"%PDF-1.7 /ByteRange [0 1 2 3] SIGNED"

    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", fake_issue)
    appeal = AppealFactory(status=S.IN_REVIEW, sent_at=timezone.now())
    event = {"seq": 5, "status": "revision", "payload": {"deadline": "2026-12-05"},
             "documents": [{"name": "Уведомление.pdf", "content_type": "application/pdf",
                            "data_b64": base64.b64encode(PDF).decode()}]}
    prepared = services.appeal_prepare_bpms_event(case_id=str(appeal.public_id), event=event)
    assert issued == [PDF]
    services.appeal_apply_bpms_event(case_id=str(appeal.public_id), event=prepared)
    assert issued == [PDF]  # not signed a second time inside the transaction
    step = appeal.history.get(status=S.REVISION)
    assert step.document.read().endswith(b"SIGNED")
