"""Reads of appeals. Every read is scoped to an organization: another organization's appeal,
file or ДС is simply not found (the views answer 404)."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import pgettext

from cabinets.models import Contract, Organization
from homeportal.pagination import UnionOfParts

from . import transitions
from .models import OFFICIAL_LETTER, Appeal, AppealCategory, AppealFile, AppealHistory, AppealSignature


def _visible_parts(organization: Organization) -> list[Q]:
    """The organization's own appeals, plus — for a developer — appeals on contracts where it is
    the developer, once the ДС is being signed (disjoint)."""
    own = Q(organization=organization)
    return [own, Q(contract__developer=organization, status__in=transitions.DEVELOPER_VISIBLE) & ~own]


def appeals_visible_to(*, organization: Organization) -> QuerySet[Appeal]:
    own, developer = _visible_parts(organization)
    return Appeal.objects.filter(own | developer)


def appeal_list(*, organization: Organization, status: str = "", query: str = "") -> UnionOfParts:
    """«Мои обращения»: the two parts of `appeals_visible_to`, each read along its own index (see
    homeportal.pagination), filtered by status and a search text."""
    notice = (AppealHistory.objects.filter(appeal=OuterRef("pk"), status__in=transitions.NOTICE_STATUSES)
              .exclude(document="").order_by("-created_at", "-pk").values("pk")[:1])
    qs = Appeal.objects.select_related("contract", "category").annotate(notice_step_id=Subquery(notice))
    if status:
        qs = qs.filter(status=status)
    query = (query or "").strip()
    if query:
        qs = qs.filter(
            Q(registration_number__icontains=query)
            | Q(contract__number__icontains=query)
            | Q(category__name_ru__icontains=query)
            | Q(category__name_kk__icontains=query)
        )
    return UnionOfParts(qs.order_by("-created_at", "-pk"), _visible_parts(organization))


def appeal_get(*, organization: Organization, public_id) -> Appeal:
    """The organization's own appeal (for editing, signing, files) or 404."""
    appeal = (
        Appeal.objects.select_related("contract", "contract__developer", "category", "organization")
        .filter(organization=organization, public_id=public_id)
        .first()
    )
    if appeal is None:
        raise Http404
    return appeal


def appeal_get_visible(*, organization: Organization, public_id) -> Appeal:
    """An appeal the organization may look at (its own, or as the contract's developer during
    ДС signing) or 404."""
    appeal = (
        appeals_visible_to(organization=organization)
        .select_related("contract", "contract__developer", "category", "organization")
        .filter(public_id=public_id)
        .first()
    )
    if appeal is None:
        raise Http404
    return appeal


def appeal_file_get(*, appeal: Appeal, file_id: int) -> AppealFile:
    appeal_file = AppealFile.objects.filter(appeal=appeal, pk=file_id).first()
    if appeal_file is None:
        raise Http404
    return appeal_file


def appeal_files_by_slot(appeal: Appeal) -> dict[str, list[AppealFile]]:
    out: dict[str, list[AppealFile]] = {}
    for f in appeal.files.all():
        out.setdefault(f.slot, []).append(f)
    return out


def appeal_history(*, appeal: Appeal) -> QuerySet[AppealHistory]:
    # No joins: the page shows `actor_name`, and each step's appeal is this one (the related manager's).
    return appeal.history.order_by("created_at", "pk")


def history_step_get(*, appeal: Appeal, step_id: int) -> AppealHistory:
    step = AppealHistory.objects.filter(appeal=appeal, pk=step_id).exclude(document="").first()
    if step is None:
        raise Http404
    return step


def ds_signature_rows(*, appeal: Appeal) -> list[AppealSignature]:
    """The ДС's «Сведения о подписи» rows; `organization_shown` is the party's name in the
    reader's language where the portal knows it (the rows keep the name as signed)."""
    rows = list(appeal.signatures.exclude(party=AppealSignature.Party.APPEAL).order_by("signed_at", "pk"))
    known = {org.bin: org for org in (appeal.organization, appeal.contract.developer) if org is not None}
    for row in rows:
        org = known.get(row.bin)
        if row.party == AppealSignature.Party.DS_KZHK:
            row.organization_shown = row.get_party_display()
        elif org is not None and org.name_kk:
            row.organization_shown = org.name
        else:
            row.organization_shown = row.organization_name
    return rows


def contracts_for_appeal(*, organization: Organization, kind: str) -> QuerySet[Contract]:
    from cabinets.selectors import contracts_of

    return contracts_of(organization=organization, kind=kind)


def categories_for(*, kind: str) -> QuerySet[AppealCategory]:
    return AppealCategory.objects.filter(is_active=True).filter(Q(contract_kind=kind) | Q(contract_kind="")).prefetch_related(
        Prefetch("documents")
    )


