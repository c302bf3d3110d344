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
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cabinets.models import Contract, Organization, User
from cabinets.selectors import legal_entity_lookup
from cabinets.services import notification_create
from homeportal.files import stored_first
from homeportal.uploads import ALLOWED_TYPES_HELP, sniff_kind

from .models import (
    EDITABLE_STATUSES,
    TRANSITIONS,
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
    Status,
)

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
        case_kind="application", case_id=str(application.public_id), kind=kind, payload=payload,
        idempotency_key=idempotency_key,
    )


def _moderation_opening(now: datetime.datetime) -> datetime.datetime:
    """When a moderation request sent at `now` is accepted: now in working time, else the next opening."""
    from bpms_bridge.workcalendar import registration_moment

    return registration_moment(now)


# --- history and the one transition function ---------------------------------------------------


def _actor_label(actor) -> str:
    if actor is None:
        return "АО «КЖК»"
    org = getattr(actor, "organization", None)
    name = actor.full_name if hasattr(actor, "full_name") else str(actor)
    return f"{name} ({org.name_ru})" if org else name


def history_add(
    *, application: Application, event: str, actor=None, now=None, comment: str = "", file: ContentFile | str | None = None,
    from_status: str = "", to_status: str = "", actor_label: str | None = None,
) -> ApplicationHistory:
    """`file`: new content, or the name of a file already stored (homeportal.files.stored_first:
    written before the caller's transaction)."""
    entry = ApplicationHistory(
        application=application, event=event, actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label if actor_label is not None else _actor_label(actor), at=now or timezone.now(),
        comment=comment, from_status=from_status, to_status=to_status,
    )
    if isinstance(file, str):
        entry.file.name = file
    elif file is not None:
        entry.file.save(file.name, file, save=False)
    entry.save()
    return entry


STATUS_TITLES_KK = {
    Status.ON_MODERATION: "Өтінім модерацияда",
    Status.REVISION: "Өтінім тексерілді, пысықтау қажет",
    Status.TO_SIGN: "Өтінім тексерілді, қол қою қажет",
    Status.SENT: "Өтінім жіберілді",
    Status.REGISTERED: "Өтінім тіркелді",
    Status.IN_REVIEW: "Өтінім қаралуда",
    Status.REJECTED: "Өтінім қабылданбады",
    Status.APPROVED: "Өтінім мақұлданды, кепіл шарттарын дайындау",
}


def application_transition(
    application: Application, *, to: str, actor=None, payload: dict | None = None, now=None,
    comment: str = "", file: ContentFile | str | None = None, actor_label: str | None = None,
) -> Application:
    """Move the application to `to` if the table allows it; history, notification and outbox follow."""
    now = now or timezone.now()
    payload = payload or {}
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        if to not in TRANSITIONS.get(locked.status, set()):
            raise ApplicationError(
                _("The application cannot move from «%(from)s» to «%(to)s».")
                % {"from": Status(locked.status).label, "to": Status(to).label},
                code="bad_transition",
            )
        from_status = locked.status
        previously_sent = locked.sent_at is not None
        locked.status = to
        locked.updated_at = now
        fields = ["status", "updated_at"]
        if to == Status.ON_MODERATION:
            locked.moderation_opens_at = payload.get("opens_at", now)
            fields.append("moderation_opens_at")
        if to == Status.SENT:
            locked.sent_at = now
            fields.append("sent_at")
        for key in ("registration_number", "registered_at", "due_date"):
            if key in payload:
                setattr(locked, key, payload[key])
                fields.append(key)
        locked.save(update_fields=fields)
        history_add(
            application=locked, event="status", actor=actor, now=now, comment=comment, file=file,
            from_status=from_status, to_status=to, actor_label=actor_label,
        )
        link = reverse("applications:stage", args=[locked.public_id, 1])
        with translation.override("ru"):
            title_ru = f"{Status(to).label}: {locked.project_name or locked.public_id}"
        title_kk = f"{STATUS_TITLES_KK.get(to, to)}: {locked.project_name or locked.public_id}"
        for org in filter(None, (locked.organization, locked.developer)):
            notification_create(organization=org, title_ru=title_ru, title_kk=title_kk, link=link)
        if to == Status.SENT:
            kind = "resubmit" if previously_sent else "submit"  # after BPMS returned it for revision
            _outbox_enqueue(
                application=locked, kind=kind, payload=application_payload(locked),
                idempotency_key=f"application-{locked.public_id}-{kind}-{now.isoformat()}",
            )
    application.refresh_from_db()
    return application


