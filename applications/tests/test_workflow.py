"""The path of an application: invitation, completeness, moderation, signing, BPMS events."""

import base64
import datetime
import re
import zoneinfo

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from applications import selectors, services
from applications.models import (
    ApplicationFile,
    ConsentDocument,
    DecisionDocument,
    DeveloperInvitation,
    ModerationReview,
    Provider,
    Status,
)
from applications.tests.factories import (
    DEVELOPER_BIN,
    PDF_BYTES,
    ApplicationFactory,
    ConsentTypeFactory,
    DocumentTypeFactory,
    valid_tab_data,
)
from cabinets.models import Notification, Organization, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ASTANA = zoneinfo.ZoneInfo("Asia/Almaty")
WORKING = datetime.datetime(2026, 11, 18, 11, 0, tzinfo=ASTANA)  # a Wednesday
SATURDAY = datetime.datetime(2026, 11, 21, 12, 0, tzinfo=ASTANA)


def developer_signer(bin_=DEVELOPER_BIN):
    return services.SignerInfo(bin=bin_, iin="850101300015", surname="Петров", given_name="Пётр",
                               patronymic="Петрович", organization_name="ООО Застройщик")


def invite(app, user):
    services.application_save_tab(application=app, tab="developer", values=valid_tab_data()["developer"], actor=user)
    inv = services.invitation_send(application=app, actor=user)
    return inv


@pytest.fixture
def catalogue(db):
    return {
        "company_doc": DocumentTypeFactory(stage=2, provider=Provider.COMPANY),
        "developer_doc": DocumentTypeFactory(stage=3, provider=Provider.DEVELOPER),
        "optional": DocumentTypeFactory(stage=3, required=False),
        "company_consent": ConsentTypeFactory(provider=Provider.COMPANY),
        "developer_consent": ConsentTypeFactory(provider=Provider.DEVELOPER),
    }


def complete_application(company, user, catalogue):
    """An application with every part filled by both parties (developer joined)."""
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    with_capture = invite(app, user)
    developer_user = services.invitation_accept(invitation=with_capture, signer=developer_signer())
    app.refresh_from_db()
    for dt, who in ((catalogue["company_doc"], user), (catalogue["developer_doc"], developer_user)):
        f = ContentFile(PDF_BYTES, name="doc.pdf")
        services.file_upload(application=app, document_type=dt, uploaded_file=f, actor=who, provider=dt.provider)
    for ct, who in ((catalogue["company_consent"], user), (catalogue["developer_consent"], developer_user)):
        consent = services.consent_form(application=app, consent_type=ct, actor=who)
        services.consent_mark_signed(consent=consent, signer_name=who.full_name, actor=who)
    return app, developer_user


def test_invitation_email_link_is_single_use_and_hashed(company, company_user, registry, client,
                                                        django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company)
    with django_capture_on_commit_callbacks(execute=True):
        inv = invite(app, company_user)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dev@demo.kz"]
    url = re.search(r"http\S+/applications/invite/(\S+)/", mail.outbox[0].body)
    token = url.group(1)
    assert len(token) == 10
    assert token not in str(list(DeveloperInvitation.objects.values()))  # only the hash is kept
    assert inv.expires_at - inv.created_at == datetime.timedelta(days=7)
    page = client.get(reverse("applications:invitation", args=[token]))
    assert page.status_code == 200 and "ООО Застройщик" in page.content.decode()
    assert client.get(reverse("applications:invitation", args=["guessed1234"])).status_code == 404
    services.invitation_accept(invitation=inv, signer=developer_signer())
    assert client.get(reverse("applications:invitation", args=[token])).status_code == 404  # used
    with pytest.raises(services.ApplicationError):
        services.invitation_accept(invitation=inv, signer=developer_signer())


def test_expired_invitation_is_404(company, company_user, client):
    app = ApplicationFactory(organization=company)
    services.application_save_tab(application=app, tab="developer", values=valid_tab_data()["developer"], actor=company_user)
    inv, token = services.invitation_create(application=app, actor=company_user, now=timezone.now() - datetime.timedelta(days=8))
    assert client.get(reverse("applications:invitation", args=[token])).status_code == 404