def appeal_field_rows(appeal: Appeal) -> list[tuple[str, str]]:
    """The applicant's answers as (label, value) rows, for the PDF and the history page."""
    rows = []
    if appeal.category.is_other:
        rows.append((pgettext("appeals", "Text of the appeal"), appeal.other_text))
    else:
        rows.append((pgettext("appeals", "What is to be changed"), appeal.change_subject))
        if appeal.category.asks_values:
            rows.append((pgettext("appeals", "Current value"), appeal.value_from))
            rows.append((pgettext("appeals", "New value"), appeal.value_to))
        if appeal.category.asks_justification:
            rows.append((pgettext("appeals", "Justification"), appeal.justification))
    return rows


def ds_signature_table(*, appeal: Appeal) -> list[dict] | None:
    """«Сведения о подписи» of the ДС: signing's rows for the applicant and the developer (signed or
    awaited, with a link to each CMS), then KZhK's. None when the ДС is not a signing document."""
    from signing.selectors import (
        STATUS_NOT_SIGNED,
        STATUS_SIGNED,
        signature_table,
        signed_documents_for_subject,
    )

    documents = signed_documents_for_subject(appeal)
    if not documents:
        return None
    rows = signature_table(documents[-1])
    kzhk = appeal.signatures.filter(party=AppealSignature.Party.DS_KZHK).first()
    rows.append({
        "organization": pgettext("appeals", "JSC «KZhK»"), "signer": (kzhk.signer_name if kzhk else "") or "—",
        "status": "signed" if kzhk else "not_signed", "status_label": STATUS_SIGNED if kzhk else STATUS_NOT_SIGNED,
        "signed_at": timezone.localtime(kzhk.signed_at) if kzhk else None, "link": "",
    })
    return rows


# --- What a draft still needs, who signs the ДС, what BPMS receives (reads moved out of services) ---


def document_slots(appeal: Appeal) -> list[dict]:
    """The upload slots of an appeal: the official letter (always required) then the category's
    documents. Each slot: key, name, required, document (CategoryDocument or None)."""
    slots = [{"key": OFFICIAL_LETTER, "document": None, "required": True,
              "name": pgettext("appeals", "Scan of the official appeal letter signed by an authorised person and sealed by the organization")}]
    for doc in appeal.category.documents.all():
        slots.append({"key": str(doc.pk), "document": doc, "required": doc.is_required, "name": doc.name})
    return slots


def upload_slot(*, user, public_id, slot_key: str):
    """A document slot of the user's organization's appeal that may take files now, as a
    resumable-upload slot (uploads.slots); 404 otherwise."""
    from uploads.slots import Slot

    from . import services

    appeal = appeal_get(organization=user.organization, public_id=public_id)
    if slot_key not in {s["key"] for s in document_slots(appeal)} or not transitions.user_can(appeal.status, transitions.EDIT):
        raise Http404
    return Slot(kind="appeal", owner_public_id=appeal.public_id, key=slot_key, max_bytes=services.MAX_FILE_BYTES,
                model=AppealFile, field_name="file", owner_field="appeal", owner=appeal, claim=services.claim_upload)


def appeal_readiness_errors(appeal: Appeal) -> dict[str, str]:
    """What still has to be filled in before the appeal can be signed: {field or slot: message}."""
    errors: dict[str, str] = {}
    required = pgettext("appeals", "This field is required.")
    category = appeal.category
    if category.is_other:
        if not appeal.other_text.strip():
            errors["other_text"] = required
    else:
        if not appeal.change_subject.strip():
            errors["change_subject"] = required
        if category.asks_values:
            if not appeal.value_from.strip():
                errors["value_from"] = required
            if not appeal.value_to.strip():
                errors["value_to"] = required
        if category.asks_justification and not appeal.justification.strip():
            errors["justification"] = required
    present = {f.slot for f in appeal.files.all()}
    for slot in document_slots(appeal):
        if slot["required"] and slot["key"] not in present:
            if slot["key"] == OFFICIAL_LETTER:
                errors[slot["key"]] = pgettext("appeals", "The scan of the official letter is required.")
            else:
                errors[slot["key"]] = pgettext("appeals", "Upload this document.")
    return errors


def ds_party_of(appeal: Appeal, organization: Organization) -> str | None:
    if organization.pk == appeal.organization_id:
        return AppealSignature.Party.DS_APPLICANT
    if appeal.contract.developer_id and organization.pk == appeal.contract.developer_id:
        return AppealSignature.Party.DS_DEVELOPER
    return None


def appeal_submit_payload(appeal: Appeal) -> dict:
    return {
        "case_id": str(appeal.public_id),
        "organization_bin": appeal.organization.bin,
        "contract_number": appeal.contract.number,
        "contract_date": appeal.contract.signed_on.isoformat(),
        "type": appeal.kind,
        "category": appeal.category.code,
        "change_subject": appeal.change_subject,
        "value_from": appeal.value_from,
        "value_to": appeal.value_to,
        "justification": appeal.justification,
        "other_text": appeal.other_text,
        "sent_at": appeal.sent_at.isoformat() if appeal.sent_at else None,
        "files": [{"id": f.pk, "name": f.original_name, "size": f.size, "slot": f.slot} for f in appeal.files.all()],
    }
