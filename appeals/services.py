"""Everything that writes appeals. `appeal_transition` is the only way a status changes.

Calls into the apps built alongside (signing, bpms_bridge) go through the small `_`-functions at
the top, so wiring a changed interface is one edit.
"""

from __future__ import annotations

import base64
import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import pgettext, pgettext_lazy

from audit import chain
from cabinets.models import Contract, Organization
from cabinets.services import notifications_in_bulk, notify_both_languages
from homeportal import workflow
from homeportal.celery import enqueue, enqueue_on_commit
from homeportal.files import stored_first
from homeportal.history import KZHK_ACTOR
from homeportal.i18n import in_both_languages, language_of
from homeportal.links import reverse_for_uuid

from . import transitions
from .models import (
    OFFICIAL_LETTER,
    Appeal,
    AppealCategory,
    AppealFile,
    AppealHistory,
    AppealSignature,
    AppealStatus,
    CategoryDocument,
)
from .selectors import appeal_readiness_errors, appeal_submit_payload, ds_party_of
from .transitions import Actor

logger = logging.getLogger("appeals")

S = AppealStatus

MAX_FILE_BYTES = 700 * 1024 * 1024  # «максимальным размером файла 700 Мб»


# Who may sign an appeal or a ДС for an organization: its head or an employee with signing right.
SIGNING_ROLES = frozenset({"head", "may_sign"})


class AppealError(Exception):
    """A rule the service refused; `field` says where the view shows the message."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class TransitionRefused(AppealError):
    pass


# --- Calls into other apps (one place to change) -------------------------------------------------


def _registration_moment(at: datetime.datetime) -> datetime.datetime:
    """When an appeal sent at `at` counts as registered: the 9:30–19:00 Mon–Fri rule."""
    from bpms_bridge.workcalendar import registration_moment

    return registration_moment(at)


def _outbox_enqueue(*, case_id: str, kind: str, payload: dict, idempotency_key: str) -> None:
    """A message to BPMS Simbase, written in the caller's transaction (sent after commit)."""
    from bpms_bridge.services import outbox_enqueue

    outbox_enqueue(case_kind="appeal", case_id=case_id, kind=kind, payload=payload, idempotency_key=idempotency_key)


def _pdf_render(*, template_name: str, context: dict) -> bytes:
    from signing.services import pdf_render

    return pdf_render(template_name=template_name, context=context)


def _pdf_issue_by_kzhk(*, pdf: bytes, title: str, signers: list[str] | None = None) -> bytes:
    from signing.services import pdf_issue_by_kzhk

    return pdf_issue_by_kzhk(pdf=pdf, title=title, signers=signers)


def _ds_signers(appeal: Appeal) -> list[str]:
    return [f"{s.get_party_display()}: {s.organization_name}, {s.signer_name}".strip(", ")
            for s in appeal.signatures.exclude(party=AppealSignature.Party.APPEAL).order_by("signed_at")]


def _ds_document(appeal: Appeal):
    """The ДС as a multi-party signing.SignedDocument (applicant + developer), if made."""
    from signing.selectors import signed_documents_for_subject

    documents = signed_documents_for_subject(appeal)
    return documents[-1] if documents else None


def _ds_document_create(*, appeal: Appeal, content: bytes, filename: str):
    from signing.services import signed_document_create

    parties = [{"organization": appeal.organization, "allowed_roles": sorted(SIGNING_ROLES)}]
    developer = appeal.contract.developer
    if developer is not None and developer.pk != appeal.organization_id:
        parties.append({"organization": developer, "allowed_roles": sorted(SIGNING_ROLES)})
    title_ru, title_kk = in_both_languages(lambda: pgettext("appeals", "Supplementary agreement to contract %(number)s") % {
        "number": appeal.contract.number})
    return signed_document_create(subject=appeal, document=content, filename=filename, title_ru=title_ru,
                                  title_kk=title_kk, parties=parties)


def _ds_issue_signed(appeal: Appeal, *, title) -> bytes:
    """KZhK's signature on the ДС: the PDF with the parties' PAdES signatures (signing's
    multi-party document) PAdES-signed by KZhK with a stamp listing the signers."""
    from signing.services import signed_document_issue_pdf

    document = _ds_document(appeal)
    if document is not None and document.is_fully_signed:
        return signed_document_issue_pdf(document=document)
    return _pdf_issue_by_kzhk(pdf=_read(appeal.ds_file), title=title, signers=_ds_signers(appeal))


def _signing_request_create(**kwargs):
    from signing.services import signing_request_create

    return signing_request_create(**kwargs)


# --- Drafts ----------------------------------------------------------------------------------------