def test_invitation_accept_checks_the_bin_and_creates_the_developer_cabinet(company, company_user, registry):
    app = ApplicationFactory(organization=company)
    later = ApplicationFactory(organization=company, developer_bin=DEVELOPER_BIN)
    inv = invite(app, company_user)
    with pytest.raises(services.ApplicationError) as exc:
        services.invitation_accept(invitation=inv, signer=developer_signer(bin_="160340003066"))
    assert exc.value.code == "bin_mismatch"
    user = services.invitation_accept(invitation=inv, signer=developer_signer())
    developer = Organization.objects.get(bin=DEVELOPER_BIN)
    assert developer.kind == Organization.Kind.DEVELOPER and developer.name_ru == "ООО Застройщик"
    assert user.organization == developer and user.iin == "850101300015" and not user.has_usable_password()
    app.refresh_from_db()
    later.refresh_from_db()
    assert app.developer == developer
    # #10 item 6: only the invited application; another naming the BIN waits for its own invitation
    assert later.developer is None
    third = ApplicationFactory(organization=company)
    services.application_save_tab(application=third, tab="developer", values=valid_tab_data()["developer"], actor=company_user)
    third.refresh_from_db()
    assert third.developer is None


def test_replacing_the_developer_detaches_the_old_one(client, company, company_user, registry, catalogue):
    """#10 item 6: the УК types another BIN on «Информация о застройщике»."""
    app, old_user = complete_application(company, company_user, catalogue)
    client.force_login(old_user)
    stage = reverse("applications:stage", args=[app.public_id, 1])
    history = reverse("applications:history", args=[app.public_id])
    assert client.get(stage).status_code == 200 and client.get(history).status_code == 200
    other = Organization.objects.create(bin="050540004455", name_ru="ТОО «Другой»", kind=Organization.Kind.DEVELOPER)
    UserFactory(organization=other)  # already has a cabinet: still not attached by the BIN alone
    values = {**valid_tab_data()["developer"], "developer-bin": other.bin}
    services.application_save_tab(application=app, tab="developer", values=values, actor=company_user)
    app.refresh_from_db()
    assert app.developer is None and app.developer_bin == other.bin
    assert client.get(stage).status_code == 404 and client.get(history).status_code == 404
    entry = app.history.filter(event="developer_detached").get()
    assert entry.comment == old_user.organization.name_ru and entry.actor == company_user
    # the same BIN again changes nothing; the new developer joins through its invitation
    services.application_save_tab(application=app, tab="developer", values=values, actor=company_user)
    assert app.history.filter(event="developer_detached").count() == 1


def test_the_company_withdraws_an_invitation(client, company, company_user, registry):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    services.application_save_tab(application=app, tab="developer", values=valid_tab_data()["developer"], actor=company_user)
    client.force_login(company_user)
    stage = reverse("applications:stage", args=[app.public_id, 1])
    page = client.post(stage, {**valid_tab_data()["developer"], "tab": "developer", "action": "generate_link"})
    link = re.search(r"data-generated-link>([^<]+)<", page.content.decode()).group(1)
    path = link.split("://", 1)[-1].split("/", 1)[1]
    assert client.get("/" + path).status_code == 200
    assert "withdraw_invitation" in client.get(stage + "?tab=developer").content.decode()
    client.post(stage, {**valid_tab_data()["developer"], "tab": "developer", "action": "withdraw_invitation"})
    assert client.get("/" + path).status_code == 404
    assert not DeveloperInvitation.objects.filter(application=app, expires_at__gt=timezone.now()).exists()


