"""Reads of the applications domain. Every read is scoped to an organization: the УК that filed
the application or the developer it names. Anything else is a 404 for the caller."""

import hashlib
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import forms
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

STAGES = [
    (1, _("Corporate information")),
    (2, _("Corporate documentation")),
    (3, _("Project documentation")),
    (4, _("Provision of consents")),
]

# Stage 1 tabs: code, title, form class (shareholders is a formset).
STAGE1_TABS = [
    ("company", _("Information about the authorised company"), forms.CompanyInfoForm),
    ("shareholders", _("Shareholders / founders"), forms.ShareholderFormSet),
    ("head", _("Head of the executive body"), forms.HeadForm),
    ("project", _("Project information"), forms.ProjectForm),
    ("developer", _("Information about the developer"), forms.DeveloperForm),
]
TAB_TITLES = {code: title for code, title, _form in STAGE1_TABS}
TAB_TITLES["expertise"] = _("Design and estimate documentation with a positive expertise conclusion")


def applications_of(*, organization) -> QuerySet[Application]:
    """Applications the organization filed (УК) or is named in (developer)."""
    if organization is None:
        return Application.objects.none()
    return Application.objects.filter(Q(organization=organization) | Q(developer=organization))


def application_list(*, organization) -> QuerySet[Application]:
    return (
        applications_of(organization=organization)
        .select_related("contract", "organization")
        .order_by("-created_at", "-id")
    )


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


def tab_form(application: Application, tab: str, data: dict | None = None):
    """The bound form of a stage-1 tab over the given (or stored) values."""
    if tab == "shareholders":
        return shareholder_formset(application.data.get(tab, []) if data is None else data)
    values = application.data.get(tab, {}) if data is None else data
    if tab == "expertise":
        return forms.ExpertiseForm(data=values, prefix="expertise")
    form_class = dict((c, f) for c, _t, f in STAGE1_TABS)[tab]
    return form_class(data=values, prefix=tab)


def shareholder_formset(rows) -> forms.ShareholderFormSet:
    """`rows` is the stored list of dicts; builds the POST-shaped data a formset reads."""
    if isinstance(rows, dict):  # already POST-shaped
        return forms.ShareholderFormSet(data=rows, prefix="sh")
    rows = list(rows or [])
    data = {"sh-TOTAL_FORMS": str(max(len(rows), 1)), "sh-INITIAL_FORMS": "0", "sh-MIN_NUM_FORMS": "1", "sh-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"sh-{i}-{key}"] = value
    return forms.ShareholderFormSet(data=data, prefix="sh")


def tab_is_valid(application: Application, tab: str) -> bool:
    if tab not in application.data and tab != "shareholders":
        return False
    return tab_form(application, tab).is_valid()


@dataclass
class DocumentField:
    document_type: DocumentType
    files: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.files) or not self.document_type.required


def document_fields(application: Application, stage: int) -> list[DocumentField]:
    files_by_type: dict[int, list] = {}
    for f in application.files.filter(document_type__stage=stage).order_by("uploaded_at", "id"):
        files_by_type.setdefault(f.document_type_id, []).append(f)
    return [
        DocumentField(dt, files_by_type.get(dt.pk, []))
        for dt in DocumentType.objects.filter(stage=stage, is_active=True)
    ]


def consent_rows(application: Application) -> list[tuple[ConsentType, ConsentDocument | None]]:
    docs = {c.consent_type_id: c for c in application.consents.all()}
    return [(ct, docs.get(ct.pk)) for ct in ConsentType.objects.filter(is_active=True)]


@dataclass
class Readiness:
    tabs: dict  # tab code -> bool
    stages: dict  # stage -> bool
    parts: dict  # provider -> {stage: bool}: the progress of each party per stage
    missing: list  # human-readable items

    @property
    def complete(self) -> bool:
        return not self.missing


def application_readiness(application: Application) -> Readiness:
    """Is every required field of every tab — the УК's and the developer's — filled and valid?"""
    tabs = {code: tab_is_valid(application, code) for code, _t, _f in STAGE1_TABS}
    tabs["expertise"] = tab_is_valid(application, "expertise")
    missing = [TAB_TITLES[code] for code, ok in tabs.items() if not ok]
    parts = {Provider.COMPANY: {}, Provider.DEVELOPER: {}}
    parts[Provider.COMPANY][1] = all(v for k, v in tabs.items() if k != "expertise")
    stages = {1: parts[Provider.COMPANY][1]}
    for stage in (2, 3):
        fields_ = document_fields(application, stage)
        for provider in (Provider.COMPANY, Provider.DEVELOPER):
            own = [f for f in fields_ if f.document_type.provider == provider]
            parts[provider][stage] = all(f.complete for f in own)
        missing += [f.document_type.name for f in fields_ if not f.complete]
        stages[stage] = all(f.complete for f in fields_)
    stages[3] = stages[3] and tabs["expertise"]
    rows = consent_rows(application)
    for provider in (Provider.COMPANY, Provider.DEVELOPER):
        parts[provider][4] = all(doc and doc.signed_at for ct, doc in rows if ct.provider == provider)
    missing += [ct.name for ct, doc in rows if not (doc and doc.signed_at)]
    stages[4] = all(doc and doc.signed_at for _ct, doc in rows)
    if application.developer_id is None:
        missing.append(_("The developer has not accepted the invitation yet"))
    return Readiness(tabs=tabs, stages=stages, parts=parts, missing=missing)


def application_sections(application: Application) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form as (tab title, [(field label, value as typed)]) for the PDF and the moderator."""
    sections = []
    for code in [c for c, _t, _f in STAGE1_TABS] + ["expertise"]:
        form = tab_form(application, code)
        rows = []
        for sub in (form.forms if code == "shareholders" else [form]):
            for bound in sub:
                value = bound.value()
                if bound.field.widget.input_type == "checkbox":
                    value = "✓" if value else ""
                elif getattr(bound.field, "choices", None) and value:
                    value = dict(bound.field.choices).get(value, value)
                if value not in (None, ""):
                    rows.append((str(bound.label), str(value)))
        sections.append((str(TAB_TITLES[code]), rows))
    return sections


def history_of(application: Application):
    """«История заявки»: the stages in chronological order, with what each row downloads."""
    return application.history.select_related("actor", "decision_document").order_by("created_at", "id")


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