def category_other_ensure() -> AppealCategory:
    """«Иное» is always offered, whatever staff did to the list."""
    category, _created = AppealCategory.objects.get_or_create(
        code="other",
        defaults={"name_ru": "Иное", "name_kk": "Басқа", "is_other": True, "asks_values": False,
                  "asks_justification": False, "sort_order": 10_000},
    )
    if not category.is_active or not category.is_other:
        category.is_active = True
        category.is_other = True
        category.save(update_fields=["is_active", "is_other"])
    return category


def appeal_create(*, organization: Organization, user, contract: Contract, category: AppealCategory,
                  now: datetime.datetime | None = None) -> Appeal:
    if contract.organization_id != organization.pk or not contract.is_active:
        raise AppealError(pgettext("appeals", "Choose one of your active contracts."), field="contract")
    if not category.is_active or (category.contract_kind and category.contract_kind != contract.kind):
        raise AppealError(pgettext("appeals", "This category is not available for the contract type."), field="category")
    now = now or timezone.now()
    with transaction.atomic():
        appeal = Appeal.objects.create(
            organization=organization, contract=contract, kind=contract.kind, category=category,
            created_by=user, created_at=now, updated_at=now,
        )
        AppealHistory.objects.create(
            appeal=appeal, event=AppealHistory.Event.CREATED, status=S.DRAFT, actor=user,
            actor_name=_actor_name(user), created_at=now,
        )
    return appeal


EDITABLE_FIELDS = ("change_subject", "value_from", "value_to", "justification", "other_text")


def _require_action(appeal: Appeal, action: str) -> None:
    if not transitions.user_can(appeal.status, action):
        raise AppealError(pgettext("appeals", "This cannot be done in the current status of the application."), code="status")


def appeal_update(*, appeal: Appeal, user, data: dict) -> Appeal:
    """Saves the applicant's fields (a draft, or an appeal being revised)."""
    now = timezone.now()
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        _require_action(appeal, transitions.EDIT)
        changed = []
        for name in EDITABLE_FIELDS:
            if name in data and getattr(appeal, name) != (data[name] or ""):
                setattr(appeal, name, data[name] or "")
                changed.append(name)
        appeal.updated_at = now
        appeal.save(update_fields=[*changed, "updated_at"])
        if changed:
            AppealHistory.objects.create(
                appeal=appeal, event=AppealHistory.Event.SAVED, status=appeal.status, actor=user,
                actor_name=_actor_name(user), created_at=now,
            )
    return appeal


def appeal_delete(*, appeal: Appeal) -> None:
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        _require_action(appeal, transitions.DELETE)
        names = [f.file.name for f in appeal.files.all()]
        storage = AppealFile._meta.get_field("file").storage
        chain.purge(appeal.history.all(), reason="draft deleted")
        appeal.files.all().delete()
        appeal.delete()
        transaction.on_commit(lambda: [storage.delete(n) for n in names])


def _document_for_slot(appeal: Appeal, slot: str) -> CategoryDocument | None:
    if slot == OFFICIAL_LETTER:
        return None
    doc = CategoryDocument.objects.filter(pk=slot if slot.isdigit() else 0, category_id=appeal.category_id).first()
    if doc is None:
        raise AppealError(pgettext("appeals", "Unknown document."), field="file")
    return doc


def appeal_file_add(*, appeal: Appeal, slot: str, uploaded_file, content_type: str) -> AppealFile:
    """Stores one uploaded file for a slot. The row and the stored file go together: if the row
    cannot be written, the stored file is removed."""
    _require_action(appeal, transitions.EDIT)
    document = _document_for_slot(appeal, slot)
    name = (getattr(uploaded_file, "name", "") or "file")[-255:]
    appeal_file = AppealFile(
        appeal=appeal, document=document, original_name=name, size=uploaded_file.size, content_type=content_type,
    )
    appeal_file.file.save(name, uploaded_file, save=False)
    try:
        with transaction.atomic():
            locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
            _require_action(locked, transitions.EDIT)
            appeal_file.save()
    except BaseException:
        appeal_file.file.delete(save=False)
        raise
    return appeal_file


def claim_upload(slot, upload) -> AppealFile:
    """A finished resumable upload (uploads.services) becomes a file of its slot: the bytes are
    already stored under `upload.storage_name`; the row is written inside the caller's
    transaction, with the appeal locked and still editable."""
    appeal = Appeal.objects.select_for_update().get(pk=slot.owner.pk)
    _require_action(appeal, transitions.EDIT)
    return AppealFile.objects.create(
        appeal=appeal, document=_document_for_slot(appeal, slot.key), file=upload.storage_name,
        original_name=upload.filename, size=upload.length, content_type=upload.content_type, sha256=upload.sha256,
    )