def test_developer_sees_the_application_and_edits_only_its_parts(client, company, company_user, registry, catalogue):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    inv = invite(app, company_user)
    dev_user = services.invitation_accept(invitation=inv, signer=developer_signer())
    client.force_login(dev_user)
    listing = client.get(reverse("applications:list")).content.decode()
    assert str(app.public_id) in listing and "Создать заявку" not in listing
    before = dict(app.data)
    client.post(reverse("applications:stage", args=[app.public_id, 1]), {"tab": "company", "action": "save",
                                                                         "company-bin": "000000000000"})
    app.refresh_from_db()
    assert app.data["company"] == before["company"]
    up = reverse("applications:upload", args=[app.public_id, catalogue["developer_doc"].pk])
    client.post(up, {"files": ContentFile(PDF_BYTES, name="dev.pdf")})
    client.post(reverse("applications:upload", args=[app.public_id, catalogue["company_doc"].pk]),
                {"files": ContentFile(PDF_BYTES, name="co.pdf")})
    assert list(ApplicationFile.objects.values_list("original_name", flat=True)) == ["dev.pdf"]
    assert client.post(reverse("applications:send_to_moderation", args=[app.public_id])).status_code == 404


def test_send_buttons_only_when_both_parties_are_complete(company, company_user, registry, catalogue):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    readiness = selectors.application_readiness(app)
    assert not readiness.complete
    with pytest.raises(services.ApplicationError):
        services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    app, _dev = complete_application(company, company_user, catalogue)
    readiness = selectors.application_readiness(app)
    assert readiness.complete, readiness.missing
    assert readiness.parts[Provider.DEVELOPER] == {2: True, 3: True, 4: True}


def test_moderation_outside_working_time_waits_for_the_next_opening(company, company_user, registry, catalogue):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_send_to_moderation(application=app, actor=company_user, now=SATURDAY)
    app.refresh_from_db()
    assert app.status == Status.ON_MODERATION
    assert app.moderation_opens_at == datetime.datetime(2026, 11, 23, 9, 30, tzinfo=ASTANA)
    # Queued: a moderator cannot decide before the opening, and can from then on.
    moderator = User.objects.create_user("moderator-q", "pw", is_staff=True)
    items = [{"name": "Устав", "ok": True, "remark": ""}]
    with pytest.raises(services.ApplicationError) as refused:
        services.moderation_decide(application=app, moderator=moderator, items=items,
                                   now=datetime.datetime(2026, 11, 23, 9, 29, tzinfo=ASTANA))
    assert refused.value.code == "queued" and "23.11.2026 09:30" in str(refused.value.message)
    services.moderation_decide(application=app, moderator=moderator, items=items,
                               now=datetime.datetime(2026, 11, 23, 9, 30, tzinfo=ASTANA))
    app.refresh_from_db()
    assert app.status == Status.TO_SIGN


def test_full_moderation_cycle_to_sent(company, company_user, registry, catalogue, django_capture_on_commit_callbacks):
    from bpms_bridge.models import OutboxMessage

    app, dev_user = complete_application(company, company_user, catalogue)
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    app.refresh_from_db()
    assert app.moderation_opens_at == WORKING
    moderator = User.objects.create_user("moderator-x", "pw", is_staff=True)
    items = [{"name": "Устав", "ok": False, "remark": "Нет последней страницы"}, {"name": "ПСД", "ok": True, "remark": ""}]
    review = services.moderation_decide(application=app, moderator=moderator, items=items)
    app.refresh_from_db()
    assert app.status == Status.REVISION and review.decision == ModerationReview.Decision.REMARKS
    assert review.conclusion_pdf.read().startswith(b"%PDF")
    entry = app.history.filter(status=Status.REVISION).get()
    assert entry.document and "Нет последней страницы" in entry.comment
    assert not ConsentDocument.objects.get(application=app, consent_type=catalogue["developer_consent"]).signed_at
    assert Notification.objects.filter(organization=company, title_ru__startswith="Заявка проверена").exists()
    # The developer re-signs, the УК re-sends.
    consent = ConsentDocument.objects.get(application=app, consent_type=catalogue["developer_consent"])
    services.consent_mark_signed(consent=consent, signer_name="Петров", actor=dev_user)
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    services.moderation_decide(application=app, moderator=moderator, items=[{"name": "Устав", "ok": True, "remark": ""}])
    app.refresh_from_db()
    assert app.status == Status.TO_SIGN
    with django_capture_on_commit_callbacks(execute=False):
        services.application_signed(application=app, actor=company_user, signer_name="Иванов")
    app.refresh_from_db()
    assert app.status == Status.SENT and app.sent_at
    message = OutboxMessage.objects.get(case_kind="application", case_id=str(app.public_id))
    assert message.kind == "submit" and message.payload["organization_bin"] == company.bin
    assert [h.status for h in app.history.filter(event="status").order_by("id")] == [
        Status.ON_MODERATION, Status.REVISION, Status.ON_MODERATION, Status.TO_SIGN, Status.SENT]