def application_payload(application: Application) -> dict:
    """What BPMS receives when the application is sent."""
    return {
        "public_id": str(application.public_id),
        "organization_bin": application.organization.bin,
        "developer_bin": application.developer.bin if application.developer_id else application.developer_bin,
        "contract": str(application.contract) if application.contract_id else "",
        "project_name": application.project_name,
        "data": application.data,
        "files": [
            {"id": f.pk, "document": f.document_type.name_ru, "name": f.original_name, "size": f.size}
            for f in application.files.select_related("document_type")
        ],
    }


# --- creating, saving, deleting ---------------------------------------------------------------


def contract_register_outside_portal(
    *, organization: Organization, number: str, signed_on: datetime.date, project_name: str
) -> Contract:
    """A guarantee contract concluded outside the portal: added to the organization's list as active.
    (cabinets owns the model and has no service for this; the one write is here.)"""
    contract, _created = Contract.objects.get_or_create(
        organization=organization, kind=Contract.Kind.GUARANTEE, number=number.strip(),
        defaults={"signed_on": signed_on, "project_name": project_name, "concluded_outside_portal": True},
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
    *, organization: Organization, actor: User | None, contract: Contract | None = None, now=None
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
    with transaction.atomic():
        application = Application.objects.create(
            organization=organization, contract=contract, created_by=actor, data=data, project_name=project_name,
            developer_bin=developer_bin, created_at=now, updated_at=now,
        )
        history_add(application=application, event="created", actor=actor, now=now, to_status=Status.DRAFT)
    return application


def _require_editable(application: Application) -> None:
    if application.status not in EDITABLE_STATUSES:
        raise ApplicationError(_("The application has been sent and can no longer be changed."), code="not_editable")


def application_save_tab(
    *, application: Application, tab: str, values: dict, actor: User | None, now=None
) -> Application:
    """Keep what was typed in a tab exactly as typed (valid or not)."""
    from .selectors import tab_is_valid

    now = now or timezone.now()
    _require_editable(application)
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        was_valid = tab_is_valid(locked, tab)
        locked.data = {**locked.data, tab: values}
        locked.updated_at = now
        fields = ["data", "updated_at"]
        if tab == "project":
            locked.project_name = (values.get("project-project_name") or "").strip()[:1000]
            fields.append("project_name")
        if tab == "developer":
            locked.developer_bin = (values.get("developer-bin") or "").strip()[:12]
            fields.append("developer_bin")
        locked.save(update_fields=fields)
        if tab == "developer":
            developer_attach_if_known(application=locked)
        if not was_valid and tab_is_valid(locked, tab):
            from .selectors import TAB_TITLES

            with translation.override("ru"):
                title = str(TAB_TITLES.get(tab, tab))
            history_add(application=locked, event="tab_completed", actor=actor, now=now, comment=title)
    application.refresh_from_db()
    return application


def application_draft_saved(*, application: Application, actor: User | None, now=None) -> None:
    history_add(application=application, event="saved", actor=actor, now=now)


def application_delete(*, application: Application, actor: User | None) -> None:
    if not application.is_deletable:
        raise ApplicationError(_("The application has been sent and can no longer be deleted."), code="not_editable")
    with transaction.atomic():
        locked = Application.objects.select_for_update().get(pk=application.pk)
        stored = [f.file.name for f in locked.files.all()] + [c.pdf.name for c in locked.consents.all()]
        stored += [h.file.name for h in locked.history.exclude(file="")]
        locked.files.all().delete()
        locked.consents.all().delete()
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
        with transaction.atomic():
            record.save()
            history_add(application=application, event="file_uploaded", actor=actor, now=now,
                        comment=f"{document_type.name_ru}: {record.original_name}")
    except Exception:
        record.file.delete(save=False)
        raise
    return record


def file_delete(*, file: ApplicationFile, actor: User, provider: str, now=None) -> None:
    _require_editable(file.application)
    if file.document_type.provider != provider:
        raise ApplicationError(_("This document is provided by the other party."), code="not_yours")
    name = file.file.name
    with transaction.atomic():
        history_add(application=file.application, event="file_deleted", actor=actor, now=now,
                    comment=f"{file.document_type.name_ru}: {file.original_name}")
        file.delete()

        def _remove():
            from django.core.files.storage import default_storage

            default_storage.delete(name)

        transaction.on_commit(_remove)


# --- the developer ----------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
            if live.token_hash == _token_hash(token):  # not so after a SECRET_KEY rotation: a new link
                return live, token
        application.invitations.filter(used_at__isnull=True).update(expires_at=now)
        token = _invitation_token(application=application, created_at=now, bin=bin_, email=email)
        invitation = DeveloperInvitation.objects.create(
            application=application, token_hash=_token_hash(token), bin=bin_, email=email, phone=phone,
            created_at=now, expires_at=now + INVITATION_TTL,
        )
        history_add(application=application, event="invitation_link", actor=actor, now=now, comment=invitation.bin)
    return invitation, token


def invitation_url(token: str) -> str:
    return settings.PORTAL_BASE_URL + reverse("applications:invitation", args=[token])


def invitation_send(*, application: Application, actor: User, now=None) -> DeveloperInvitation:
    """E-mail the developer the application's invitation link (the same one «Сгенерировать ссылку» shows)."""
    now = now or timezone.now()
    invitation, token = invitation_create(application=application, actor=actor, now=now)
    url = invitation_url(token)
    company = application.organization
    subject = "Приглашение к заявке на гарантирование / Кепілдікке өтінімге шақыру"
    body = (
        f"{company.name_ru} (БИН {company.bin}) приглашает вас заполнить со стороны застройщика заявку на "
        f"гарантирование «{application.project_name}» в Личном кабинете АО «КЖК».\n"
        f"Перейдите по ссылке и подтвердите данные ЭЦП юридического лица (БИН {invitation.bin}). "
        f"Ссылка действует 7 дней и однократно: {url}\n\n"
        f"{company.name_kk or company.name_ru} сізді «ҚТК» АҚ жеке кабинетінде құрылыс салушы тарапынан "
        f"кепілдікке өтінімді толтыруға шақырады. Сілтеме 7 күн жарамды: {url}"
    )
    with transaction.atomic():
        DeveloperInvitation.objects.filter(pk=invitation.pk).update(sent_at=now)
        history_add(application=application, event="invited", actor=actor, now=now,
                    comment=f"{invitation.bin} {invitation.email}")
        transaction.on_commit(lambda: send_mail(subject, body, None, [invitation.email]))
    invitation.sent_at = now
    return invitation


def invitation_get(*, token: str, now=None) -> DeveloperInvitation | None:
    """The live invitation for a token, or None (unknown, used or expired all look the same)."""
    now = now or timezone.now()
    if not token or len(token) > 64:
        return None
    return (
        DeveloperInvitation.objects.select_related("application", "application__organization")
        .filter(token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=now)
        .first()
    )


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
        # Every application naming this BIN, now and later, reaches the developer.
        Application.objects.filter(developer__isnull=True, developer_bin=organization.bin).update(developer=organization)
        Application.objects.filter(pk=locked.application_id).update(developer=organization, developer_bin=organization.bin)
        history_add(application=locked.application, event="developer_joined", actor=user, now=now,
                    comment=organization.name_ru)
    return user


def developer_attach_if_known(*, application: Application) -> None:
    """A developer that already has a cabinet sees new applications naming it at once."""
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
    context = {
        "application": application, "consent_type": consent_type, "company": application.organization,
        "developer": application.developer, "data": application.data, "now": now,
    }
    with translation.override("ru"):
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
        history_add(application=application, event="consent_formed", actor=actor, now=now, comment=consent_type.name_ru)
        if old:
            from django.core.files.storage import default_storage

            transaction.on_commit(lambda: default_storage.delete(old))
    return doc


def consent_mark_signed(*, consent: ConsentDocument, signer_name: str, signature_id=None, actor=None, now=None) -> ConsentDocument:
    now = now or timezone.now()
    ConsentDocument.objects.filter(pk=consent.pk).update(signed_at=now, signer_name=signer_name, signature_id=signature_id)
    history_add(application=consent.application, event="consent_signed", actor=actor, now=now,
                comment=f"{consent.consent_type.name_ru} — {signer_name}")
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
        on_complete="applications.services.consent_on_signed",
        return_url=reverse("applications:stage", args=[application.public_id, 4]), now=now,
    )
    url = settings.PORTAL_BASE_URL + reverse("signing:request", args=[signing_request.public_id])
    recipients = list(developer.users.filter(is_active=True).exclude(email="").values_list("email", flat=True))
    subject = f"Подписание согласия / Келісімге қол қою: {consent_type.name_ru}"
    body = (f"{application.organization.name_ru} просит подписать согласие «{consent_type.name_ru}» по заявке "
            f"«{application.project_name}» (ЭЦП или QR): {url}\n\n"
            f"«{consent_type.name_kk}» келісіміне қол қойыңыз (ЭЦҚ немесе QR): {url}")
    with transaction.atomic():
        history_add(application=application, event="signing_link_sent", actor=actor, now=now,
                    comment=f"{consent_type.name_ru} → {', '.join(recipients)}")
        if recipients:
            transaction.on_commit(lambda: send_mail(subject, body, None, recipients))
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
        application, to=Status.ON_MODERATION, actor=actor, now=now, payload={"opens_at": opens_at}, comment=comment
    )


