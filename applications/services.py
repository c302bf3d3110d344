"""Writes of the applications domain. The only code that changes an application's status is
`application_transition`; everything else saves data, files and documents and calls it.

Calls to the apps built alongside (signing, bpms_bridge) sit behind the small `_`-prefixed
functions at the top, so wiring them is one edit each.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from audit import chain
from cabinets.models import Contract, Organization, User
from cabinets.selectors import legal_entity_lookup
from cabinets.services import mail_each_in_own_language, notifications_in_bulk, notify_both_languages
from homeportal import workflow
from homeportal.celery import enqueue, enqueue_on_commit
from homeportal.forms import strip_nul
from homeportal.history import KZHK_ACTOR, KZHK_BPMS_ACTOR
from homeportal.i18n import in_both_languages, language_of
from homeportal.links import reverse_for_uuid
from homeportal.uploads import ALLOWED_TYPES_HELP, sniff_kind
from homeportal.workflow import Document, StoredDocument

from . import transitions
from .models import (
    EDITABLE_STATUSES,
    Application,
    ApplicationFile,
    ApplicationHistory,
    ConsentDocument,
    ConsentType,
    DecisionDocument,
    DeveloperInvitation,
    DocumentType,
    ModerationReview,
    Provider,
    ServiceCode,
    Status,
)
from .selectors import application_payload, token_hash
from .transitions import Actor

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 600 * 1024 * 1024
INVITATION_TTL = datetime.timedelta(days=7)


class ApplicationError(Exception):
    """A rule of the domain refused the action; `message` is localized, `field` says where."""

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


# --- the other apps, behind one function each ------------------------------------------------


def _pdf_render(*, template_name: str, context: dict) -> bytes:
    from signing.services import pdf_render

    return pdf_render(template_name=template_name, context=context)


def _pdf_issue_by_kzhk(*, pdf: bytes, title: str) -> bytes:
    from signing.services import pdf_issue_by_kzhk

    return pdf_issue_by_kzhk(pdf=pdf, title=title)


def _outbox_enqueue(*, application: Application, kind: str, payload: dict, idempotency_key: str) -> None:
    try:
        from bpms_bridge.services import outbox_enqueue
    except ImportError:
        logger.info("bpms outbox not available yet: %s %s", kind, application.public_id)
        return
    outbox_enqueue(
        case_kind=application.definition.bpms_case_kind, case_id=str(application.public_id), kind=kind, payload=payload,
        idempotency_key=idempotency_key,
    )


def _moderation_opening(now: datetime.datetime) -> datetime.datetime:
    """When a moderation request sent at `now` is accepted: now in working time, else the next opening."""
    from bpms_bridge.workcalendar import registration_moment

    return registration_moment(now)


# --- history and the one transition function ---------------------------------------------------


def _actor_label(user) -> str:
    if user is None:
        return KZHK_ACTOR
    org = getattr(user, "organization", None)
    name = user.full_name if hasattr(user, "full_name") else str(user)
    return f"{name} ({org.name_ru})" if org else name


def party_actor(*, application: Application, user) -> str:
    """The workflow actor a cabinet user is for this application: the УК or the developer."""
    organization_id = getattr(user, "organization_id", None)
    if organization_id and organization_id == application.organization_id:
        return Actor.COMPANY
    if organization_id and organization_id == application.developer_id:
        return Actor.DEVELOPER
    raise ApplicationError(_("Only the parties of the application can do this."), code="not_a_party")


def history_add(
    *, application: Application, event: str, user=None, now=None, comment: str = "", status: str = "",
    actor_name: str | None = None, payload: dict | None = None, document: StoredDocument | None = None,
    decision_document: DecisionDocument | None = None, signature=None, save: bool = True,
) -> ApplicationHistory:
    """One stage of «История заявки» (append-only). `document` is already in storage. With
    `save=False` the row is returned unsaved (the workflow writes a batch's rows at once)."""
    entry = ApplicationHistory(
        application=application, event=event, actor=user if getattr(user, "pk", None) else None,
        actor_name=actor_name if actor_name is not None else _actor_label(user), created_at=now or timezone.now(),
        comment=comment, status=status, payload=workflow.json_safe(payload or {}), decision_document=decision_document,
        signature=signature,
    )
    if document is not None:
        entry.attach(name=document.name, path=document.path, sha256=document.sha256)
    if save:
        entry.save()
    return entry


def _history_document_field(application: Application):
    return ApplicationHistory(application=application).document


def _enter_on_moderation(step: workflow.Step) -> None:
    step.set(moderation_opens_at=step.payload.get("opens_at") or step.now)


def _enter_sent(step: workflow.Step) -> None:
    application = step.obj
    kind = "resubmit" if application.sent_at is not None else "submit"  # after BPMS returned it for revision
    step.set(sent_at=step.now)
    _outbox_enqueue(application=application, kind=kind, payload=application_payload(application),
                    idempotency_key=f"application-{application.public_id}-{kind}-{step.now.isoformat()}")


def _enter_registered(step: workflow.Step) -> None:
    payload = step.payload
    step.set(registration_number=str(payload["registration_number"])[:100],
             registered_at=_as_datetime(payload.get("registered_at")) or step.now)
    _enter_in_review(step)


def _enter_in_review(step: workflow.Step) -> None:
    if step.payload.get("due_date"):
        step.set(due_date=_as_date(step.payload["due_date"]))


def _enter_rejected(step: workflow.Step) -> None:
    """The official rejection notice, PAdES-issued by KZhK: BPMS's (issued in the prepare step)
    added at once, else the portal's own made on the worker once the status commits."""
    notice = step.payload.get("notice")
    if notice is None:
        _status_document_schedule(step)
        return
    _decision_document_add(application=step.obj, kind=DecisionDocument.Kind.REJECTION, title="",
                           document=notice, now=step.now)


def _enter_with_own_document(step: workflow.Step) -> None:
    """The status's own document to sign — once, on entering it: approval opens the pledge
    agreement (guarantee); «Подписание договора субсидирования» the subsidy agreement. One BPMS
    sent is added at once; the portal's own is rendered on the worker once the status commits."""
    key, kind, _render = OWN_DOCUMENTS[step.target]
    document = step.payload.get(key)
    if document is None:
        _status_document_schedule(step)
        return
    _decision_document_add(application=step.obj, kind=kind, title="", document=document, now=step.now)


def _status_document_schedule(step: workflow.Step) -> None:
    from .tasks import status_document_issue

    enqueue_on_commit(status_document_issue, (step.obj.pk, step.target))


def _enter_agreement_signed(step: workflow.Step) -> None:
    """Every party signed the subsidy agreement: it becomes the organization's subsidy contract
    (listed in «Корректировка» → «Субсидирование»)."""
    application = step.obj
    loan = application.data.get("loan") or {}
    number = application.registration_number or f"СУБ-{application.public_id.hex[:8].upper()}"
    contract = _contract_add(
        organization=application.organization, kind=Contract.Kind.SUBSIDY, number=f"ДС-{number}"[:100],
        signed_on=timezone.localdate(step.now), project_name=application.project_name or loan.get("loan-financed_project", ""),
        developer=application.developer, amount=_loan_amount(application),
    )
    step.set(issued_contract=contract)
    step.note(contract=str(contract))


def _loan_amount(application: Application):
    from .definitions import loan_terms

    loan = loan_terms(application.data)
    return loan["amount"] if loan else None


def _every_move(step: workflow.Step) -> None:
    if step.payload.get("seq"):
        step.set(bpms_seq=int(step.payload["seq"]))


def _record(step: workflow.Step) -> ApplicationHistory:
    return history_add(application=step.obj, event=ApplicationHistory.Event.STATUS, user=step.user, now=step.now,
                       comment=step.comment, status=step.target, actor_name=step.actor_name,
                       payload={"from_status": step.source, **step.history_payload}, document=step.document,
                       save=False)


def _notify_parties(step: workflow.Step) -> None:
    application, target = step.obj, step.target
    link = reverse_for_uuid("applications:stage", application.public_id, 1)
    name = application.project_name or str(application.public_id)
    for organization in filter(None, (application.organization, application.developer)):
        notify_both_languages(organization=organization, link=link,
                              title=lambda: f"{Status(target).label}: {name}")


def _workflow_actor_label(actor: str, user, obj) -> str:
    """Who a history row names: the user with its organization, else KZhK or the party."""
    if user is not None:
        return _actor_label(user)
    application = getattr(obj, "application", obj)
    party = {Actor.COMPANY: application.organization, Actor.DEVELOPER: application.developer}.get(actor)
    if party is not None:
        return party.name_ru
    return {Actor.BPMS: KZHK_BPMS}.get(actor, KZHK_ACTOR)


def _refused_message(source: str, target: str) -> str:
    return _("The application cannot move from «%(from)s» to «%(to)s».") % {"from": source, "to": target}


def _missing_message(fields: list[str]) -> str:
    return _("Data missing for the new status: %(fields)s") % {"fields": ", ".join(fields)}


ON_ENTER = {Status.ON_MODERATION: _enter_on_moderation, Status.SENT: _enter_sent, Status.REGISTERED: _enter_registered,
            Status.IN_REVIEW: _enter_in_review, Status.REJECTED: _enter_rejected}


def _service_workflow(service) -> workflow.Workflow:
    """One `homeportal.workflow.Workflow` per service, over its own transition table; the hooks
    are shared (a hook for a status the table never reaches is left out)."""
    own = {Status.APPROVED: _enter_with_own_document, Status.AGREEMENT_SIGNING: _enter_with_own_document,
           Status.AGREEMENT_SIGNED: _enter_agreement_signed}
    reached = {t.target for t in service.transitions}
    hooks = {status: hook for status, hook in {**ON_ENTER, **own}.items() if status in reached}
    return workflow.Workflow(
        name=f"application:{service.code}", model=Application, transitions=service.transitions, labels=Status,
        error=ApplicationError, refused_message=_refused_message, missing_message=_missing_message,
        select_related=("organization", "developer"), actor_label=_workflow_actor_label, on_every=_every_move,
        history=_record, history_document_field=_history_document_field, after=_notify_parties, on_enter=hooks,
    )


def _workflows() -> dict[str, workflow.Workflow]:
    from .definitions import SERVICES

    return {code: _service_workflow(service) for code, service in SERVICES.items()}


WORKFLOWS = _workflows()
WORKFLOW = WORKFLOWS["guarantee"]


def workflow_of(application: Application) -> workflow.Workflow:
    return WORKFLOWS[application.service]


def application_transition(
    application: Application, *, to: str, actor: str, user=None, payload: dict | None = None, now=None,
    comment: str = "", actor_name: str = "",
) -> Application:
    """Moves the application to `to` if the table lets `actor` do it; history, notifications and
    the outbox follow (see `homeportal.workflow`)."""
    locked = workflow_of(application).transition(application, to=to, actor=actor, user=user, payload=payload, now=now,
                                 comment=comment, actor_name=actor_name)
    application.refresh_from_db()
    return locked


def _as_datetime(value) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime.datetime) else datetime.datetime.fromisoformat(str(value))
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _as_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)[:10])