def test_signing_without_moderation_sends_at_once(company, company_user, registry, catalogue):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    app.refresh_from_db()
    assert app.status == Status.SENT


def test_transition_table_refuses_jumps(company):
    app = ApplicationFactory(organization=company)
    with pytest.raises(services.ApplicationError):
        services.application_transition(app, to=Status.APPROVED, actor="bpms")
    app.refresh_from_db()
    assert app.status == Status.DRAFT


def sign_with_demo_key(client, response_or_sr, slug):
    """Complete a signing request with a demo key as the page does: the CMS made on the "client",
    posted to signing's ЭЦП endpoint (JSON answer)."""
    from signing.models import SigningRequest
    from signing.tests.helpers import post_signature

    sr = response_or_sr if isinstance(response_or_sr, SigningRequest) else SigningRequest.objects.latest("id")
    return post_signature(client, sr, slug)


def test_bpms_events_register_decide_and_bring_documents(client, company, company_user, registry, catalogue):
    app, dev_user = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    case = str(app.public_id)
    services.application_apply_bpms_event(case_id=case, event={
        "seq": 10, "status": Status.REGISTERED, "occurred_at": "2026-11-18T12:00:00+05:00",
        "payload": {"registration_number": "ГАР-2026/0001", "review_deadline": "2026-11-30T19:00:00+05:00"}})
    services.application_apply_bpms_event(case_id=case, event={"seq": 10, "status": Status.REJECTED,
                                                               "occurred_at": "2026-11-18T12:00:00+05:00"})  # duplicate
    app.refresh_from_db()
    assert app.status == Status.REGISTERED and app.registration_number == "ГАР-2026/0001"
    assert app.due_date == datetime.date(2026, 11, 30)
    listing = client
    listing.force_login(company_user)
    assert "ГАР-2026/0001" in listing.get(reverse("applications:list")).content.decode()
    pdf = base64.b64encode(PDF_BYTES).decode()
    services.application_apply_bpms_event(case_id=case, event={
        "seq": 11, "status": Status.APPROVED, "occurred_at": "2026-11-20T12:00:00+05:00", "payload": {},
        "documents": [{"name": "pledge.pdf", "content_type": "application/pdf", "data_b64": pdf, "title": "Договор залога"},
                      {"name": "avr.pdf", "content_type": "application/pdf", "data_b64": pdf, "kind": "avr", "title": "АВР"}]})
    app.refresh_from_db()
    assert app.status == Status.APPROVED
    pledge = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.PLEDGE)
    assert pledge.signed_document.parties.count() == 2
    avr = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.AVR)
    with pytest.raises(services.ApplicationError):
        services.avr_return(document=avr, comment="  ", actor=company_user)
    services.avr_return(document=avr, comment="Неверная сумма", actor=company_user)
    avr.refresh_from_db()
    assert avr.state == DecisionDocument.State.RETURNED