def application_document_pdf(*, application: Application) -> bytes:
    """The application as one PDF: what the УК signs."""
    from .selectors import application_readiness, application_sections

    with translation.override("ru"):
        sections = application_sections(application)
        return _pdf_render(
            template_name="applications/pdf/application.html",
            context={"application": application, "sections": sections, "readiness": application_readiness(application),
                     "files": application.files.select_related("document_type")},
        )


def application_signed(*, application: Application, actor=None, signer_name: str = "", now=None) -> Application:
    """The УК signed the application (ЭЦП/QR): it goes to KZhK. From a draft or after remarks
    without moderation, and after «Замечаний нет»."""
    now = now or timezone.now()
    if application.status != Status.TO_SIGN:
        _require_complete(application)
    history_add(application=application, event="signed", actor=actor, now=now, comment=signer_name)
    return application_transition(application, to=Status.SENT, actor=actor, now=now)


def application_on_signed(signing_request, signature) -> None:
    application = Application.objects.get(pk=signing_request.subject_id)
    application_signed(application=application, actor=signing_request.signer_user, signer_name=signature.signer_name)


# --- moderation (KZhK staff in admin) ---------------------------------------------------------


def moderation_decide(*, application: Application, moderator: User, items: list[dict], now=None) -> ModerationReview:
    """`items`: [{"name": str, "ok": bool, "remark": str}]. Any item not ok → remarks with a
    PDF conclusion signed by KZhK; all ok → the УК signs."""
    now = now or timezone.now()
    if application.status != Status.ON_MODERATION:
        raise ApplicationError(_("Only an application on moderation can be checked."), code="not_on_moderation")
    if application.moderation_opens_at and application.moderation_opens_at > now:
        # Sent outside 9:30–19:00: it is queued until the next working day's opening.
        raise ApplicationError(
            _("The application is queued: moderation starts at %(at)s.")
            % {"at": timezone.localtime(application.moderation_opens_at).strftime("%d.%m.%Y %H:%M")},
            code="queued",
        )
    has_remarks = any(not i.get("ok") for i in items)
    decision = ModerationReview.Decision.REMARKS if has_remarks else ModerationReview.Decision.OK
    conclusion = None
    if has_remarks:
        with translation.override("ru"):
            pdf = _pdf_render(
                template_name="applications/pdf/conclusion.html",
                context={"application": application, "items": items, "moderator": moderator, "now": now},
            )
        pdf = _pdf_issue_by_kzhk(pdf=pdf, title="Заключение по результатам модерации")
        filename = f"conclusion-{application.public_id.hex[:8]}.pdf"
        conclusion = stored_first(ModerationReview, "conclusion_pdf", filename, pdf)  # storage before the transaction
        history_file = stored_first(ApplicationHistory, "file", filename, pdf)
    with transaction.atomic():
        review = ModerationReview(application=application, moderator=moderator, decision=decision, items=items, created_at=now)
        if conclusion is not None:
            review.conclusion_pdf.name = conclusion
        review.save()
        remarks_text = "\n".join(f"{i['name']}: {i.get('remark', '')}" for i in items if not i.get("ok"))
        if has_remarks:
            application_transition(
                application, to=Status.REVISION, actor=moderator, now=now, comment=remarks_text,
                file=history_file, actor_label="АО «КЖК»",
            )
            consents_reset_for_developer(application=application)
        else:
            application_transition(application, to=Status.TO_SIGN, actor=moderator, now=now, actor_label="АО «КЖК»")
    return review