# --- creating, saving, deleting ---------------------------------------------------------------


def contract_register_outside_portal(
    *, organization: Organization, number: str, signed_on: datetime.date, project_name: str,
    kind: str = Contract.Kind.GUARANTEE,
) -> Contract:
    """A contract concluded outside the portal: added to the organization's list as active."""
    return _contract_add(organization=organization, kind=kind, number=number, signed_on=signed_on,
                         project_name=project_name, concluded_outside_portal=True)


def _contract_add(*, organization: Organization, kind: str, number: str, signed_on: datetime.date,
                  project_name: str, developer: Organization | None = None, amount=None,
                  concluded_outside_portal: bool = False) -> Contract:
    """A contract of the organization (cabinets owns the model and has no service for this; the
    one write is here): one concluded outside the portal, or a subsidy agreement signed here."""
    contract, _created = Contract.objects.get_or_create(
        organization=organization, kind=kind, number=number.strip(),
        defaults={"signed_on": signed_on, "project_name": project_name[:1000], "developer": developer,
                  "amount": amount, "concluded_outside_portal": concluded_outside_portal},
    )
    return contract


def _company_prefill(organization: Organization) -> dict:
    record = legal_entity_lookup(bin=organization.bin)
    values = {
        "company-name_ru": organization.name_ru,
        "company-name_kk": organization.name_kk,
        "company-bin": organization.bin,
    }
    if record and record.legal_address:
        values["company-legal_address"] = record.legal_address
    user = organization.users.filter(is_active=True).exclude(email="").first()
    if user:
        values["company-email"] = user.email
        values["company-phone"] = user.mobile
    return values


def application_create(
    *, organization: Organization, actor: User | None, contract: Contract | None = None, now=None,
    service: str = ServiceCode.GUARANTEE,
) -> Application:
    now = now or timezone.now()
    data = {"company": _company_prefill(organization)}
    project_name = ""
    developer_bin = ""
    if contract is not None:
        project_name = contract.project_name
        data["project"] = {"project-project_name": contract.project_name}
        if contract.developer_id:
            developer_bin = contract.developer.bin
            data["developer"] = {"developer-bin": contract.developer.bin, "developer-name": contract.developer.name_ru}
    if service == ServiceCode.SUBSIDY:
        data["loan"] = _financed_project_prefill(organization, project_name)
    with transaction.atomic():
        application = Application.objects.create(
            organization=organization, contract=contract, created_by=actor, data=data, project_name=project_name,
            developer_bin=developer_bin, created_at=now, updated_at=now, service=service,
        )
        history_add(application=application, event=ApplicationHistory.Event.CREATED, user=actor, now=now,
                    status=Status.DRAFT)
    return application


def _financed_project_prefill(organization: Organization, project_name: str) -> dict:
    """A subsidy application's «Проект, финансируемый кредитом»: the project and, when the
    organization has a guarantee contract for it, that contract."""
    values = {"loan-financed_project": project_name} if project_name else {}
    guarantee = Contract.objects.filter(organization=organization, kind=Contract.Kind.GUARANTEE, is_active=True,
                                        project_name=project_name).first() if project_name else None
    if guarantee is not None:
        values["loan-guarantee_contract"] = str(guarantee)
    return values


def _require_editable(application: Application) -> None:
    if application.status not in EDITABLE_STATUSES:
        raise ApplicationError(_("The application has been sent and can no longer be changed."), code="not_editable")


