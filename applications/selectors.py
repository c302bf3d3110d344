"""Reads of the applications domain. Every read is scoped to an organization: the УК that filed
the application or the developer it names. Anything else is a 404 for the caller."""

import hashlib
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from homeportal.pagination import UnionOfParts

from . import wizard
from .models import (
    Application,
    ApplicationFile,
    ConsentDocument,
    ConsentType,
    DecisionDocument,
    DeveloperInvitation,
    DocumentType,
    Provider,
)


def _parts(organization) -> list[Q]:
    """Applications the organization filed (УК) or is named in (developer), disjoint."""
    own = Q(organization=organization)
    return [own, Q(developer=organization) & ~own]


def applications_of(*, organization) -> QuerySet[Application]:
    if organization is None:
        return Application.objects.none()
    own, developer = _parts(organization)
    return Application.objects.filter(own | developer)


def application_list(*, organization, service: str = "guarantee") -> UnionOfParts:
    """«Мои заявки» of one service: newest first. Filed by the organization, or naming it as the
    developer — two parts, each read along its own index (see homeportal.pagination)."""
    # Without the form data: the list shows none of it, and decoding 20 rows' JSON was a fifth of the query.
    qs = (Application.objects.filter(service=service).select_related("contract", "organization").defer("data")
          .order_by("-created_at", "-pk"))
    return UnionOfParts(qs, _parts(organization))


def application_get(*, organization, public_id) -> Application:
    app = (
        applications_of(organization=organization)
        .select_related("organization", "developer", "contract")
        .filter(public_id=public_id)
        .first()
    )
    if app is None:
        raise Http404
    return app


def upload_slot(*, user, public_id, slot_key: str):
    """The document field `slot_key` (a DocumentType id) of an application the user may add files
    to, as a resumable-upload slot (uploads.slots); 404 otherwise."""
    from uploads.slots import Slot

    from . import services

    application = application_get(organization=user.organization, public_id=public_id)
    document_type = DocumentType.objects.filter(pk=int(slot_key) if slot_key.isdigit() else 0, is_active=True,
                                                service=application.service).first()
    if (document_type is None or not application.is_editable
            or document_type.provider != role_of(application=application, organization=user.organization)):
        raise Http404
    return Slot(kind="application", owner_public_id=application.public_id, key=str(document_type.pk),
                max_bytes=services.MAX_FILE_BYTES, model=ApplicationFile, field_name="file",
                owner_field="application", owner=application, claim=services.claim_upload)


def role_of(*, application: Application, organization) -> str:
    return Provider.COMPANY if application.organization_id == organization.pk else Provider.DEVELOPER


def application_file_get(*, organization, file_id: int) -> ApplicationFile:
    f = (
        ApplicationFile.objects.select_related("application", "document_type")
        .filter(pk=file_id)
        .filter(Q(application__organization=organization) | Q(application__developer=organization))
        .first()
    )
    if f is None:
        raise Http404
    return f


def tab_form(application: Application, tab: str, data: dict | list | None = None):
    """The bound form of a tab over the given (or stored) values (`wizard.tab_form`)."""
    return wizard.tab_form(application.definition, application.data, tab, data)


def tab_is_valid(application: Application, tab: str) -> bool:
    return wizard.tab_is_valid(application.definition, application.data, tab)


@dataclass
class DocumentField:
    document_type: DocumentType
    files: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.files) or not self.document_type.required


def document_fields(application: Application, stage: int) -> list[DocumentField]:
    return document_fields_by_stage(application, [stage])[stage]


def document_fields_by_stage(application: Application, stages) -> dict[int, list[DocumentField]]:
    """`document_fields` of several stages in two queries (the readiness reads every stage's)."""
    stages = list(stages)
    files_by_type: dict[int, list] = {}
    for f in application.files.filter(document_type__stage__in=stages).order_by("uploaded_at", "id"):
        files_by_type.setdefault(f.document_type_id, []).append(f)
    out: dict[int, list[DocumentField]] = {stage: [] for stage in stages}
    for dt in DocumentType.objects.filter(service=application.service, stage__in=stages, is_active=True):
        out[dt.stage].append(DocumentField(dt, files_by_type.get(dt.pk, [])))
    return out


def consent_rows(application: Application) -> list[tuple[ConsentType, ConsentDocument | None]]:
    docs = {c.consent_type_id: c for c in application.consents.all()}
    return [(ct, docs.get(ct.pk))
            for ct in ConsentType.objects.filter(service=application.service, is_active=True)]


@dataclass
class Readiness:
    tabs: dict  # tab code -> bool
    stages: dict  # stage -> bool
    parts: dict  # provider -> {stage: bool}: the progress of each party per stage
    missing: list  # human-readable items
    links: list = None  # (item, stage, tab code or "") per missing item: where to fix it (stage 4 links there)
    # What it was computed from, for the stage page to show without reading it again: the bound
    # (validated) form of each tab with stored values, each stage's document fields, the consents.
    forms: dict = field(default_factory=dict)
    document_fields: dict = field(default_factory=dict)
    consents: list | None = None

    @property
    def complete(self) -> bool:
        return not self.missing