# --- after sending: BPMS events and decision documents ------------------------------------------


def application_apply_bpms_event(*, case_id: str, event: dict) -> None:
    """One BPMS event, applied idempotently (events with seq ≤ the last seen are ignored).

    Status through the transition table; registration number/date and the review deadline
    («Срок исполнения»); documents: a rejection notice (issued by KZhK: PAdES-stamped), pledge
    agreements on approval (rendered here when BPMS sends none) and АВР (`"kind": "avr"`) to be
    signed by the parties; any other document is kept in the history with «Скачать»."""

    seq = int(event.get("seq", 0))
    status = event.get("status", "")
    occurred = event.get("occurred_at")
    now = datetime.datetime.fromisoformat(occurred) if occurred else timezone.now()
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    payload = event.get("payload") or {}
    with transaction.atomic():
        application = Application.objects.select_for_update().filter(public_id=case_id).first()
        if application is None or seq <= application.bpms_seq:
            return
        Application.objects.filter(pk=application.pk).update(bpms_seq=seq)
        changes = {}
        if payload.get("registration_number"):
            changes["registration_number"] = payload["registration_number"]
            changes["registered_at"] = now
        if payload.get("registered_at"):
            changes["registered_at"] = datetime.datetime.fromisoformat(str(payload["registered_at"]))
        deadline = payload.get("due_date") or payload.get("review_deadline") or payload.get("deadline")
        if deadline and status != Status.REVISION:  # a revision's deadline is the applicant's, not KZhK's
            changes["due_date"] = datetime.date.fromisoformat(str(deadline)[:10])
        documents = [
            (d, base64.b64decode(d["data_b64"])) for d in (event.get("documents") or []) if d.get("data_b64")
        ]
        comment = str(payload.get("comment") or payload.get("notes") or payload.get("reason") or "")
        decision_docs, history_docs = [], []
        for d, data in documents:
            kind = d.get("kind") or {Status.REJECTED: DecisionDocument.Kind.REJECTION,
                                     Status.APPROVED: DecisionDocument.Kind.PLEDGE}.get(status)
            (decision_docs if kind else history_docs).append((kind, d, data))
        if status in (Status.REVISION, Status.REJECTED):  # official notices: issued under KZhK's key
            history_docs = [(k, d, _issue_or_keep(data, d)) for k, d, data in history_docs]
        if status and status != application.status:
            first = history_docs[0] if history_docs else None
            application_transition(
                application, to=status, now=now, payload=changes, comment=comment, actor_label="АО «КЖК» (BPMS)",
                file=_bpms_file(first[1], first[2]) if first else None,
            )
            history_docs = history_docs[1:]
        elif changes:
            Application.objects.filter(pk=application.pk).update(**changes)
        for _kind, d, data in history_docs:
            history_add(application=application, event="document_received", now=now, actor_label="АО «КЖК» (BPMS)",
                        comment=d.get("title") or d.get("name", ""), file=_bpms_file(d, data))
        application.refresh_from_db()
        if status == Status.REJECTED and not decision_docs:
            decision_docs.append((DecisionDocument.Kind.REJECTION, {"name": "otkaz.pdf"}, _decision_pdf(
                application, "applications/pdf/rejection.html", comment=comment, now=now)))
        if status == Status.APPROVED and not any(k == DecisionDocument.Kind.PLEDGE for k, _d, _x in decision_docs):
            decision_docs.append((DecisionDocument.Kind.PLEDGE, {"name": "dogovor-zaloga.pdf", "title": "Договор залога"},
                                  _decision_pdf(application, "applications/pdf/pledge.html", comment=comment, now=now)))
        for kind, d, data in decision_docs:
            if kind == DecisionDocument.Kind.REJECTION and not d.get("kzhk_issued"):
                data = _pdf_issue_by_kzhk(pdf=data, title="Уведомление об отказе")
                d = {**d, "stored_name": ""}
            decision_document_add(
                application=application, kind=kind, title=d.get("title") or _default_title(kind), data=data,
                filename=d.get("name", "document.pdf"), now=now, stored_name=d.get("stored_name") or "",
            )