def application_save_tab(
    *, application: Application, tab: str, values: dict, actor: User | None, now=None
) -> Application:
    """Keep what was typed in a tab exactly as typed (valid or not), minus NUL bytes (PostgreSQL's
    JSON refuses them; the tab's form shows the field's error)."""
    now = now or timezone.now()
    values = strip_nul(values)
    _require_editable(application)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        locked.data = {**locked.data, tab: values}
        locked.updated_at = now
        fields = ["data", "updated_at"]
        if tab == "project":
            locked.project_name = (values.get("project-project_name") or "").strip()[:1000]
            fields.append("project_name")
            loan = locked.data.get("loan")
            if locked.service == ServiceCode.SUBSIDY and not (loan or {}).get("loan-financed_project"):
                locked.data["loan"] = {**(loan or {}), **_financed_project_prefill(locked.organization, locked.project_name)}
        detached = None
        if tab == "developer":
            locked.developer_bin = (values.get("developer-bin") or "").strip()[:12]
            fields.append("developer_bin")
            if locked.developer_id and locked.developer.bin != locked.developer_bin:
                # Another developer typed (#10 item 6): the old one loses the application at once;
                # the new one joins only through the invitation and its ЭЦП (never by the BIN alone).
                detached, locked.developer = locked.developer, None
                fields.append("developer")
                locked.invitations.filter(used_at__isnull=True, expires_at__gt=now).exclude(
                    bin=locked.developer_bin).update(expires_at=now)
        locked.save(update_fields=fields)
        if detached is not None:
            history_add(application=locked, event=ApplicationHistory.Event.DEVELOPER_DETACHED, user=actor, now=now,
                        comment=detached.name_ru)
            logger.info("application %s: developer %s detached", locked.pk, detached.pk)
    application.refresh_from_db()
    return application


def application_draft_saved(*, application: Application, actor: User | None, now=None) -> None:
    """«Сохранить черновик»: the tabs are already kept as typed; saving is not a stage of the
    history (seed 002's history shows the forming and the review, not each save)."""
    _require_editable(application)
    Application.objects.filter(pk=application.pk).update(updated_at=now or timezone.now())


def application_delete(*, application: Application, actor: User | None) -> None:
    if not application.is_deletable:
        raise ApplicationError(_("The application has been sent and can no longer be deleted."), code="not_editable")
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        stored = [f.file.name for f in locked.files.all()] + [c.pdf.name for c in locked.consents.all()]
        stored += [h.document.name for h in locked.history.exclude(document="")]
        locked.files.all().delete()
        locked.consents.all().delete()
        chain.purge(locked.history.all(), reason="draft deleted")
        locked.delete()

        def _remove_files():
            from django.core.files.storage import default_storage

            for name in stored:
                default_storage.delete(name)

        transaction.on_commit(_remove_files)


# --- files ------------------------------------------------------------------------------------


def file_upload(
    *, application: Application, document_type: DocumentType, uploaded_file, actor: User, provider: str, now=None
) -> ApplicationFile:
    """Store one uploaded file (already streamed to a temporary file) after checking its content."""
    now = now or timezone.now()
    _require_editable(application)
    if document_type.provider != provider:
        raise ApplicationError(_("This document is provided by the other party."), code="not_yours", field="files")
    if uploaded_file.size > MAX_FILE_BYTES:
        raise ApplicationError(
            _("The file «%(name)s» is larger than 600 MB.") % {"name": uploaded_file.name}, code="too_large",
            field="files",
        )
    kind = sniff_kind(uploaded_file)
    if kind is None:
        raise ApplicationError(
            _("The file «%(name)s» is not an allowed type. Allowed: %(types)s.")
            % {"name": uploaded_file.name, "types": ALLOWED_TYPES_HELP},
            code="bad_type", field="files",
        )
    record = ApplicationFile(
        application=application, document_type=document_type, original_name=uploaded_file.name[:255],
        size=uploaded_file.size, content_type=kind.mime, uploaded_by=actor, uploaded_at=now,
    )
    record.file.save(uploaded_file.name, uploaded_file, save=False)  # streamed copy, in chunks
    try:
        record.save()
    except Exception:
        record.file.delete(save=False)
        raise
    return record


def claim_upload(slot, upload) -> ApplicationFile:
    """A finished resumable upload (uploads.services) becomes a file of its document field: its
    bytes are already stored under `upload.storage_name`; only the row is written here, inside
    the caller's transaction, with the application locked and still editable."""
    application = Application.objects.select_for_update().get(pk=slot.owner.pk)
    _require_editable(application)
    return ApplicationFile.objects.create(
        application=application, document_type_id=int(slot.key), file=upload.storage_name,
        original_name=upload.filename, size=upload.length, content_type=upload.content_type,
        sha256=upload.sha256, uploaded_by=upload.user,
    )


def file_delete(*, file: ApplicationFile, actor: User, provider: str, now=None) -> None:
    _require_editable(file.application)
    if file.document_type.provider != provider:
        raise ApplicationError(_("This document is provided by the other party."), code="not_yours")
    name = file.file.name
    with transaction.atomic():
        file.delete()

        def _remove():
            from django.core.files.storage import default_storage

            default_storage.delete(name)

        transaction.on_commit(_remove)


# --- the developer ----------------------------------------------------------------------------


def _invitation_token(*, application: Application, created_at, bin: str, email: str) -> str:
    """The link's secret (10 URL-safe characters ≈ 60 bits), derived with SECRET_KEY from the
    invitation's own fields: whichever button shows it, it is the same link, and the database,
    which keeps only its hash, cannot rebuild it."""
    from django.utils.crypto import salted_hmac

    value = f"{application.public_id}|{created_at.isoformat()}|{bin}|{email}"
    digest = salted_hmac("applications.invitation", value, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).decode()[:10]


def invitation_create(*, application: Application, actor: User, now=None) -> tuple[DeveloperInvitation, str]:
    """The application's one live invitation link: «Сгенерировать ссылку» and «Отправить
    электронное уведомление» both give it. A new link (and the old ones die) only when the
    developer's BIN, e-mail or phone changed, or the last link was used or expired."""
    from .selectors import tab_form

    now = now or timezone.now()
    _require_editable(application)
    form = tab_form(application, "developer")
    if not form.is_valid():
        raise ApplicationError(_("Fill in the developer's BIN, name, phone and e-mail first."), code="developer_incomplete")
    bin_, email, phone = form.cleaned_data["bin"], form.cleaned_data["email"], form.cleaned_data["phone"]
    with transaction.atomic():
        live = (application.invitations.select_for_update()
                .filter(used_at__isnull=True, expires_at__gt=now).order_by("-created_at").first())
        if live is not None and (live.bin, live.email, live.phone) == (bin_, email, phone):
            token = _invitation_token(application=application, created_at=live.created_at, bin=bin_, email=email)
            if live.token_hash == token_hash(token):  # not so after a SECRET_KEY rotation: a new link
                return live, token
        application.invitations.filter(used_at__isnull=True).update(expires_at=now)
        token = _invitation_token(application=application, created_at=now, bin=bin_, email=email)
        invitation = DeveloperInvitation.objects.create(
            application=application, token_hash=token_hash(token), bin=bin_, email=email, phone=phone,
            created_at=now, expires_at=now + INVITATION_TTL,
        )
    return invitation, token


def invitation_url(token: str) -> str:
    return settings.PORTAL_BASE_URL + reverse("applications:invitation", args=[token])