def appeal_file_delete(*, appeal_file: AppealFile) -> None:
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(pk=appeal_file.appeal_id)
        _require_action(appeal, transitions.EDIT)
        name = appeal_file.file.name
        storage = appeal_file.file.storage
        appeal_file.delete()
        transaction.on_commit(lambda: storage.delete(name))


# --- Signing the appeal ------------------------------------------------------------------------------


def appeal_sign_start(*, appeal: Appeal, user, consent: bool):
    """After the consent check-box: a signing request for the appeal's PDF (ЭЦП or QR)."""
    _require_action(appeal, transitions.SIGN)
    if not consent:
        raise AppealError(pgettext("appeals", "Confirm that you agree with the conditions and terms of review."), field="consent")
    errors = appeal_readiness_errors(appeal)
    if errors:
        raise AppealError(pgettext("appeals", "Fill in the required fields and upload the required documents."), field=None,
                          code="incomplete")
    pdf = appeal_pdf(appeal=appeal, language=language_of(user))
    title_ru, title_kk = in_both_languages(lambda: pgettext("appeals", "Appeal to JSC «KZhK» on contract %(number)s") % {
        "number": appeal.contract.number})
    return _signing_request_create(
        subject=appeal, document=pdf, filename=f"appeal-{appeal.public_id}.pdf", title_ru=title_ru, title_kk=title_kk,
        purpose="sign", organization=appeal.organization, required_bin=appeal.organization.bin,
        allowed_roles=set(SIGNING_ROLES),
        on_complete="appeals:appeal_signed", return_url=reverse("appeals:list"),
        signer_user=user,
    )


def appeal_pdf(*, appeal: Appeal, language: str = "ru") -> bytes:
    """The appeal as the applicant signs it, in the signer's language (the applicant's own
    statement: a Kazakh-speaking applicant files it in Kazakh; docs/accessibility.md)."""
    from . import selectors

    with translation.override(language):
        context = {"appeal": appeal, "files": list(appeal.files.select_related("document")),
                   "fields": selectors.appeal_field_rows(appeal)}
        return _pdf_render(template_name="appeals/pdf/appeal.html", context=context)


def appeal_signing_completed(signing_request, signature) -> Appeal:
    """signing's on_complete for the appeal: records the signature and sends the appeal."""
    appeal = signing_request.subject
    return appeal_signed(appeal=appeal, signer=_signer_of(signature), user=getattr(signing_request, "signer_user", None))


@dataclass(frozen=True)
class Signer:
    full_name: str = ""
    iin: str = ""
    bin: str = ""
    organization_name: str = ""
    serial_number: str = ""
    signature: object = None  # the signing.Signature, when the signature was made in the portal


def _signer_of(signature) -> Signer:
    info = getattr(signature, "certificate_info", None) or signature
    return Signer(
        full_name=getattr(info, "full_name", "") or getattr(signature, "signer_name", "") or "",
        iin=getattr(info, "iin", "") or getattr(signature, "signer_iin", "") or "",
        bin=getattr(info, "bin", "") or getattr(signature, "signer_bin", "") or "",
        organization_name=getattr(info, "organization_name", "") or "",
        serial_number=str(getattr(info, "serial_number", "") or getattr(signature, "certificate_serial", "") or ""),
        signature=signature if getattr(signature, "_meta", None) and signature._meta.label == "signing.Signature" else None,
    )


def appeal_signed(*, appeal: Appeal, signer: Signer, user=None, now: datetime.datetime | None = None) -> Appeal:
    now = now or timezone.now()
    with transaction.atomic():
        locked = Appeal.objects.select_for_update().get(pk=appeal.pk)
        round_no = locked.signatures.filter(party=AppealSignature.Party.APPEAL).count() + 1
        AppealSignature.objects.create(
            appeal=locked, party=AppealSignature.Party.APPEAL, round=round_no,
            organization_name=signer.organization_name or locked.organization.name_ru, bin=signer.bin,
            signer_name=signer.full_name, signature=signer.signature, signed_at=now,
        )
        AppealHistory.objects.create(
            appeal=locked, event=AppealHistory.Event.SIGNED, status=locked.status, actor=user,
            actor_name=signer.full_name or _actor_name(user), payload={"signer_iin": signer.iin}, created_at=now,
            signature=signer.signature,
        )
        return appeal_transition(locked, to=S.SENT, actor=Actor.APPLICANT, actor_user=user,
                                 actor_name=signer.full_name, now=now)


# --- The transition function -------------------------------------------------------------------------


def _actor_name(user) -> str:
    if user is None:
        return ""
    return getattr(user, "full_name", "") or getattr(user, "username", "")


def _as_date(value) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    parsed = parse_date(str(value)) or (parse_datetime(str(value)).date() if parse_datetime(str(value)) else None)
    if parsed is None:
        raise TransitionRefused(f"not a date: {value!r}", code="payload")
    return parsed