def application_prepare_bpms_event(*, case_id: str, event: dict) -> dict:
    """bpms_bridge's prepare step, run before its transaction: the official notices of a
    revision or rejection are issued under KZhK's key here, and the rejection notice / pledge
    agreement BPMS did not send are rendered here, so no transaction is held while rendering or
    signing; application_apply_bpms_event keeps what this made (the bridge then stores it)."""
    status = event.get("status")
    if status not in (Status.REVISION, Status.REJECTED, Status.APPROVED):
        return event
    default_kind = {Status.REJECTED: DecisionDocument.Kind.REJECTION}.get(status)
    documents = []
    for d in event.get("documents") or []:
        kind = d.get("kind") or default_kind
        official = kind == DecisionDocument.Kind.REJECTION or (not kind and status != Status.APPROVED)
        if official and d.get("data_b64") and not d.get("kzhk_issued"):
            title = "Уведомление об отказе" if kind else (d.get("title") or d.get("name", ""))
            issued = _issue_or_keep(base64.b64decode(d["data_b64"]), {**d, "title": title})
            d = {**d, "data_b64": base64.b64encode(issued).decode(), "kzhk_issued": True}
        documents.append(d)
    documents += _missing_decision_documents(case_id, event, status, documents)
    return {**event, "documents": documents}