def test_pledge_signed_by_both_parties_then_downloadable(client, company, company_user, registry, catalogue):
    app, dev_user = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    doc = services.decision_document_add(application=app, kind=DecisionDocument.Kind.PLEDGE, title="Договор залога",
                                         data=PDF_BYTES, filename="pledge.pdf")
    client.force_login(company_user)
    url = reverse("applications:decision_download", args=[app.public_id, doc.pk])
    assert client.get(url).status_code == 404  # not before everyone signed
    assert client.get(url + "?review=1").status_code == 200
    page = client.get(reverse("applications:stage", args=[app.public_id, 4])).content.decode()
    assert "Сведения о подписи" in page and "Не подписан" in page
    modal = client.post(reverse("applications:decision_sign", args=[app.public_id, doc.pk]))
    assert modal.status_code == 200
    assert sign_with_demo_key(client, None, "company_head_sign").json()["ok"]
    doc.refresh_from_db()
    assert doc.state == DecisionDocument.State.TO_SIGN
    client.force_login(dev_user)
    client.post(reverse("applications:decision_sign", args=[app.public_id, doc.pk]))
    assert sign_with_demo_key(client, None, "developer_head_sign").json()["ok"]
    doc.refresh_from_db()
    assert doc.state == DecisionDocument.State.SIGNED
    response = client.get(url)
    assert response.status_code == 302 and "/signing/documents/" in response["Location"]
    client.force_login(UserFactory())
    assert client.get(url + "?review=1").status_code == 404


def test_consent_form_view_and_sign_with_eds(client, company, company_user, registry, catalogue):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    ct = catalogue["company_consent"]
    client.force_login(company_user)
    before = client.get(reverse("applications:stage", args=[app.public_id, 4])).content.decode()
    assert "Сформировать согласие" in before and "Не подписан" in before
    client.post(reverse("applications:consent_form", args=[app.public_id, ct.pk]))
    consent = ConsentDocument.objects.get(application=app, consent_type=ct)
    view = client.get(reverse("applications:consent_view", args=[app.public_id, ct.pk]))
    assert b"".join(view.streaming_content).startswith(b"%PDF")
    page = client.get(reverse("applications:stage", args=[app.public_id, 4])).content.decode()
    assert "Смотреть документ" in page and "Подписать ЭЦП/QR" in page
    modal = client.post(reverse("applications:consent_sign", args=[app.public_id, ct.pk]), HTTP_HX_REQUEST="true")
    assert "через ЭЦП" in modal.content.decode()
    sign_with_demo_key(client, None, "company_head_sign")
    consent.refresh_from_db()
    assert consent.signed_at and "ДЕМОВ" in consent.signer_name.upper()


def test_developer_confirms_the_invitation_with_eds_and_gets_a_cabinet(client, company, company_user, registry,
                                                                      django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    with django_capture_on_commit_callbacks(execute=True):
        invite(app, company_user)
    token = re.search(r"/applications/invite/(\S+)/", mail.outbox[-1].body).group(1)
    response = client.post(reverse("applications:invitation", args=[token]))
    assert response.status_code == 200
    # The company's key does not match the invited BIN: refused, nothing created.
    refused = sign_with_demo_key(client, None, "company_head_sign")
    assert refused.status_code == 400
    assert not Organization.objects.filter(bin=DEVELOPER_BIN).exists()
    done = sign_with_demo_key(client, None, "developer_head_sign")
    assert done.status_code == 200 and done.json()["redirect"] == reverse("applications:invitation_done", args=[token])
    page = client.get(done.json()["redirect"], follow=True)
    developer = Organization.objects.get(bin=DEVELOPER_BIN)
    assert developer.kind == Organization.Kind.DEVELOPER
    assert page.context["user"].organization == developer
    assert str(app.public_id) in page.content.decode()


def test_admin_moderation_checklist(admin_client, company, company_user, registry, catalogue, settings):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    url = reverse("admin:applications_application_moderate", args=[app.pk])
    page = admin_client.get(url).content.decode()
    assert catalogue["company_doc"].name_ru in page and "doc.pdf" in page
    key = f"doc-{catalogue['company_doc'].pk}"
    response = admin_client.post(url, {"decision": "ok"})
    assert response.status_code == 200  # not every item ticked
    app.refresh_from_db()
    assert app.status == Status.ON_MODERATION
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the conclusion is made by the worker's task (here at once)
    response = admin_client.post(url, {"decision": "remarks", f"remark-{key}": "Нечитаемый скан"})
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.status == Status.REVISION
    changelist = admin_client.get(reverse("admin:applications_application_changelist") + "?status=revision")
    assert app.project_name in changelist.content.decode()
    f = app.files.first()
    assert admin_client.get(reverse("admin:applications_application_file", args=[app.pk, f.pk])).status_code == 200


def test_company_sends_the_developer_a_signing_link(client, company, company_user, registry, catalogue,
                                                    django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company, data=valid_tab_data())
    inv = invite(app, company_user)
    dev_user = services.invitation_accept(invitation=inv, signer=developer_signer())
    ct = catalogue["developer_consent"]
    client.force_login(company_user)
    client.post(reverse("applications:consent_form", args=[app.public_id, ct.pk]))  # the УК may form it
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("applications:consent_request_signature", args=[app.public_id, ct.pk]))
    assert mail.outbox and mail.outbox[0].to == [dev_user.email]
    link = re.search(r"/signing/r/[0-9a-f-]+/", mail.outbox[0].body).group(0)
    assert client.get(link).status_code == 404  # the УК's user cannot sign the developer's consent
    client.force_login(dev_user)
    assert sign_with_demo_key(client, None, "developer_head_sign").json()["ok"]
    assert ConsentDocument.objects.get(application=app, consent_type=ct).signed_at