def application_readiness(application: Application) -> Readiness:
    """Is every required field of every tab — the УК's and the developer's — filled and valid?
    Computed from the service's definition: tabs (🟢), document slots and consents per stage."""
    service = application.definition
    forms = {}
    for code, tab in service.tabs.items():  # wizard.tab_is_valid, keeping the forms
        if code in application.data or tab.repeatable is not None:
            forms[code] = wizard.tab_form(service, application.data, code)
    tabs = {code: code in forms and forms[code].is_valid() for code in service.tabs}
    missing = [service.tabs[code].title for code, ok in tabs.items() if not ok]
    links = [(service.tabs[code].title, service.tab_stage(code), code) for code, ok in tabs.items() if not ok]
    consent_links = []
    parts = {Provider.COMPANY: {}, Provider.DEVELOPER: {}}
    stages = {}
    consent_missing = []
    by_stage = document_fields_by_stage(application, [st.number for st in service.stages if st.documents is not None])
    rows = None
    for stage in service.stages:
        n = stage.number
        # A party's part of a stage: the УК's tabs, each party's own documents and consents.
        done = {Provider.COMPANY: all(tabs[t.code] for t in stage.tabs), Provider.DEVELOPER: True}
        complete = done[Provider.COMPANY]
        if stage.documents is not None:
            fields_ = by_stage[n]
            for provider in done:
                done[provider] = done[provider] and all(f.complete for f in fields_ if f.document_type.provider == provider)
            missing += [f.document_type.name for f in fields_ if not f.complete]
            links += [(f.document_type.name, n, "") for f in fields_ if not f.complete]
            complete = complete and all(f.complete for f in fields_)
        if stage.consents:
            rows = consent_rows(application) if rows is None else rows
            for provider in done:
                done[provider] = done[provider] and all(doc and doc.signed_at for ct, doc in rows if ct.provider == provider)
            consent_missing += [ct.name for ct, doc in rows if not (doc and doc.signed_at)]
            consent_links += [(ct.name, n, "") for ct, doc in rows if not (doc and doc.signed_at)]
            complete = complete and all(doc and doc.signed_at for _ct, doc in rows)
        parts[Provider.COMPANY][n] = done[Provider.COMPANY]
        if stage.documents is not None or stage.consents:  # the developer has a part only there
            parts[Provider.DEVELOPER][n] = done[Provider.DEVELOPER]
        stages[n] = complete
    missing += consent_missing
    links += consent_links
    if application.developer_id is None:
        missing.append(_("The developer has not accepted the invitation yet"))
        links.append((missing[-1], None, ""))
    return Readiness(tabs=tabs, stages=stages, parts=parts, missing=missing, links=links, forms=forms,
                     document_fields=by_stage, consents=rows)


def application_sections(application: Application) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form as (tab title, [(field label, value as typed)]) for the PDF and the moderator."""
    return wizard.sections(application.definition, application.data)


def checklist(application: Application) -> list[dict]:
    """The moderator's checklist from the definition: every active document slot of the service,
    then each tab marked `checklist` (with its values)."""
    service = application.definition
    items = []
    for stage in service.stages:
        if stage.documents is not None:
            items += [{"key": f"doc-{f.document_type.pk}", "name": f.document_type.name_ru, "files": f.files,
                       "required": f.document_type.required} for f in document_fields(application, stage.number)]
    values = dict(application_sections(application))
    for tab in service.tabs.values():
        if tab.checklist:
            items.append({"key": tab.code, "name": str(tab.title), "files": [], "required": True,
                          "details": values[str(tab.title)]})
    return items


def history_of(application: Application):
    """«История заявки»: the stages in chronological order, with what each row downloads."""
    # No joins: the page needs the ids only (has_download), `actor_name`, and this application (the
    # related manager's); a join built a full application, user and document per row (issue #18).
    return application.history.order_by("created_at", "id")


def history_entry_get(*, application: Application, entry_id: int):
    """A history row of this application that has something to download, else 404."""
    entry = (application.history.select_related("decision_document", "signature__signing_request")
             .filter(pk=entry_id).first())
    if entry is None or not entry.has_download:
        raise Http404
    return entry


def decision_documents(application: Application) -> list:
    """Documents after the decision with their «Сведения о подписи» rows."""
    from signing.selectors import signature_table

    docs = list(DecisionDocument.objects.filter(application=application).select_related("signed_document"))
    for doc in docs:
        doc.signature_rows = signature_table(doc.signed_document) if doc.signed_document_id else []
    return docs


# --- the developer's invitation and what BPMS receives (reads moved out of services) ---------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_get(*, token: str, now=None) -> DeveloperInvitation | None:
    """The live invitation for a token, or None (unknown, used or expired all look the same)."""
    now = now or timezone.now()
    if not token or len(token) > 64:
        return None
    return (
        DeveloperInvitation.objects.select_related("application", "application__organization")
        .filter(token_hash=token_hash(token), used_at__isnull=True, expires_at__gt=now)
        .first()
    )


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