def _missing_decision_documents(case_id: str, event: dict, status: str, documents: list[dict]) -> list[dict]:
    """The rejection notice or pledge agreement KZhK issues when BPMS sends none (once: only when
    the application is entering that status)."""
    application = Application.objects.filter(public_id=case_id).first() if _is_uuid(case_id) else None
    kinds = {d.get("kind") for d in documents}
    if application is None or application.status == status or (documents and status == Status.REJECTED):
        return []
    payload = event.get("payload") or {}
    comment = str(payload.get("comment") or payload.get("notes") or payload.get("reason") or "")
    now = datetime.datetime.fromisoformat(event["occurred_at"]) if event.get("occurred_at") else timezone.now()
    if status == Status.REJECTED:
        pdf = _pdf_issue_by_kzhk(pdf=_decision_pdf(application, "applications/pdf/rejection.html", comment=comment, now=now),
                                 title="Уведомление об отказе")
        return [{"name": "otkaz.pdf", "content_type": "application/pdf", "kind": DecisionDocument.Kind.REJECTION,
                 "data_b64": base64.b64encode(pdf).decode(), "kzhk_issued": True}]
    if status == Status.APPROVED and DecisionDocument.Kind.PLEDGE not in kinds:
        pdf = _decision_pdf(application, "applications/pdf/pledge.html", comment=comment, now=now)
        return [{"name": "dogovor-zaloga.pdf", "title": "Договор залога", "content_type": "application/pdf",
                 "kind": DecisionDocument.Kind.PLEDGE, "data_b64": base64.b64encode(pdf).decode()}]
    return []


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _bpms_file(document: dict, data: bytes) -> ContentFile | str:
    """The file bpms_bridge already stored for a BPMS document, or its content to store now."""
    return document.get("stored_name") or ContentFile(data, name=document.get("name", "document.pdf"))