def _as_datetime(value) -> datetime.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise TransitionRefused(f"not a datetime: {value!r}", code="payload")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


Document = workflow.Document


def _as_document(value) -> Document | None:
    if not value:
        return None
    if isinstance(value, Document | workflow.StoredDocument):
        return value
    if isinstance(value, Mapping):
        data = value.get("data")
        if data is None and value.get("data_b64"):
            data = base64.b64decode(value["data_b64"])
        return Document(name=value.get("name") or "document.pdf", content=data or b"",
                        content_type=value.get("content_type") or "application/pdf",
                        stored_name=str(value.get("stored_name") or ""))
    raise TransitionRefused("document must be a Document or a dict", code="payload")


def _refused_message(source: str, target: str) -> str:
    return pgettext("appeals", "The application cannot move from «%(source)s» to «%(target)s».") % {
        "source": source, "target": target}


def _missing_message(fields: list[str]) -> str:
    return pgettext("appeals", "Data missing for the new status: %(fields)s") % {"fields": ", ".join(fields)}


def _default_actor_name(actor: str) -> str:
    if actor in (Actor.BPMS, Actor.STAFF):
        return KZHK_ACTOR
    return ""


# --- What entering each status does (one hook per target) --------------------------------------


def _enter_sent(step: workflow.Step) -> None:
    step.set(sent_at=step.now)


def _enter_registered(step: workflow.Step) -> None:
    appeal, payload = step.obj, step.payload
    registered_at = _as_datetime(payload.get("registered_at")) or _registration_moment(appeal.sent_at or step.now)
    step.set(registration_number=str(payload["registration_number"])[:100], registered_at=registered_at,
             review_deadline=_as_date(payload.get("review_deadline")))
    step.note(registered_at=registered_at)


def _enter_in_review(step: workflow.Step) -> None:
    step.set(executor_name=str(step.payload["executor_name"])[:300],
             internal_number=str(step.payload["internal_number"])[:100])


def _enter_revision(step: workflow.Step) -> None:
    step.set(revision_deadline=_as_date(step.payload.get("revision_deadline")))


def _enter_ds_applicant_signing(step: workflow.Step) -> None:
    appeal = step.obj
    appeal.ds_file.name = step.document.path  # the stored ДС, also the history step's document
    step.set(ds_file=appeal.ds_file)
    _ds_document_create(appeal=appeal, content=_document_bytes(step), filename=f"ds-{appeal.public_id}.pdf")


def _enter_ds_signed(step: workflow.Step) -> None:
    appeal = step.obj
    step.set(ds_number=str(step.payload["ds_number"])[:100], ds_date=_as_date(step.payload["ds_date"]))
    if step.document is not None:
        appeal.ds_signed_file.name = step.document.path
        step.set(ds_signed_file=appeal.ds_signed_file)
    elif appeal.ds_file:
        from .tasks import ds_signed_issue

        enqueue_on_commit(ds_signed_issue, (appeal.pk,))  # KZhK's issue of the ДС, on the worker
    AppealSignature.objects.get_or_create(
        appeal=appeal, party=AppealSignature.Party.DS_KZHK, round=1,
        defaults={"organization_name": "АО «Казахстанская Жилищная Компания»", "signer_name": step.actor_name,
                  "signed_at": step.now},
    )


def _every_move(step: workflow.Step) -> None:
    if "seq" in step.payload:  # the BPMS event that made the move
        step.set(last_bpms_seq=int(step.payload["seq"]))


def _record(step: workflow.Step) -> AppealHistory:
    entry = AppealHistory(
        appeal=step.obj, event=AppealHistory.Event.STATUS, status=step.target, from_status=step.source,
        actor=step.user, actor_name=step.actor_name, payload=step.history_payload, comment=step.comment,
        created_at=step.now,
    )
    if step.document is not None:
        entry.attach(name=step.document.name, path=step.document.path, sha256=step.document.sha256)
    return entry  # saved by the workflow (one INSERT for a batch)


def _document_bytes(step: workflow.Step) -> bytes:
    document = step.payload.get("document")
    if isinstance(document, Document):
        return document.content
    with AppealHistory(appeal=step.obj).document.storage.open(step.document.path, "rb") as fh:
        return fh.read()