def invitation_send(*, application: Application, actor: User, now=None) -> DeveloperInvitation:
    """E-mail the developer the application's invitation link (the same one «Сгенерировать ссылку» shows)."""
    now = now or timezone.now()
    invitation, token = invitation_create(application=application, actor=actor, now=now)
    url = invitation_url(token)
    company = application.organization

    def subject():
        return _("Invitation to a guarantee application")

    def body():
        values = {"company": company.name, "bin": company.bin, "project": application.project_name,
                  "developer_bin": invitation.bin, "url": url}
        return "\n".join([
            _("%(company)s (BIN %(bin)s) invites you to fill in, on the developer's side, the guarantee application "
              "«%(project)s» in the personal cabinet of JSC «KZhK».") % values,
            _("Follow the link and confirm the data of the legal entity's EDS (BIN %(developer_bin)s). "
              "The link is valid for 7 days and can be used once: %(url)s") % values,
        ])

    # The developer has no account (and so no language) yet: both languages, Russian and Kazakh in full.
    subject_ru, subject_kk = in_both_languages(subject)
    body_ru, body_kk = in_both_languages(body)
    subject, body = f"{subject_ru} / {subject_kk}", f"{body_ru}\n\n{body_kk}"
    with transaction.atomic():
        DeveloperInvitation.objects.filter(pk=invitation.pk).update(sent_at=now)
        transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))
    invitation.sent_at = now
    return invitation


@dataclass
class SignerInfo:
    """The part of signing's CertificateInfo the invitation needs."""

    bin: str
    iin: str
    surname: str = ""
    given_name: str = ""
    patronymic: str = ""
    organization_name: str = ""


def invitation_accept(*, invitation: DeveloperInvitation, signer, email: str = "", now=None) -> User:
    """The developer confirmed with its legal-entity ЭЦП: create (or reuse) its cabinet and
    attach it to the application. `signer` has .bin/.iin/.surname/.given_name/.patronymic/.organization_name."""
    now = now or timezone.now()
    if (signer.bin or "") != invitation.bin:
        raise ApplicationError(
            _("The signature belongs to BIN %(got)s, but the invitation is for BIN %(want)s.")
            % {"got": signer.bin or "—", "want": invitation.bin},
            code="bin_mismatch",
        )
    with transaction.atomic():
        locked = DeveloperInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.used_at is not None or locked.expires_at <= now:
            raise ApplicationError(_("The invitation link has already been used or has expired."), code="used")
        record = legal_entity_lookup(bin=locked.bin)
        organization, _created = Organization.objects.get_or_create(
            bin=locked.bin,
            defaults={
                "name_ru": (record.name_ru if record else signer.organization_name) or locked.bin,
                "name_kk": record.name_kk if record else "",
                "kind": Organization.Kind.DEVELOPER,
            },
        )
        user = User.objects.filter(organization=organization, iin=signer.iin).first()
        if user is None:
            user = User.objects.create_user(
                User.cabinet_username(bin=organization.bin, iin=signer.iin), None, organization=organization,
                iin=signer.iin, surname=signer.surname, name=signer.given_name, patronymic=signer.patronymic,
                email=email or locked.email, mobile=locked.phone,
            )
        locked.used_at = now
        locked.used_by = user
        locked.save(update_fields=["used_at", "used_by"])
        # Only the invited application (#10 item 6: a BIN typed elsewhere attaches nothing).
        Application.objects.filter(pk=locked.application_id).update(developer=organization, developer_bin=organization.bin)
        history_add(application=locked.application, event=ApplicationHistory.Event.DEVELOPER_JOINED, user=user,
                    now=now, comment=organization.name_ru)
    return user


def invitation_withdraw(*, application: Application, actor: User, now=None) -> int:
    """«Отозвать приглашение»: the application's unused links stop working. Returns how many."""
    now = now or timezone.now()
    _require_editable(application)
    with transaction.atomic():
        count = application.invitations.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    logger.info("application %s: %s invitation(s) withdrawn", application.pk, count)
    return count


def developer_attach_if_known(*, application: Application) -> None:
    """The demo data only: its developer already has a cabinet. The portal attaches a developer
    through the invitation and its ЭЦП alone (`invitation_accept`)."""
    if application.developer_id or len(application.developer_bin) != 12:
        return
    developer = Organization.objects.filter(bin=application.developer_bin, kind=Organization.Kind.DEVELOPER).first()
    if developer is not None and developer.users.exists():
        Application.objects.filter(pk=application.pk).update(developer=developer)
        application.developer = developer


def invitation_on_signed(signing_request, signature) -> None:
    """signing's on_complete for the developer's confirmation (inside signing's transaction)."""
    invitation = DeveloperInvitation.objects.get(pk=signing_request.subject_id)
    parts = (signature.signer_name or "").split()
    signer = SignerInfo(
        bin=signature.signer_bin, iin=signature.signer_iin, surname=parts[0].title() if parts else "",
        given_name=parts[1].title() if len(parts) > 1 else "", patronymic=" ".join(parts[2:]).title(),
        organization_name=signature.organization_name,
    )
    invitation_accept(invitation=invitation, signer=signer)


# --- consents ---------------------------------------------------------------------------------


def consent_form(*, application: Application, consent_type: ConsentType, actor: User, now=None) -> ConsentDocument:
    """«Сформировать согласие»: render the consent as PDF from the application's data."""
    now = now or timezone.now()
    _require_editable(application)
    # The developer forms only its own consents; the УК also the developer's (to send its signing link).
    if party_actor(application=application, user=actor) == Actor.DEVELOPER and consent_type.provider != Provider.DEVELOPER:
        raise ApplicationError(_("This consent is given by the other party."), code="not_yours")
    context = {
        "application": application, "consent_type": consent_type, "company": application.organization,
        "developer": application.developer, "data": application.data, "now": now,
    }
    with translation.override(language_of(actor)):  # the consent is the signer's statement: in their language
        pdf = _pdf_render(template_name="applications/pdf/consent.html", context=context)
    with transaction.atomic():
        doc = ConsentDocument.objects.select_for_update().filter(application=application, consent_type=consent_type).first()
        if doc is not None and doc.signed_at:
            return doc
        old = doc.pdf.name if doc else None
        doc = doc or ConsentDocument(application=application, consent_type=consent_type)
        doc.formed_at = now
        doc.pdf.save(f"consent-{consent_type.pk}.pdf", ContentFile(pdf), save=False)
        doc.save()
        if old:
            from django.core.files.storage import default_storage

            transaction.on_commit(lambda: default_storage.delete(old))
    return doc


def consent_mark_signed(*, consent: ConsentDocument, signer_name: str, signature_id=None, actor=None, now=None) -> ConsentDocument:
    now = now or timezone.now()
    ConsentDocument.objects.filter(pk=consent.pk).update(signed_at=now, signer_name=signer_name, signature_id=signature_id)
    consent.refresh_from_db()
    return consent


def consent_on_signed(signing_request, signature) -> None:
    consent = ConsentDocument.objects.select_related("application", "consent_type").get(pk=signing_request.subject_id)
    consent_mark_signed(consent=consent, signer_name=signature.signer_name, signature_id=signature.pk,
                        actor=signing_request.signer_user)


