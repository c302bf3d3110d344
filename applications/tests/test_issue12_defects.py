"""Defects 1, 3 and 4 of issue #12, each walked as the user meets it."""

import base64
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.models import Application, ConsentDocument, DecisionDocument, Status
from applications.tests.factories import PDF_BYTES, ApplicationFactory
from cabinets.models import Notification
from tests.factories import UserFactory

from .test_workflow import WORKING, catalogue, complete_application, sign_with_demo_key  # noqa: F401 — fixtures

pytestmark = pytest.mark.django_db
PDF_B64 = base64.b64encode(PDF_BYTES).decode()


def approve(app):
    case = str(app.public_id)
    for seq, status, payload in ((1, Status.REGISTERED, {"registration_number": "01-00007/26"}),
                                 (2, Status.IN_REVIEW, {}), (3, Status.APPROVED, {"final": True})):
        event = {"seq": seq, "status": status, "occurred_at": f"2026-11-2{seq}T10:00:00+05:00", "payload": payload}
        services.application_apply_bpms_event(
            case_id=case, event=services.application_prepare_bpms_event(case_id=case, event=event))
    services.application_documents_issue_pending(settle_seconds=0)  # the pledge agreement, on the worker


# --- 1. An АВР after approval neither repeats «approved» nor makes a second «Договор залога» ------


def test_avr_after_approval_adds_the_avr_and_nothing_else(company, company_user, registry, catalogue):  # noqa: F811
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    approve(app)
    assert DecisionDocument.objects.filter(application=app, kind=DecisionDocument.Kind.PLEDGE).count() == 1
    approvals = Notification.objects.filter(organization=company, title_ru__startswith="Заявка одобрена").count()
    # The BPMS mock's «Направить АВР на подписание» repeats the case's status with the АВР.
    case = str(app.public_id)
    avr_event = {"seq": 4, "status": Status.APPROVED, "occurred_at": "2026-11-25T10:00:00+05:00",
                 "payload": {"avr_number": "АВР-00007"},
                 "documents": [{"name": "AVR-00007.pdf", "content_type": "application/pdf", "data_b64": PDF_B64,
                                "kind": "avr", "title": "Акт выполненных работ"}]}
    services.application_apply_bpms_event(
        case_id=case, event=services.application_prepare_bpms_event(case_id=case, event=avr_event))
    kinds = sorted(DecisionDocument.objects.filter(application=app).values_list("kind", flat=True))
    assert kinds == [DecisionDocument.Kind.AVR, DecisionDocument.Kind.PLEDGE]
    assert app.history.filter(event="status", status=Status.APPROVED).count() == 1
    assert Notification.objects.filter(organization=company, title_ru__startswith="Заявка одобрена").count() == approvals
    app.refresh_from_db()
    assert app.status == Status.APPROVED and app.bpms_seq == 4


# --- 3. «Редактировать» / «Удалить» only on applications never sent ----------------------------------


def _row(html: str, application) -> str:
    match = re.search(rf'<tr data-application="{application.public_id}">(.*?)</tr>', html, re.S)
    assert match, "the application is listed"
    return match.group(1)


def test_list_offers_edit_and_delete_only_on_applications_never_sent(company_client, company):
    draft = ApplicationFactory(organization=company)
    returned = ApplicationFactory(organization=company, status=Status.REVISION, moderation_opens_at=timezone.now())
    html = company_client.get(reverse("applications:list")).content.decode()
    assert "Удалить" in _row(html, draft) and "Редактировать" in _row(html, draft)
    assert "Удалить" not in _row(html, returned) and "Редактировать" not in _row(html, returned)
    company_client.post(reverse("applications:delete", args=[returned.public_id]))
    assert Application.objects.filter(pk=returned.pk).exists()
    # Revising it stays possible from its number.
    assert company_client.get(reverse("applications:stage", args=[returned.public_id, 1])).status_code == 200
    with pytest.raises(services.ApplicationError):
        services.application_delete(application=returned, actor=None)


# --- 4. «История заявки»: the stages, each downloadable where it has a document -------------------

STAGES = {"created", "developer_joined", "status", "signed", "document_issued", "document_signed", "document_completed",
          "document_returned"}


def test_history_lists_stages_with_downloads(client, company, company_user, registry, catalogue):  # noqa: F811
    app, dev_user = complete_application(company, company_user, catalogue)  # tabs, uploads, consents, invitation
    services.application_draft_saved(application=app, actor=company_user)
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    moderator = UserFactory(is_staff=True)
    services.moderation_decide(application=app, moderator=moderator, items=[{"name": "Устав", "ok": False,
                                                                            "remark": "Нет страницы"}])
    consent = ConsentDocument.objects.get(application=app, consent_type=catalogue["developer_consent"])
    services.consent_mark_signed(consent=consent, signer_name="Петров", actor=dev_user)  # re-signed after remarks
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    services.moderation_decide(application=app, moderator=moderator, items=[{"name": "Устав", "ok": True, "remark": ""}])
    client.force_login(company_user)
    client.post(reverse("applications:sign", args=[app.public_id]))
    assert sign_with_demo_key(client, None, "company_head_sign").json()["ok"]
    approve(app)
    pledge = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.PLEDGE)
    for user, key in ((company_user, "company_head_sign"), (dev_user, "developer_head_sign")):
        client.force_login(user)
        client.post(reverse("applications:decision_sign", args=[app.public_id, pledge.pk]))
        assert sign_with_demo_key(client, None, key).json()["ok"]

    events = list(app.history.order_by("id").values_list("event", "status"))
    assert {e for e, _s in events} <= STAGES, events
    statuses = [s for e, s in events if e == "status"]
    assert statuses == [Status.ON_MODERATION, Status.REVISION, Status.ON_MODERATION, Status.TO_SIGN, Status.SENT,
                        Status.REGISTERED, Status.IN_REVIEW, Status.APPROVED]
    # developer joined, 8 statuses, signed, pledge issued, signed by 2 parties, signed by all (the
    # factory made the application, so no «created» row here; test_views checks that one)
    assert len(events) == 14, events

    client.force_login(company_user)
    page = client.get(reverse("applications:history", args=[app.public_id])).content.decode()
    downloads = set(re.findall(rf"/applications/{app.public_id}/history/(\d+)/file/", page))
    by_event = {str(pk): (event, status) for pk, event, status in app.history.values_list("pk", "event", "status")}
    offered = sorted(by_event[pk] for pk in downloads)
    assert ("status", Status.REVISION) in offered  # moderation's conclusion
    assert ("signed", "") in [(e, "") for e, _s in offered]  # the signed application
    assert ("document_issued", "") in offered and ("document_completed", DecisionDocument.State.SIGNED) in offered
    for pk in downloads:
        response = client.get(reverse("applications:history_file", args=[app.public_id, pk]))
        assert response.status_code in (200, 302), by_event[pk]
    # Another organization gets 404 for the same rows.
    client.force_login(UserFactory())
    assert client.get(reverse("applications:history_file", args=[app.public_id, min(downloads)])).status_code == 404