def _after_transition(step: workflow.Step) -> None:
    """Side effects: BPMS outbox rows in the same transaction, notifications once it commits."""
    appeal, source, target = step.obj, step.source, step.target
    case_id = str(appeal.public_id)
    if target == S.SENT:
        # The first signature creates the BPMS case; after a revision the case is resubmitted.
        round_no = appeal.signatures.filter(party=AppealSignature.Party.APPEAL).count()
        kind = "submit" if source == S.DRAFT else "resubmit"
        _outbox_enqueue(case_id=case_id, kind=kind, payload=appeal_submit_payload(appeal),
                        idempotency_key=f"appeal:{case_id}:{kind}:{round_no}")
    elif target == S.DS_KZHK_SIGNING:
        _outbox_enqueue(case_id=case_id, kind="signed_ds", payload={"case_id": case_id},
                        idempotency_key=f"appeal:{case_id}:signed_ds")
    status_label = S(target).label
    number = appeal.contract.number
    notify_both_languages(
        organization=appeal.organization, link=reverse_for_uuid("appeals:history", appeal.public_id),
        title=lambda: pgettext("appeals", "Appeal on contract %(number)s: %(status)s") % {
            "number": number, "status": status_label},
        body=lambda: pgettext("appeals", "The status of your appeal has changed to «%(status)s».") % {
            "status": status_label})
    developer = appeal.contract.developer
    if developer is not None and developer.pk != appeal.organization_id and target in (S.DS_APPLICANT_SIGNING, S.DS_SIGNED):
        # The contract's developer is a party to the ДС: it learns when to sign and when it is signed.
        if target == S.DS_APPLICANT_SIGNING:
            def dev_title():
                return pgettext("appeals", "A supplementary agreement to contract %(number)s awaits your signature") % {
                    "number": number}
        else:
            def dev_title():
                return pgettext("appeals", "Appeal on contract %(number)s: %(status)s") % {
                    "number": number, "status": status_label}
        notify_both_languages(organization=developer, title=dev_title, body=dev_title,
                              link=reverse_for_uuid("appeals:ds", appeal.public_id))


WORKFLOW = workflow.Workflow(
    name="appeal", model=Appeal, transitions=transitions.TRANSITIONS, labels=S, error=TransitionRefused,
    refused_message=_refused_message, missing_message=_missing_message, select_related=("organization", "contract"),
    actor_label=lambda actor, user, appeal: workflow.user_name(user) or _default_actor_name(actor), on_every=_every_move, after=_after_transition, history=_record,
    history_document_field=lambda appeal: AppealHistory(appeal=appeal).document,
    on_enter={
        S.SENT: _enter_sent, S.REGISTERED: _enter_registered, S.IN_REVIEW: _enter_in_review,
        S.REVISION: _enter_revision, S.DS_APPLICANT_SIGNING: _enter_ds_applicant_signing, S.DS_SIGNED: _enter_ds_signed,
    },
)


def appeal_transition(
    appeal: Appeal, *, to: str, actor: str, payload: dict | None = None, actor_user=None, actor_name: str = "",
    now: datetime.datetime | None = None,
) -> Appeal:
    """Moves an appeal along the transition table, or refuses (and logs) the move."""
    payload = dict(payload or {})
    if payload.get("document") is not None:
        payload["document"] = _as_document(payload["document"])
    return WORKFLOW.transition(appeal, to=to, actor=actor, payload=payload, user=actor_user, actor_name=actor_name,
                               now=now)


def kzhk_document_pdf(*, appeal: Appeal, title, lines: list) -> bytes:
    """A KZhK document for an appeal (notification, ДС draft), PAdES-signed with KZhK's key:
    used by the demo and by the BPMS mock's stand-in documents. One document for all parties,
    so Kazakh and Russian side by side: `title` and `lines` are lazy (gettext) strings."""
    pdf = kzhk_document_render(appeal=appeal, title=title, lines=lines)
    return _pdf_issue_by_kzhk(pdf=pdf, title=title)


def kzhk_document_render(*, appeal: Appeal, title, lines: list) -> bytes:
    """The unsigned bilingual PDF of kzhk_document_pdf (the ДС draft is signed by the parties first)."""
    return _pdf_render(template_name="appeals/pdf/document.html", context={
        "title": title, "organization": appeal.organization.name_ru, "organization_kk": appeal.organization.name_kk,
        "bin": appeal.organization.bin,
        "contract_number": appeal.contract.number, "contract_date": appeal.contract.signed_on, "lines": lines,
    })


# --- BPMS status feed ------------------------------------------------------------------------------------


def appeal_apply_bpms_event(*, case_id: str, event: dict) -> Appeal | None:
    """Applies one BPMS Simbase event idempotently (`appeal_apply_bpms_events` for one event): a
    repeated or older event (by seq or by the status order) changes nothing; a move the table
    refuses raises TransitionRefused."""
    appeal = Appeal.objects.filter(public_id=case_id).first() if _is_uuid(case_id) else None
    if appeal is None:
        logger.warning("BPMS event for unknown appeal %s ignored", case_id)
        return None
    _apply_bpms_event(appeal, event, move=_move_one)  # the workflow opens its transaction after storage I/O
    appeal.refresh_from_db()
    return appeal