def consent_request_developer_signature(*, application: Application, consent_type: ConsentType, actor: User,
                                        now=None):
    """E-mail the developer a link to sign its consent (ЭЦП or QR) — «зашифрованная ссылка»: an
    unguessable signing request, usable only by the developer's users once signed in."""
    from signing.services import signing_request_create

    now = now or timezone.now()
    _require_editable(application)
    developer = application.developer
    consent = ConsentDocument.objects.filter(application=application, consent_type=consent_type, signed_at__isnull=True).first()
    if developer is None or consent is None or consent_type.provider != Provider.DEVELOPER:
        raise ApplicationError(_("The developer has to join and the consent has to be formed first."), code="not_ready")
    signing_request = signing_request_create(
        subject=consent, document=consent.pdf.read(), filename=f"consent-{consent_type.pk}.pdf",
        title_ru=consent_type.name_ru, title_kk=consent_type.name_kk, organization=developer,
        required_bin=developer.bin, allowed_roles={"head", "may_sign"},
        on_complete="applications:consent_signed",
        return_url=reverse("applications:stage", args=[application.public_id, 4]), now=now,
    )
    url = settings.PORTAL_BASE_URL + reverse("signing:request", args=[signing_request.public_id])
    recipients = list(developer.users.filter(is_active=True).exclude(email="").values_list("email", "language"))

    def subject():
        return _("Signing of a consent: %(consent)s") % {"consent": consent_type.name}

    def body():
        return _("%(company)s asks you to sign the consent «%(consent)s» for the application «%(project)s» "
                 "(EDS or QR): %(url)s") % {"company": application.organization.name, "consent": consent_type.name,
                                                  "project": application.project_name, "url": url}

    if recipients:
        transaction.on_commit(lambda: mail_each_in_own_language(recipients=recipients, subject=subject, body=body))
    return signing_request


def consents_reset_for_developer(*, application: Application) -> None:
    """After remarks the developer re-signs its part."""
    ConsentDocument.objects.filter(application=application, consent_type__provider=Provider.DEVELOPER).update(
        signed_at=None, signer_name="", signature_id=None
    )


# --- sending ----------------------------------------------------------------------------------


def _require_complete(application: Application) -> None:
    from .selectors import application_readiness

    readiness = application_readiness(application)
    if not readiness.complete:
        raise ApplicationError(
            _("Not every required field is filled in: %(items)s.") % {"items": "; ".join(str(m) for m in readiness.missing[:10])},
            code="incomplete",
        )


def application_send_to_moderation(*, application: Application, actor: User, now=None) -> Application:
    """«Отправить на модерацию»: accepted in working time (9:30–19:00 on working days); outside it
    the request waits in the queue until the next opening."""
    now = now or timezone.now()
    _require_complete(application)
    opens_at = _moderation_opening(now)
    comment = ""
    if opens_at > now:
        comment = _("Sent outside working hours: the moderation starts at %(at)s.") % {
            "at": timezone.localtime(opens_at).strftime("%d.%m.%Y %H:%M")
        }
    return application_transition(
        application, to=Status.ON_MODERATION, actor=party_actor(application=application, user=actor), user=actor,
        now=now, payload={"opens_at": opens_at}, comment=comment,
    )


def application_document_pdf(*, application: Application, language: str | None = None) -> bytes:
    """The application as one PDF: what the УК signs, in the signer's language (`language`, by
    default the author's)."""
    from .selectors import application_readiness, application_sections

    with translation.override(language or language_of(application.created_by)):
        sections = application_sections(application)
        return _pdf_render(
            template_name="applications/pdf/application.html",
            context={"application": application, "sections": sections, "readiness": application_readiness(application),
                     "files": application.files.select_related("document_type")},
        )


def application_signed(*, application: Application, actor=None, signer_name: str = "", signature=None,
                       now=None) -> Application:
    """The УК signed the application (ЭЦП/QR): it goes to KZhK. From a draft or after remarks
    without moderation, and after «Замечаний нет». `actor` is the signing user; `signature` the
    signing.Signature (the history row points at it: «signed by whom», downloadable)."""
    now = now or timezone.now()
    if application.status != Status.TO_SIGN:
        _require_complete(application)
    if signature is not None:
        signer_name = f"{signature.signer_name} ({signature.organization_name})" if signature.organization_name \
            else signature.signer_name
    with transaction.atomic():
        history_add(application=application, event=ApplicationHistory.Event.SIGNED, user=actor, now=now,
                    actor_name=signer_name or None, status=application.status, signature=signature,
                    payload={"signer_iin": signature.signer_iin} if signature is not None else None)
        return application_transition(application, to=Status.SENT, actor=Actor.COMPANY, user=actor, now=now,
                                      actor_name=signer_name)


def application_on_signed(signing_request, signature) -> None:
    application = Application.objects.get(pk=signing_request.subject_id)
    application_signed(application=application, actor=signing_request.signer_user, signature=signature)


# --- moderation (KZhK staff in admin) ---------------------------------------------------------


def moderation_decide_request(*, application: Application, moderator: User, items: list[dict]) -> str:
    """The moderator's decision in the admin. Without remarks it is made at once (no document);
    with remarks the conclusion is a PDF KZhK signs, so the decision is made on the worker (task
    applications.moderation_decide → `moderation_decide`), never in the moderator's request.
    Returns "done" or "queued"; refuses at once what `moderation_decide` would refuse, or when the
    task cannot be queued."""
    now = timezone.now()
    _moderation_check(application, now)
    if all(i.get("ok") for i in items):
        moderation_decide(application=application, moderator=moderator, items=items, now=now)
        return "done"
    from .tasks import moderation_decide_task

    if not enqueue(moderation_decide_task, (application.pk, moderator.pk, items, now.isoformat())):
        raise ApplicationError(_("The document cannot be queued now; try again in a minute."), code="queue")
    return "queued"


def moderation_decide_run(*, application_id: int, moderator_id: int, items: list[dict], now: str) -> ModerationReview | None:
    """The worker's half of `moderation_decide_request`. Idempotent: an application no longer on
    moderation (a repeated or redelivered task, or decided meanwhile) is left as it is."""
    from django.contrib.auth import get_user_model

    application = Application.objects.select_related("organization", "developer").filter(pk=application_id).first()
    moderator = get_user_model().objects.filter(pk=moderator_id).first()
    if application is None or moderator is None or application.status != Status.ON_MODERATION:
        return None
    try:
        return moderation_decide(application=application, moderator=moderator, items=items,
                                 now=parse_datetime(now) or timezone.now())
    except ApplicationError as exc:
        logger.info("application %s: moderation decision not made: %s", application.public_id, exc.message)
        return None


def _moderation_check(application: Application, now) -> None:
    if application.status != Status.ON_MODERATION:
        raise ApplicationError(_("Only an application on moderation can be checked."), code="not_on_moderation")
    if application.moderation_opens_at and application.moderation_opens_at > now:
        # Sent outside 9:30–19:00: it is queued until the next working day's opening.
        raise ApplicationError(
            _("The application is queued: moderation starts at %(at)s.")
            % {"at": timezone.localtime(application.moderation_opens_at).strftime("%d.%m.%Y %H:%M")},
            code="queued",
        )