def test_avr_sent_for_revision_from_the_cabinet(client, company, company_user, registry, catalogue):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    avr = services.decision_document_add(application=app, kind=DecisionDocument.Kind.AVR, title="АВР №1",
                                         data=PDF_BYTES, filename="avr.pdf")
    client.force_login(company_user)
    url = reverse("applications:avr_return", args=[app.public_id, avr.pk])
    page = client.post(url, {"comment": ""})
    assert page.status_code == 200 and "field-error" in page.content.decode()
    assert client.post(url, {"comment": "Неверная сумма в п. 3"}).status_code == 302
    avr.refresh_from_db()
    assert avr.state == DecisionDocument.State.RETURNED and avr.comment == "Неверная сумма в п. 3"


def test_bpms_rejection_revision_and_generated_documents(company, company_user, registry, catalogue):
    from bpms_bridge.models import OutboxMessage

    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    case = str(app.public_id)
    pdf = base64.b64encode(PDF_BYTES).decode()
    services.application_apply_bpms_event(case_id=case, event={
        "seq": 1, "status": Status.REGISTERED, "occurred_at": "2026-11-18T12:00:00+05:00",
        "payload": {"registration_number": "01-00001/26", "deadline": "2026-11-30T19:00:00+05:00"}})
    services.application_apply_bpms_event(case_id=case, event={"seq": 2, "status": Status.IN_REVIEW,
                                                               "occurred_at": "2026-11-19T10:00:00+05:00"})
    services.application_apply_bpms_event(case_id=case, event={
        "seq": 3, "status": Status.REVISION, "occurred_at": "2026-11-19T11:00:00+05:00",
        "payload": {"notes": "Уточните реквизиты", "deadline": "2026-11-26T19:00:00+05:00"},
        "documents": [{"name": "zamechaniya.pdf", "content_type": "application/pdf", "data_b64": pdf}]})
    app.refresh_from_db()
    assert app.status == Status.REVISION and app.due_date == datetime.date(2026, 11, 30)
    entry = app.history.get(status=Status.REVISION)
    assert entry.document and "Уточните реквизиты" in entry.comment
    assert not DecisionDocument.objects.filter(application=app).exists()
    services.application_signed(application=app, actor=company_user)  # fixed and signed again
    assert OutboxMessage.objects.filter(case_id=case).order_by("id").last().kind == "resubmit"
    services.application_apply_bpms_event(case_id=case, event={"seq": 4, "status": Status.REJECTED,
                                                               "occurred_at": "2026-11-20T10:00:00+05:00",
                                                               "payload": {"reason": "Неполный пакет"}})
    assert not DecisionDocument.objects.filter(application=app).exists()  # the status at once...
    assert services.application_documents_issue_pending(settle_seconds=0) == 1  # ...the notice from the worker
    notice = DecisionDocument.objects.get(application=app, kind=DecisionDocument.Kind.REJECTION)
    assert notice.state == DecisionDocument.State.INFO and notice.file.read().startswith(b"%PDF")