def appeal_apply_bpms_events(*, items: list[tuple[str, dict]]) -> list[str]:
    """bpms_bridge's apply step for a chunk of events (in feed order; it holds the transaction):
    the appeals are locked in one query and moved by `WORKFLOW.batch()` — the same checks and
    hooks as one `appeal_transition` each, the rows written set-wise, the notifications in one
    INSERT. One answer per event: "" applied (or nothing to do), else the refusal. One event alone
    goes through `appeal_transition` (a document not yet in storage is written there)."""
    if len(items) == 1:
        case_id, event = items[0]
        try:
            appeal_apply_bpms_event(case_id=case_id, event=event)
        except TransitionRefused as exc:
            return [exc.message]
        return [""]
    ids = {case_id for case_id, _event in items if _is_uuid(case_id)}
    appeals = {str(a.public_id): a for a in Appeal.objects.select_for_update(of=("self",)).select_related(
        "organization", "contract", "contract__developer").filter(public_id__in=ids).order_by("pk")}
    batch = WORKFLOW.batch()
    answers = []
    with notifications_in_bulk():
        for case_id, event in items:
            appeal = appeals.get(case_id)
            if appeal is None:
                logger.warning("BPMS event for unknown appeal %s ignored", case_id)
                answers.append("")
                continue
            try:
                _apply_bpms_event(appeal, event, move=batch.move)
            except TransitionRefused as exc:
                answers.append(exc.message)
            else:
                answers.append("")
        batch.flush()
    return answers


def _move_one(appeal: Appeal, **kwargs) -> Appeal:
    return WORKFLOW.transition(appeal, **kwargs)


def _apply_bpms_event(appeal: Appeal, event, *, move) -> None:
    """What one BPMS event does to an appeal; `move` makes the workflow move (one transition, or
    a batch's). A refusal raises before anything changed."""
    seq = int(event.get("seq") or 0)
    target = event.get("status")
    if seq and seq <= appeal.last_bpms_seq:
        return
    if target == appeal.status or target not in S.values:
        return
    if transitions.ORDER.index(target) < transitions.ORDER.index(appeal.status):
        logger.warning("appeal %s: BPMS event %s -> %s would go backwards, ignored", appeal.public_id, appeal.status,
                       target)
        return
    raw_payload = dict(event.get("payload") or {})
    raw_payload.pop(PREPARED_DS_KEY, None)  # an older prepare step's key (the worker issues the ДС now)
    occurred_at = _as_datetime(event.get("occurred_at")) or timezone.now()
    payload = _bpms_payload(raw_payload, target=target, occurred_at=occurred_at)
    documents = event.get("documents") or []
    if documents and "document" not in payload:
        payload["document"] = _as_document(documents[0])
    if seq:
        payload["seq"] = seq
    document = payload.get("document")
    if target == S.DS_SIGNED and appeal.ds_file:
        # The signed ДС the portal offers is KZhK's PAdES issue of the very PDF the parties signed:
        # made on the worker once this commits (appeal_ds_signed_issue), never in the apply step.
        payload.pop("document", None)
    elif target in (S.REVISION, S.REJECTED) and document and b"/ByteRange" not in document.content:
        # An official notification must be verifiable: an unsigned one is issued under KZhK's key
        # (normally done in the prepare step, before the transaction).
        payload["document"] = Document(name=document.name,
                                       content=_pdf_issue_by_kzhk(pdf=document.content, title=NOTICE_TITLE))
    # A move the table refuses raises: bpms_bridge records the event as failed for the admin.
    move(appeal, to=target, actor=Actor.BPMS, payload=payload, now=occurred_at)


def appeal_ds_signed_issue(*, appeal_id: int) -> Appeal | None:
    """KZhK's PAdES issue of the ДС the parties signed, on the worker once «ДС подписано»
    committed (task appeals.ds_signed_issue, and the sweeper): rendered and signed outside any
    transaction, then the appeal points at it and the history offers it («Скачать»). Idempotent."""
    appeal = Appeal.objects.select_related("organization", "contract").filter(pk=appeal_id).first()
    if appeal is None or appeal.status != S.DS_SIGNED or appeal.ds_signed_file or not appeal.ds_file:
        return appeal
    name = f"ДС-{appeal.ds_number}.pdf"
    content = _ds_issue_signed(appeal, title=DS_TITLE)
    stored = stored_first(Appeal, "ds_signed_file", name, content, instance=appeal)
    with transaction.atomic():
        locked = Appeal.objects.select_for_update().get(pk=appeal_id)
        if locked.ds_signed_file:  # another worker was first
            transaction.on_commit(lambda: locked.ds_signed_file.storage.delete(stored))
            return locked
        locked.ds_signed_file.name = stored
        locked.save(update_fields=["ds_signed_file"])
        entry = AppealHistory(appeal=locked, event=AppealHistory.Event.DOCUMENT_ISSUED, status=locked.status,
                              actor_name=KZHK_ACTOR, comment=name)
        entry.attach(name=name, path=stored, content=content)
        entry.save()
    return locked