def moderation_decide(*, application: Application, moderator: User, items: list[dict], now=None) -> ModerationReview:
    """`items`: [{"name": str, "ok": bool, "remark": str}]. Any item not ok → remarks with a
    PDF conclusion signed by KZhK; all ok → the УК signs. (From the admin with remarks: on the
    worker, `moderation_decide_request`.)"""
    now = now or timezone.now()
    _moderation_check(application, now)
    has_remarks = any(not i.get("ok") for i in items)
    decision = ModerationReview.Decision.REMARKS if has_remarks else ModerationReview.Decision.OK
    review = ModerationReview(application=application, moderator=moderator, decision=decision, items=items, created_at=now)
    stored = None
    if has_remarks:  # rendered, signed and stored before the transaction opens
        with translation.override(recipient_language(application)):
            pdf = _pdf_render(
                template_name="applications/pdf/conclusion.html",
                context={"application": application, "items": items, "moderator": moderator, "now": now},
            )
        pdf = _pdf_issue_by_kzhk(pdf=pdf, title=pgettext_lazy("pdf", "Conclusion on the moderation results"))
        review.conclusion_pdf.save(f"conclusion-{application.public_id.hex[:8]}.pdf", ContentFile(pdf), save=False)
        stored = StoredDocument(name=review.conclusion_pdf.name.rsplit("/", 1)[-1], path=review.conclusion_pdf.name,
                                sha256=hashlib.sha256(pdf).hexdigest())
    remarks_text = "\n".join(f"{i['name']}: {i.get('remark', '')}" for i in items if not i.get("ok"))
    with transaction.atomic():
        review.save()
        if has_remarks:
            application_transition(application, to=Status.REVISION, actor=Actor.MODERATOR, user=moderator, now=now,
                                   comment=remarks_text, payload={"document": stored}, actor_name=KZHK_ACTOR)
            consents_reset_for_developer(application=application)
        else:
            application_transition(application, to=Status.TO_SIGN, actor=Actor.MODERATOR, user=moderator, now=now,
                                   actor_name=KZHK_ACTOR)
    return review


# --- after sending: BPMS events and decision documents ------------------------------------------

KZHK_BPMS = KZHK_BPMS_ACTOR


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _event_document(d: Mapping) -> Document:
    """An event's document; `stored_name` when bpms_bridge already stored it (before its transaction)."""
    return Document(name=d.get("name") or "document.pdf", content=base64.b64decode(d.get("data_b64") or ""),
                    content_type=d.get("content_type") or "application/pdf", stored_name=d.get("stored_name") or "")


def _document_kind(d: Mapping, status: str) -> str | None:
    """A decision document's kind: as BPMS says, else the rejection notice / pledge agreement an
    event of that status carries; None for any other document (kept in the history)."""
    kind = d.get("kind")
    if kind in DecisionDocument.Kind.values:
        return kind
    own = OWN_DOCUMENTS.get(status)
    return own[1] if own else None


def _bpms_data(payload: Mapping, *, status: str) -> dict:
    """BPMS Simbase's names for the data an event carries → the application's."""
    data = {}
    if payload.get("registration_number"):
        data["registration_number"] = payload["registration_number"]
    if payload.get("registered_at"):
        data["registered_at"] = payload["registered_at"]
    deadline = payload.get("due_date") or payload.get("review_deadline") or payload.get("deadline")
    if deadline and status != Status.REVISION:  # a revision's deadline is the applicant's, not KZhK's
        data["due_date"] = str(deadline)[:10]
    for key in ("reason", "comment"):
        if payload.get(key):
            data[key] = str(payload[key])
    return data


def _bpms_comment(payload: Mapping) -> str:
    return str(payload.get("comment") or payload.get("notes") or payload.get("reason") or "")


def _moves(application: Application, status: str) -> bool:
    """Whether an event's status is a move to make: a new status the table lists for BPMS. An
    earlier status (a late event) is ignored; any other unknown move raises (the bridge records it)."""
    if not status or status == application.status:
        return False
    order = application.definition.order
    if workflow_of(application).find(application.status, status) is None and status in order and \
            application.status in order and order.index(status) < order.index(application.status):
        logger.warning("application %s: BPMS event %s -> %s would go backwards, ignored",
                       application.public_id, application.status, status)
        return False
    return True


def application_apply_bpms_event(*, case_id: str, event: Mapping) -> Application | None:
    """One BPMS event, applied idempotently through the workflow with the BPMS actor (events with
    seq ≤ the last seen change nothing). A new status is a move; the documents it carries are the
    status's own (notice, rejection notice, pledge agreement — KZhK's own are made on the worker
    once the status commits: application_status_document_issue); any further document is added
    as it is: an АВР or another decision document to sign, or a document kept in the history with
    «Скачать». An event that repeats the current status (an АВР after approval) adds its
    documents and nothing else. `application_apply_bpms_events` does the same for a chunk."""
    application = Application.objects.filter(public_id=case_id).first() if _is_uuid(case_id) else None
    if application is None:
        logger.warning("BPMS event for unknown application %s ignored", case_id)
        return None
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        _apply_bpms_event(locked, event, move=_move_one, touch=_touch_one)
    application.refresh_from_db()
    return application


def application_apply_bpms_events(*, items: list[tuple[str, Mapping]]) -> list[str]:
    """bpms_bridge's apply step for a chunk of events (feed order; it holds the transaction): the
    applications locked in one query, moved through each service's `Workflow.batch()` (the same
    checks and hooks as `application_transition`, written set-wise), the notifications in one
    INSERT. One answer per event: "" applied (or nothing to do), else the refusal."""
    if len(items) == 1:
        case_id, event = items[0]
        try:
            application_apply_bpms_event(case_id=case_id, event=event)
        except ApplicationError as exc:
            return [exc.message]
        return [""]
    ids = {case_id for case_id, _event in items if _is_uuid(case_id)}
    applications = {str(a.public_id): a for a in Application.objects.select_for_update(of=("self",)).select_related(
        "organization", "developer").filter(public_id__in=ids).order_by("pk")}
    batches: dict[str, workflow.Batch] = {}

    def batch_of(application):
        return batches.setdefault(application.service, workflow_of(application).batch())

    def move(application, **kwargs):
        return batch_of(application).move(application, **kwargs)

    def touch(application, **changes):
        batch_of(application).touch(application, **changes)

    answers = []
    with notifications_in_bulk():
        for case_id, event in items:
            application = applications.get(case_id)
            if application is None:
                logger.warning("BPMS event for unknown application %s ignored", case_id)
                answers.append("")
                continue
            try:
                _apply_bpms_event(application, event, move=move, touch=touch)
            except _MoveRefused as exc:
                answers.append(exc.message)
            else:
                answers.append("")
        for batch in batches.values():
            batch.flush()
    return answers


class _MoveRefused(ApplicationError):
    """The workflow refused an event's move (nothing changed): the bridge records it as failed."""


def _move_one(application: Application, **kwargs) -> Application:
    return workflow_of(application).transition(application, **kwargs)


def _touch_one(application: Application, **changes) -> None:
    for name, value in changes.items():
        setattr(application, name, value)
    Application.objects.filter(pk=application.pk).update(**changes)


def _apply_bpms_event(application: Application, event: Mapping, *, move, touch) -> None:
    """What one BPMS event does to a locked application; `move` / `touch` write through one
    transition or a batch. A refused move raises _MoveRefused before anything changed."""
    seq = int(event.get("seq") or 0)
    status = str(event.get("status") or "")
    now = _as_datetime(event.get("occurred_at")) or timezone.now()
    raw_payload = event.get("payload") or {}
    data, comment = _bpms_data(raw_payload, status=status), _bpms_comment(raw_payload)
    documents = [(_document_kind(d, status), d) for d in (event.get("documents") or []) if d.get("data_b64")]
    if seq and seq <= application.bpms_seq:
        return
    if _moves(application, status):
        payload, documents = _status_documents(application, status, documents)
        try:
            move(application, to=status, actor=Actor.BPMS, payload={**data, **payload, "seq": seq}, now=now,
                 comment=comment)
        except ApplicationError as exc:  # the table refused the move (a failing hook raises something else)
            raise _MoveRefused(exc.message, code=exc.code, field=exc.field) from exc
    else:
        touch(application, **_bpms_data_changes(application, data, seq=seq, now=now))
    for kind, d in documents:
        _bpms_document_add(application, kind=kind, d=d, now=now)