def test_bpms_approval_without_documents_prepares_the_pledge_agreement(company, company_user, registry, catalogue):
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    case = str(app.public_id)
    for seq, status in ((1, Status.REGISTERED), (2, Status.IN_REVIEW), (3, Status.APPROVED)):
        payload = {"registration_number": "01-00002/26"} if status == Status.REGISTERED else {}
        services.application_apply_bpms_event(case_id=case, event={
            "seq": seq, "status": status, "occurred_at": f"2026-11-2{seq}T10:00:00+05:00", "payload": payload})
    app.refresh_from_db()
    assert app.status == Status.APPROVED and not DecisionDocument.objects.filter(application=app).exists()
    # The worker's task (here called directly) renders it once; a second run changes nothing.
    services.application_status_document_issue(application_id=app.pk, status=Status.APPROVED)
    assert services.application_status_document_issue(application_id=app.pk, status=Status.APPROVED) is None
    pledge = DecisionDocument.objects.get(application=app)
    assert pledge.kind == DecisionDocument.Kind.PLEDGE and pledge.state == DecisionDocument.State.TO_SIGN
    assert pledge.signed_document.parties.count() == 2


def test_the_bridge_applies_events_to_applications(company, company_user, registry, catalogue):
    from bpms_bridge.services import event_apply

    app, _dev = complete_application(company, company_user, catalogue)
    services.application_signed(application=app, actor=company_user)
    outcome = event_apply(raw={"seq": 1_763_790_000_000, "case_seq": 1, "case_kind": "application", "external_id": str(app.public_id),
                               "status": "registered", "occurred_at": "2026-11-18T12:00:00+05:00",
                               "payload": {"registration_number": "01-00501/26",
                                           "registered_at": "2026-11-18T12:00:00+05:00"}})
    assert outcome == "applied"
    app.refresh_from_db()
    assert app.status == Status.REGISTERED and app.registration_number == "01-00501/26"


def test_a_decision_with_remarks_is_made_on_the_worker_not_in_the_request(company, company_user, registry, catalogue,
                                                                          monkeypatch):
    """#18: KZhK's signed conclusion is never made in the moderator's request: the request checks
    and queues; the task decides (once, even when it runs twice). No remarks: at once."""
    from applications import tasks

    queued = []
    monkeypatch.setattr(services, "enqueue", lambda task, args=(), **kw: queued.append((task, args)) or True)
    issued = []
    real_issue = services._pdf_issue_by_kzhk
    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda **kw: issued.append(1) or real_issue(**kw))
    app, _dev = complete_application(company, company_user, catalogue)
    services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    moderator = User.objects.create_user("moderator-w", "pw", is_staff=True)
    items = [{"name": "Устав", "ok": False, "remark": "Нет последней страницы"}]
    app.refresh_from_db()
    assert services.moderation_decide_request(application=app, moderator=moderator, items=items) == "queued"
    app.refresh_from_db()
    assert app.status == Status.ON_MODERATION and not issued and not ModerationReview.objects.exists()
    [(task, args)] = queued
    assert task is tasks.moderation_decide_task
    task.run(*args)  # the worker
    task.run(*args)  # redelivered: nothing more
    app.refresh_from_db()
    assert app.status == Status.REVISION and len(issued) == 1 and ModerationReview.objects.count() == 1
    # Not on moderation any more: refused in the request, nothing queued.
    with pytest.raises(services.ApplicationError):
        services.moderation_decide_request(application=app, moderator=moderator, items=items)
    assert len(queued) == 1