def appeal_documents_issue_pending(*, limit: int = 100) -> int:
    """The sweeper (beat): signed ДС not issued yet — the task was lost (broker down at commit)."""
    ids = list(Appeal.objects.filter(status=S.DS_SIGNED, ds_signed_file="").exclude(ds_file="")
               .order_by("pk").values_list("pk", flat=True)[:limit])
    for appeal_id in ids:
        appeal_ds_signed_issue(appeal_id=appeal_id)
    return len(ids)


DS_TITLE = pgettext_lazy("appeals", "SA")  # «ДС» / «ҚК»: the stamp shows both
PREPARED_DS_KEY = "_kzhk_issued_ds_stored"  # the stored name of KZhK's issue of the ДС
NOTICE_TITLE = pgettext_lazy("appeals", "Notice of JSC «KZhK»")  # the stamp shows it in ru and kk


def appeal_prepare_bpms_event(*, case_id: str, event: dict) -> dict:
    """bpms_bridge's prepare step, run before its transaction: KZhK's PAdES signature on an
    unsigned official notice (revision, rejection) that BPMS sent, so that no transaction is held
    while signing. appeal_apply_bpms_event then stores what this made. (The signed ДС is issued
    on the worker: appeal_ds_signed_issue.)"""
    target = event.get("status")
    if target not in (S.REVISION, S.REJECTED) or not event.get("documents"):
        return event  # nothing to sign (most events): no read either
    appeal = Appeal.objects.filter(public_id=case_id).first() if _is_uuid(case_id) else None
    if appeal is None:
        return event
    documents = list(event.get("documents") or [])
    payload = dict(event.get("payload") or {})
    if target in (S.REVISION, S.REJECTED) and documents and "document" not in payload:
        notice = _as_document(documents[0])
        if notice and notice.content and b"/ByteRange" not in notice.content:
            signed = _pdf_issue_by_kzhk(pdf=notice.content, title=NOTICE_TITLE)
            documents[0] = {k: v for k, v in documents[0].items() if k != "data"} | {
                "data_b64": base64.b64encode(signed).decode()}
    return {**event, "documents": documents, "payload": payload}


def _bpms_payload(payload: dict, *, target: str, occurred_at: datetime.datetime) -> dict:
    """BPMS Simbase's names for the data each status carries → the portal's."""
    aliases = {"deadline": "review_deadline" if target == S.REGISTERED else "revision_deadline",
               "executor_number": "internal_number"}
    for theirs, ours in aliases.items():
        if theirs in payload and not payload.get(ours):
            payload[ours] = payload[theirs]
        payload.pop(theirs, None)
    if target == S.DS_SIGNED and not payload.get("ds_date"):
        payload["ds_date"] = timezone.localdate(occurred_at)
    payload.pop("final", None)
    payload.pop("category", None)
    return payload


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _read(fieldfile) -> bytes:
    with fieldfile.open("rb") as fh:
        return fh.read()


# --- ДС signing ----------------------------------------------------------------------------------------------


def appeal_ds_sign_start(*, appeal: Appeal, organization: Organization, user):
    party = ds_party_of(appeal, organization)
    if appeal.status != S.DS_APPLICANT_SIGNING or party is None or not appeal.ds_file:
        raise AppealError(pgettext("appeals", "The supplementary agreement cannot be signed now."), code="status")
    if appeal.signatures.filter(party=party).exists():
        raise AppealError(pgettext("appeals", "You have already signed the supplementary agreement."), code="status")
    title_ru, title_kk = in_both_languages(lambda: pgettext("appeals", "Supplementary agreement to contract %(number)s") % {
        "number": appeal.contract.number})
    document = _ds_document(appeal)
    return _signing_request_create(
        subject=appeal, signed_document=document, document=bytes(document.document) if document else _read(appeal.ds_file),
        filename=f"ds-{appeal.public_id}.pdf", title_ru=title_ru,
        title_kk=title_kk, purpose="sign", organization=organization, required_bin=organization.bin,
        allowed_roles=set(SIGNING_ROLES), on_complete="appeals:ds_signed",
        return_url=reverse("appeals:ds", args=[appeal.public_id]), signer_user=user,
    )


def appeal_ds_signing_completed(signing_request, signature) -> Appeal:
    appeal = signing_request.subject
    organization = signing_request.organization
    return appeal_ds_signed(appeal=appeal, organization=organization, signer=_signer_of(signature),
                            user=getattr(signing_request, "signer_user", None))