def _status_documents(application: Application, status: str, documents: list) -> tuple[dict, list]:
    """Takes the documents that belong to the move itself out of the event's list."""
    payload, rest = {}, []
    own = OWN_DOCUMENTS.get(status)
    for kind, d in documents:
        if own and kind == own[1] and own[0] not in payload:
            payload[own[0]] = _issued(d) if kind == DecisionDocument.Kind.REJECTION else _event_document(d)
        elif kind is None and "document" not in payload:
            payload["document"] = _issued(d) if status in NOTICE_STATUSES else _event_document(d)
        else:
            rest.append((kind, d))
    return payload, rest


def _bpms_data_changes(application: Application, data: dict, *, seq: int, now) -> dict:
    changes = {"bpms_seq": max(seq, application.bpms_seq)}
    if data.get("registration_number"):
        changes["registration_number"] = str(data["registration_number"])[:100]
        changes["registered_at"] = _as_datetime(data.get("registered_at")) or now
    if data.get("due_date"):
        changes["due_date"] = _as_date(data["due_date"])
    return changes


def _bpms_document_add(application: Application, *, kind: str | None, d: Mapping, now) -> None:
    if kind is not None:
        document = _issued(d) if kind == DecisionDocument.Kind.REJECTION else _event_document(d)
        _decision_document_add(application=application, kind=kind, title=d.get("title") or "", document=document,
                               now=now)
        return
    document = _event_document(d)
    if document.stored_name:
        stored = StoredDocument(name=document.name, path=document.stored_name,
                                sha256=hashlib.sha256(document.content).hexdigest())
    else:  # not stored by the bridge (a direct call): written here
        stored = workflow.store_document(_history_document_field(application), document)
    history_add(application=application, event=ApplicationHistory.Event.DOCUMENT_ISSUED, now=now,
                actor_name=KZHK_BPMS, comment=d.get("title") or document.name, document=stored)


# Statuses whose document is KZhK's official notice (PAdES-issued under KZhK's key).
NOTICE_STATUSES = (Status.REVISION, Status.REJECTED)


def _issued(d: Mapping) -> Document:
    """An official notice as KZhK's PAdES issue: done in the prepare step (`kzhk_issued`);
    issued here only if that step did not run."""
    document = _event_document(d)
    if d.get("kzhk_issued"):
        return document
    logger.warning("BPMS notice %s was not issued in the prepare step: issuing it now", document.name)
    return Document(name=document.name, content=_issue_or_keep(document.content, d), content_type=document.content_type)


def application_prepare_bpms_event(*, case_id: str, event: Mapping) -> Mapping:
    """bpms_bridge's prepare step, run before its transaction: KZhK's PAdES issue of an official
    notice BPMS sent unsigned, so no transaction is held while signing; application_apply_bpms_event
    stores what this made. The documents the portal makes itself on a status (the rejection
    notice, the pledge and subsidy agreements) are made on the worker once the status commits
    (application_status_document_issue), never in the apply step."""
    if not event.get("documents"):
        return event  # nothing to sign (most events): no read either
    application = Application.objects.filter(public_id=case_id).first() if _is_uuid(case_id) else None
    seq = int(event.get("seq") or 0)
    status = str(event.get("status") or "")
    if application is not None and seq and seq <= application.bpms_seq:
        return event  # a repeat: apply will change nothing
    documents = []
    for d in event.get("documents") or []:
        kind = _document_kind(d, status)
        if d.get("data_b64") and not d.get("kzhk_issued") and (
                kind == DecisionDocument.Kind.REJECTION or (kind is None and status in NOTICE_STATUSES)):
            issued = _issue_or_keep(base64.b64decode(d["data_b64"]), d)
            d = {**d, "data_b64": base64.b64encode(issued).decode(), "kzhk_issued": True}
        documents.append(d)
    return {**event, "documents": documents}


def _issue_or_keep(data: bytes, document: Mapping) -> bytes:
    if document.get("kzhk_issued") or document.get("content_type", "application/pdf") != "application/pdf":
        return data
    try:
        return _pdf_issue_by_kzhk(pdf=data, title=document.get("title") or document.get("name", ""))
    except Exception:  # noqa: BLE001 - a PDF we cannot stamp is kept as BPMS sent it
        logger.warning("could not issue a BPMS document under KZhK's key: %s", document.get("name"))
        return data


def _default_title(kind: str) -> str:
    with translation.override("ru"):
        return str(DecisionDocument.Kind(kind).label)


def recipient_language(application: Application) -> str:
    """The language of a KZhK document addressed to the applicant (a conclusion, a notice of
    refusal): its author's, which the ҚАЗ/РУС switch and the profile set."""
    return language_of(application.created_by)


def _decision_pdf(application: Application, template_name: str, *, comment: str, now) -> bytes:
    """A decision document: a notice in the recipient's language; the pledge and subsidy
    agreements (one document for all parties) are bilingual side by side whatever the language."""
    with translation.override(recipient_language(application)):
        return _pdf_render(template_name=template_name,
                           context={"application": application, "comment": comment, "now": now})


def _rejection_notice(application: Application, *, comment: str, now) -> Document:
    pdf = _decision_pdf(application, "applications/pdf/rejection.html", comment=comment, now=now)
    return Document(name="otkaz.pdf", content=_pdf_issue_by_kzhk(pdf=pdf, title=pgettext_lazy("pdf", "Notice of refusal")))


def _pledge_agreement(application: Application, *, comment: str, now) -> Document:
    return Document(name="dogovor-zaloga.pdf",
                    content=_decision_pdf(application, "applications/pdf/pledge.html", comment=comment, now=now))


def _subsidy_agreement(application: Application, *, comment: str, now) -> Document:
    return Document(name="dogovor-subsidirovaniya.pdf",
                    content=_decision_pdf(application, "applications/pdf/subsidy_agreement.html", comment=comment,
                                          now=now))


# The document a status brings with it: (payload key, decision document kind, how the portal renders
# it when BPMS sent none). Made in the prepare step, added once on entering the status.
OWN_DOCUMENTS = {
    Status.REJECTED: ("notice", DecisionDocument.Kind.REJECTION, _rejection_notice),
    Status.APPROVED: ("pledge", DecisionDocument.Kind.PLEDGE, _pledge_agreement),
    Status.AGREEMENT_SIGNING: ("agreement", DecisionDocument.Kind.SUBSIDY_AGREEMENT, _subsidy_agreement),
}


def application_status_document_issue(*, application_id: int, status: str) -> DecisionDocument | None:
    """The document the portal makes on entering `status` (OWN_DOCUMENTS: the rejection notice
    issued under KZhK's key, the pledge or subsidy agreement to sign), on the worker (task
    applications.status_document_issue, and the sweeper): rendered, signed and stored outside
    any transaction, then added once (idempotent: a second run finds it and stops)."""
    from homeportal.files import stored_first

    own = OWN_DOCUMENTS.get(status)
    application = Application.objects.select_related("organization", "developer").filter(pk=application_id).first()
    if own is None or application is None:
        return None
    _key, kind, render = own
    if application.decision_documents.filter(kind=kind).exists():
        return None
    entry = application.history.filter(event=ApplicationHistory.Event.STATUS, status=status).order_by(
        "-created_at", "-pk").first()
    if entry is None:  # the status never committed
        return None
    document = render(application, comment=entry.comment, now=entry.created_at)
    stored = stored_first(DecisionDocument, "file", document.name, document.content,
                          instance=DecisionDocument(application=application))
    with transaction.atomic():
        locked = Application.objects.select_for_update(of=("self",)).select_related("organization", "developer").get(
            pk=application_id)
        if locked.decision_documents.filter(kind=kind).exists():  # another worker was first
            storage = DecisionDocument._meta.get_field("file").storage
            transaction.on_commit(lambda: storage.delete(stored))
            return None
        return _decision_document_add(application=locked, kind=kind, title="", now=timezone.now(),
                                      document=Document(name=document.name, content=document.content,
                                                        stored_name=stored))