def _issue_or_keep(data: bytes, document: dict) -> bytes:
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


def _decision_pdf(application: Application, template_name: str, *, comment: str, now) -> bytes:
    with translation.override("ru"):
        return _pdf_render(template_name=template_name,
                           context={"application": application, "comment": comment, "now": now})


def decision_document_add(
    *, application: Application, kind: str, title: str, data: bytes, filename: str, now=None, stored_name: str = ""
) -> DecisionDocument:
    """A document from KZhK after the decision. Pledge agreements and АВР are signed by the УК and
    the developer (a signing multi-party document); a rejection notice is for information."""
    from signing.services import signed_document_create

    now = now or timezone.now()
    state = DecisionDocument.State.INFO if kind == DecisionDocument.Kind.REJECTION else DecisionDocument.State.TO_SIGN
    doc = DecisionDocument(application=application, kind=kind, title=title or filename, state=state, created_at=now)
    if stored_name:  # written before the caller's transaction (bpms_bridge stores inbound documents)
        doc.file.name = stored_name
    else:
        doc.file.save(filename, ContentFile(data), save=False)
    doc.save()
    if state == DecisionDocument.State.TO_SIGN:
        parties = [{"organization": org} for org in filter(None, (application.organization, application.developer))]
        doc.signed_document = signed_document_create(
            subject=doc, document=data, filename=filename, title_ru=doc.title, title_kk=doc.title, parties=parties,
        )
        doc.save(update_fields=["signed_document"])
    history_add(application=application, event="document_received", now=now, comment=doc.title, actor_label="АО «КЖК»")
    return doc


def decision_document_on_signed(signing_request, signature) -> None:
    """signing's on_complete for a party's signature on a pledge agreement or АВР."""
    doc = DecisionDocument.objects.select_related("application", "signed_document").get(
        signed_document_id=signing_request.signed_document_id
    )
    history_add(application=doc.application, event="document_signed", actor=signing_request.signer_user,
                comment=f"{doc.title} — {signature.signer_name} ({signature.organization_name})")
    if doc.signed_document.is_fully_signed and doc.state == DecisionDocument.State.TO_SIGN:
        DecisionDocument.objects.filter(pk=doc.pk).update(state=DecisionDocument.State.SIGNED)
        _outbox_enqueue(application=doc.application, kind="signed_document", payload={"document": doc.title},
                        idempotency_key=f"decision-{doc.pk}-signed")


def avr_return(*, document: DecisionDocument, comment: str, actor: User, now=None) -> DecisionDocument:
    """«Отправить на доработку» for an АВР, with a comment that goes to BPMS."""
    now = now or timezone.now()
    if document.kind != DecisionDocument.Kind.AVR or document.state != DecisionDocument.State.TO_SIGN:
        raise ApplicationError(_("Only an unsigned certificate of completed work can be sent for revision."), code="not_avr")
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(_("Write what has to be corrected."), code="comment_required", field="comment")
    with transaction.atomic():
        DecisionDocument.objects.filter(pk=document.pk).update(state=DecisionDocument.State.RETURNED, comment=comment)
        history_add(application=document.application, event="avr_returned", actor=actor, now=now, comment=comment)
        _outbox_enqueue(
            application=document.application, kind="avr_returned", payload={"document": document.title, "comment": comment},
            idempotency_key=f"avr-{document.pk}-returned",
        )
    document.refresh_from_db()
    return document