def appeal_ds_signed(*, appeal: Appeal, organization: Organization, signer: Signer, user=None,
                     now: datetime.datetime | None = None) -> Appeal:
    """One party (applicant or developer) signed the ДС; when both have, it goes to KZhK."""
    now = now or timezone.now()
    with transaction.atomic():
        appeal = Appeal.objects.select_for_update().select_related("contract").get(pk=appeal.pk)
        party = ds_party_of(appeal, organization)
        if appeal.status != S.DS_APPLICANT_SIGNING or party is None:
            logger.warning("appeal %s: ДС signature by %s refused in %s", appeal.public_id, organization.bin, appeal.status)
            raise TransitionRefused(pgettext("appeals", "The supplementary agreement cannot be signed now."), code="status")
        if appeal.signatures.filter(party=party).exists():
            return appeal
        AppealSignature.objects.create(
            appeal=appeal, party=party, organization_name=signer.organization_name or organization.name_ru,
            bin=signer.bin or organization.bin, signer_name=signer.full_name, signature=signer.signature, signed_at=now,
        )
        AppealHistory.objects.create(
            appeal=appeal, event=AppealHistory.Event.DS_SIGNED_BY_PARTY, status=appeal.status, actor=user,
            actor_name=signer.full_name or _actor_name(user),
            payload={"party": party, "organization": organization.name_ru}, created_at=now, signature=signer.signature,
        )
        parties = set(appeal.signatures.values_list("party", flat=True))
        needed = {AppealSignature.Party.DS_APPLICANT}
        if appeal.contract.developer_id and appeal.contract.developer_id != appeal.organization_id:
            needed.add(AppealSignature.Party.DS_DEVELOPER)
        if needed <= parties:
            appeal = appeal_transition(appeal, to=S.DS_KZHK_SIGNING, actor=Actor.SYSTEM, now=now)
    return appeal


def appeal_ds_sign_by_kzhk_request(*, appeal: Appeal, user, ds_number: str, ds_date: datetime.date) -> None:
    """KZhK's signature asked for in the admin: the ДС is issued on the worker (task
    appeals.ds_sign_by_kzhk → `appeal_ds_sign_by_kzhk`), never in the moderator's request; the
    status changes when the document is made. Refused at once if the ДС cannot be signed now, or
    if the task cannot be queued (the broker is down: nothing would make the document)."""
    _require_kzhk_signable(appeal)
    from .tasks import ds_sign_by_kzhk

    if not enqueue(ds_sign_by_kzhk, (appeal.pk, getattr(user, "pk", None), str(ds_number), ds_date.isoformat())):
        raise AppealError(pgettext("appeals", "The document cannot be queued now; try again in a minute."),
                          code="queue")


def appeal_ds_sign_by_kzhk_run(*, appeal_id: int, user_id: int | None, ds_number: str, ds_date: str) -> Appeal | None:
    """The worker's half of `appeal_ds_sign_by_kzhk_request`. Idempotent: an appeal already past
    «Подписание ДС АО «КЖК»» (a repeated or redelivered task) is left as it is."""
    from django.contrib.auth import get_user_model

    appeal = Appeal.objects.select_related("organization", "contract").filter(pk=appeal_id).first()
    if appeal is None or appeal.status != S.DS_KZHK_SIGNING:
        return appeal
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    try:
        return appeal_ds_sign_by_kzhk(appeal=appeal, user=user, ds_number=ds_number, ds_date=parse_date(ds_date))
    except TransitionRefused as exc:  # another run was first (or the status moved meanwhile)
        logger.info("appeal %s: KZhK's signature of the ДС not made: %s", appeal.public_id, exc.message)
        return Appeal.objects.filter(pk=appeal_id).first()


def _require_kzhk_signable(appeal: Appeal) -> None:
    if appeal.status != S.DS_KZHK_SIGNING or not appeal.ds_file:
        raise TransitionRefused(pgettext("appeals", "The supplementary agreement cannot be signed now."), code="status")


def appeal_ds_sign_by_kzhk(*, appeal: Appeal, user, ds_number: str, ds_date: datetime.date) -> Appeal:
    """KZhK's signature (on the worker: `appeal_ds_sign_by_kzhk_run`): the ДС is issued as a PAdES
    PDF with KZhK's stamp and the appeal becomes «ДС подписано». The PDF is signed before the
    transaction opens."""
    _require_kzhk_signable(appeal)
    with translation.override("ru"):
        signed = _ds_issue_signed(
            appeal, title=lambda: pgettext("appeals", "SA %(number)s") % {"number": ds_number})
    now = timezone.now()
    return appeal_transition(
        appeal, to=S.DS_SIGNED, actor=Actor.STAFF, actor_user=user, now=now,
        payload={"ds_number": ds_number, "ds_date": ds_date,
                 "document": Document(name=f"ДС-{ds_number}.pdf", content=signed)},
    )