def application_documents_issue_pending(*, limit: int = 100, settle_seconds: float = 30.0) -> int:
    """The sweeper (beat): statuses whose own document was not made — its task was lost (the
    broker was down when the status committed); changes of the last `settle_seconds` are left to
    their task."""
    now = timezone.now()
    done = 0
    for status, (_key, kind, _render) in OWN_DOCUMENTS.items():
        services = [code for code, flow in WORKFLOWS.items() if status in flow.statuses()]
        ids = list(Application.objects.filter(
            status=status, service__in=services, updated_at__lte=now - datetime.timedelta(seconds=settle_seconds),
        ).exclude(decision_documents__kind=kind).order_by("pk").values_list("pk", flat=True)[:limit])
        for application_id in ids:
            application_status_document_issue(application_id=application_id, status=status)
        done += len(ids)
    return done


def decision_document_add(
    *, application: Application, kind: str, title: str, data: bytes, filename: str, now=None, stored_name: str = ""
) -> DecisionDocument:
    """A document from KZhK after the decision. Pledge agreements and АВР are signed by the УК and
    the developer (a signing multi-party document); a rejection notice is for information."""
    return _decision_document_add(application=application, kind=kind, title=title, now=now or timezone.now(),
                                  document=Document(name=filename, content=data, stored_name=stored_name))


def _decision_document_add(*, application: Application, kind: str, title: str, document: Document, now
                           ) -> DecisionDocument:
    from signing.services import signed_document_create

    state = DecisionDocument.State.INFO if kind == DecisionDocument.Kind.REJECTION else DecisionDocument.State.TO_SIGN
    doc = DecisionDocument(application=application, kind=kind, title=title or _default_title(kind), state=state,
                           created_at=now)
    if document.stored_name:  # written before the caller's transaction (bpms_bridge stores inbound documents)
        doc.file.name = document.stored_name
    else:
        doc.file.save(document.name, ContentFile(document.content), save=False)
    doc.save()
    if state == DecisionDocument.State.TO_SIGN:
        parties = [{"organization": org} for org in filter(None, (application.organization, application.developer))]
        doc.signed_document = signed_document_create(
            subject=doc, document=document.content, filename=document.name, title_ru=doc.title, title_kk=doc.title,
            parties=parties,
        )
        doc.save(update_fields=["signed_document"])
    stored = StoredDocument(name=document.name, path=doc.file.name,
                            sha256=hashlib.sha256(document.content).hexdigest())
    history_add(application=application, event=ApplicationHistory.Event.DOCUMENT_ISSUED, now=now, comment=doc.title,
                actor_name=KZHK_ACTOR, decision_document=doc, document=stored)
    return doc


# --- decision documents: their own table ----------------------------------------------------------


def _enter_document_signed(step: workflow.Step) -> None:
    doc = step.obj
    _outbox_enqueue(application=doc.application, kind="signed_document", payload={"document": doc.title},
                    idempotency_key=f"decision-{doc.pk}-signed")
    application = doc.application
    if doc.kind == DecisionDocument.Kind.SUBSIDY_AGREEMENT and application.status == Status.AGREEMENT_SIGNING:
        application_transition(application, to=Status.AGREEMENT_SIGNED, actor=Actor.SYSTEM, now=step.now)


def _enter_document_returned(step: workflow.Step) -> None:
    doc = step.obj
    step.set(comment=step.payload["comment"])
    _outbox_enqueue(application=doc.application, kind="avr_returned",
                    payload={"document": doc.title, "comment": step.payload["comment"]},
                    idempotency_key=f"avr-{doc.pk}-returned")


def _record_document_step(step: workflow.Step) -> ApplicationHistory:
    doc = step.obj
    event = {DecisionDocument.State.SIGNED: ApplicationHistory.Event.DOCUMENT_COMPLETED,
             DecisionDocument.State.RETURNED: ApplicationHistory.Event.DOCUMENT_RETURNED}[step.target]
    comment = doc.title if step.target == DecisionDocument.State.SIGNED else f"{doc.title}: {step.payload['comment']}"
    return history_add(application=doc.application, event=event, user=step.user, now=step.now, comment=comment,
                       status=step.target, actor_name=step.actor_name,
                       payload={"from_status": step.source, **step.history_payload}, decision_document=doc)


DOCUMENT_WORKFLOW = workflow.Workflow(
    name="decision_document", model=DecisionDocument, transitions=transitions.DOCUMENT_TRANSITIONS,
    labels=DecisionDocument.State, field="state", timestamp_field=None, error=ApplicationError,
    refused_message=lambda source, target: _("The document cannot move from «%(from)s» to «%(to)s».") % {
        "from": source, "to": target},
    missing_message=lambda fields: _("Write what has to be corrected."),
    select_related=("application",), history=_record_document_step, actor_label=_workflow_actor_label,
    on_enter={DecisionDocument.State.SIGNED: _enter_document_signed,
              DecisionDocument.State.RETURNED: _enter_document_returned},
)


def decision_document_transition(document: DecisionDocument, *, to: str, actor: str, user=None,
                                 payload: dict | None = None, now=None) -> DecisionDocument:
    return DOCUMENT_WORKFLOW.transition(document, to=to, actor=actor, user=user, payload=payload, now=now)


def decision_document_on_signed(signing_request, signature) -> None:
    """signing's completion for a party's signature on a pledge agreement or АВР."""
    # Row locks first, the history row after (its chain append takes the chain head, which must be
    # the last lock a transaction takes: docs/history.md): the document, then its application.
    doc = DecisionDocument.objects.select_for_update(of=("self",)).select_related("application", "signed_document").get(
        signed_document_id=signing_request.signed_document_id
    )
    Application.objects.select_for_update().filter(pk=doc.application_id).values_list("pk", flat=True).first()
    history_add(application=doc.application, event=ApplicationHistory.Event.DOCUMENT_SIGNED,
                user=signing_request.signer_user, comment=f"{doc.title} — {signature.signer_name} ({signature.organization_name})",
                actor_name=f"{signature.signer_name} ({signature.organization_name})", decision_document=doc,
                signature=signature)
    if doc.signed_document.is_fully_signed and doc.state == DecisionDocument.State.TO_SIGN:
        decision_document_transition(doc, to=DecisionDocument.State.SIGNED, actor=Actor.SYSTEM)


def avr_return(*, document: DecisionDocument, comment: str, actor: User, now=None) -> DecisionDocument:
    """«Отправить на доработку» for an АВР, with a comment that goes to BPMS."""
    if document.kind not in transitions.RETURNABLE_KINDS or document.state != DecisionDocument.State.TO_SIGN:
        raise ApplicationError(_("Only an unsigned certificate of completed work can be sent for revision."), code="not_avr")
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(_("Write what has to be corrected."), code="comment_required", field="comment")
    party = party_actor(application=document.application, user=actor)  # the table: the УК only
    return decision_document_transition(document, to=DecisionDocument.State.RETURNED, actor=party, user=actor,
                                        payload={"comment": comment}, now=now)
