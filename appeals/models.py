"""Contract-correction appeals («Мои обращения в АО «КЖК»»).

An organization asks KZhK to correct a guarantee or subsidy contract. The appeal moves through
ten statuses (see `appeals.transitions`); only `appeals.services.appeal_transition` changes it.
`ds` = «дополнительное соглашение», the supplementary agreement that makes the correction.
"""

import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cabinets.models import Contract, Organization
from homeportal.choices import ChoiceLabels
from homeportal.history import HistoryEntry
from homeportal.history import history_document_path as _history_document_path
from homeportal.i18n import Localized


class AppealKind(models.TextChoices):
    """The type of appeal = the type of the contract it corrects."""

    GUARANTEE = "guarantee", pgettext_lazy("appeal type", "Guarantee")
    SUBSIDY = "subsidy", pgettext_lazy("appeal type", "Subsidy")


class AppealStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("appeal status", "Being created")
    SENT = "sent", pgettext_lazy("appeal status", "Application sent")
    REGISTERED = "registered", pgettext_lazy("appeal status", "Application registered")
    IN_REVIEW = "in_review", pgettext_lazy("appeal status", "Application under review")
    REVISION = "revision", pgettext_lazy("appeal status", "Application reviewed, revision required")
    REJECTED = "rejected", pgettext_lazy("appeal status", "Application rejected")
    APPROVED = "approved", pgettext_lazy("appeal status", "Application approved, SA being prepared")
    DS_APPLICANT_SIGNING = "ds_applicant_signing", pgettext_lazy("appeal status", "SA signing by the applicant")
    DS_KZHK_SIGNING = "ds_kzhk_signing", pgettext_lazy("appeal status", "SA signing by JSC «KZhK»")
    DS_SIGNED = "ds_signed", pgettext_lazy("appeal status", "SA signed")


class AppealCategory(models.Model):
    """A correction category, maintained by KZhK staff in admin, per contract type. The flags say
    which fields the appeal form asks for; «Иное» (is_other) asks for free text instead."""

    code = models.SlugField(_("Code"), max_length=60, unique=True)
    contract_kind = models.CharField(
        _("Contract type"), max_length=20, choices=AppealKind.choices, blank=True,
        help_text=_("Empty: offered for both contract types."),
    )
    name_ru = models.CharField(_("Name (Russian)"), max_length=300)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=300)
    asks_values = models.BooleanField(_("Asks for the current and the new value"), default=True)
    asks_justification = models.BooleanField(_("Asks for a justification"), default=True)
    is_other = models.BooleanField(_("«Other» (free text)"), default=False)
    is_active = models.BooleanField(_("Active"), default=True)
    sort_order = models.PositiveIntegerField(_("Order"), default=100)

    class Meta:
        verbose_name = _("Appeal category")
        verbose_name_plural = _("Appeal categories")
        ordering = ["is_other", "sort_order", "name_ru"]

    def __str__(self):
        return self.name_ru

    name = Localized("name")


class CategoryDocument(models.Model):
    """A supporting document a category asks for («Подтверждающие документы»). The scan of the
    official letter is not listed here: every appeal requires it (see OFFICIAL_LETTER)."""

    category = models.ForeignKey(
        AppealCategory, verbose_name=_("Category"), on_delete=models.CASCADE, related_name="documents"
    )
    name_ru = models.CharField(_("Name (Russian)"), max_length=300)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=300)
    is_required = models.BooleanField(_("Required"), default=True)
    sort_order = models.PositiveIntegerField(_("Order"), default=100)

    class Meta:
        verbose_name = _("Category document")
        verbose_name_plural = _("Category documents")
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.name_ru

    name = Localized("name")


def appeal_file_path(instance, filename: str) -> str:
    """Stored with the extension of the sniffed type (`content_type` is set before the save),
    never the uploaded name's (#10 item 9)."""
    from homeportal.uploads import extension_for

    return f"appeals/{instance.appeal.public_id}/{uuid.uuid4().hex}{extension_for(instance.content_type)}"


def appeal_document_path(instance, filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"appeals/{instance.public_id}/kzhk/{uuid.uuid4().hex}{ext}"


# Kept for migration 0001; the history rows use homeportal.history.history_document_path.
history_document_path = _history_document_path


class Appeal(ChoiceLabels, models.Model):
    public_id = models.UUIDField(_("Public id"), default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, verbose_name=_("Organization"), on_delete=models.PROTECT, related_name="appeals"
    )
    contract = models.ForeignKey(Contract, verbose_name=_("Contract"), on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(_("Appeal type"), max_length=20, choices=AppealKind.choices)
    category = models.ForeignKey(
        AppealCategory, verbose_name=_("Correction category"), on_delete=models.PROTECT, related_name="appeals"
    )
    status = models.CharField(
        pgettext_lazy("appeals", "Application status"), max_length=30, choices=AppealStatus.choices, default=AppealStatus.DRAFT, db_index=True
    )
    # What the applicant asks for.
    change_subject = models.CharField(_("What is to be changed"), max_length=1000, blank=True)
    value_from = models.TextField(_("Current value"), blank=True)
    value_to = models.TextField(_("New value"), blank=True)
    justification = models.TextField(_("Justification"), blank=True)
    other_text = models.TextField(_("Text of the appeal"), blank=True)
    # Who and when.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("Created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("Changed"), default=timezone.now)
    sent_at = models.DateTimeField(_("Sent"), null=True, blank=True)
    # From BPMS Simbase.
    registration_number = models.CharField(_("Registration number"), max_length=100, blank=True, db_index=True)
    registered_at = models.DateTimeField(_("Registration date"), null=True, blank=True)
    review_deadline = models.DateField(_("Review deadline"), null=True, blank=True)
    executor_name = models.CharField(_("Responsible executor"), max_length=300, blank=True)
    internal_number = models.CharField(_("Internal number"), max_length=100, blank=True)
    revision_deadline = models.DateField(_("Revision deadline"), null=True, blank=True)
    ds_number = models.CharField(_("SA number"), max_length=100, blank=True)
    ds_date = models.DateField(_("SA date"), null=True, blank=True)
    ds_file = models.FileField(_("SA for signing"), upload_to=appeal_document_path, blank=True, max_length=300)
    ds_signed_file = models.FileField(_("Signed SA"), upload_to=appeal_document_path, blank=True, max_length=300)
    last_bpms_seq = models.PositiveBigIntegerField(_("Last BPMS event"), default=0)

    class Meta:
        verbose_name = _("Appeal")
        verbose_name_plural = _("Appeals")
        ordering = ["-created_at", "-pk"]
        # «Мои обращения» reads the organization's part of the list along it (homeportal.pagination).
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="appeal_org_list_idx")]

    def __str__(self):
        return self.registration_number or str(self.public_id)[:8]

    @property
    def is_overdue(self) -> bool:
        """Past its review deadline («Срок рассмотрения») with KZhK's answer still pending."""
        return bool(self.review_deadline) and self.status in OVERDUE_STATUSES and timezone.localdate() > self.review_deadline


class AppealFile(models.Model):
    """A file the applicant uploaded for one document slot: the official letter (document is
    null) or one of the category's documents. Several files per slot are allowed."""

    appeal = models.ForeignKey(Appeal, verbose_name=_("Appeal"), on_delete=models.CASCADE, related_name="files")
    document = models.ForeignKey(
        CategoryDocument, verbose_name=_("Document"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    file = models.FileField(_("File"), upload_to=appeal_file_path, max_length=300)
    original_name = models.CharField(_("File name"), max_length=255)
    size = models.BigIntegerField(_("Size, bytes"))
    content_type = models.CharField(_("Content type"), max_length=150)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)  # recorded by resumable uploads
    uploaded_at = models.DateTimeField(_("Uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("Appeal file")
        verbose_name_plural = _("Appeal files")
        ordering = ["uploaded_at", "pk"]

    def __str__(self):
        return self.original_name

    @property
    def slot(self) -> str:
        return str(self.document_id) if self.document_id else OFFICIAL_LETTER


OFFICIAL_LETTER = "letter"


# Statuses whose history step carries KZhK's official notice (see transitions.NOTICE_STATUSES).
NOTICE_STATUSES = (AppealStatus.REVISION, AppealStatus.REJECTED)


# What a step's payload may carry and how the history labels it: (key, label, is an ISO date).
HISTORY_PAYLOAD_FIELDS = (
    ("registration_number", pgettext_lazy("appeals", "Registration number"), False),
    ("registered_at", pgettext_lazy("appeals", "Registration date"), True),
    ("review_deadline", pgettext_lazy("appeals", "Review deadline"), True),
    ("executor_name", pgettext_lazy("appeals", "Responsible executor"), False),
    ("internal_number", pgettext_lazy("appeals", "Internal number"), False),
    ("revision_deadline", pgettext_lazy("appeals", "Revision deadline"), True),
    ("ds_number", pgettext_lazy("appeals", "SA number"), False),
    ("ds_date", pgettext_lazy("appeals", "SA date"), True),
    ("notes", pgettext_lazy("appeals", "Remarks"), False),
    ("reason", pgettext_lazy("appeals", "Reason for refusal"), False),
    ("organization", pgettext_lazy("appeals", "Organization"), False),
)


class AppealHistory(HistoryEntry):
    """One step of «История заявки»: forming, signing, each status with its payload and,
    where KZhK sent one, a document («Скачать»). The shape is `homeportal.history.HistoryEntry`."""

    OWNER_FIELD = "appeal"

    class Event(models.TextChoices):
        CREATED = "created", pgettext_lazy("appeals", "Application formed")
        SAVED = "saved", pgettext_lazy("appeals", "Draft saved")
        SIGNED = "signed", pgettext_lazy("appeals", "Application signed")
        STATUS = "status", pgettext_lazy("appeals", "Status changed")
        DS_SIGNED_BY_PARTY = "ds_party_signed", pgettext_lazy("appeals", "SA signed by a party")
        DOCUMENT_ISSUED = "document_issued", pgettext_lazy("appeals", "Document issued by KZhK")

    # PROTECT: only a never-sent draft loses its history, through audit.chain.purge() (appeal_delete).
    appeal = models.ForeignKey(Appeal, verbose_name=_("Appeal"), on_delete=models.PROTECT, related_name="history")
    event = models.CharField(_("Event"), max_length=40, choices=Event.choices)
    status = models.CharField(_("Status"), max_length=30, choices=AppealStatus.choices, blank=True)
    from_status = models.CharField(_("Previous status"), max_length=30, choices=AppealStatus.choices, blank=True)

    class Meta(HistoryEntry.Meta):
        verbose_name = _("History step")
        verbose_name_plural = _("Application history")
        indexes = [
            models.Index(fields=["appeal", "created_at", "id"], name="appeal_history_page_idx"),  # the paged history
            models.Index(fields=["appeal", "chain_seq"], name="appeal_history_chain_idx"),  # the object's last link
            models.Index(fields=["chain_seq"], name="appeal_history_seq_idx"),  # history_verify's order
            # The list's «Скачать уведомление» looks up the newest notice of each appeal on the page.
            models.Index(fields=["appeal", "-created_at", "-id"], name="appeal_history_notice_idx",
                         condition=models.Q(status__in=NOTICE_STATUSES) & ~models.Q(document="")),
        ]

    def __str__(self):
        return f"{self.get_event_display()} {self.status}"

    @property
    def payload_rows(self) -> list[tuple[str, object]]:
        """The «Данные» column: the payload's known keys that are set, labelled, dates as dd.mm.yyyy.
        Built here rather than by a dozen template `if`s per row: most lookups miss, and a missed
        template lookup is Django's slow path (issue #18: 50 steps a page)."""
        from appeals.templatetags.appeals_tags import isodate

        payload = self.payload if isinstance(self.payload, dict) else {}
        return [(label, isodate(payload[key]) if is_date else payload[key])
                for key, label, is_date in HISTORY_PAYLOAD_FIELDS if payload.get(key)]


class AppealSignature(ChoiceLabels, models.Model):
    """Who signed what: the appeal itself, or the ДС by the applicant, the developer and KZhK
    (the «Сведения о подписи» table). A party's signature made in the portal is
    `signature` (signing.Signature: CMS, certificate, signer, time); the names shown here are
    the party as the table shows it — for KZhK, whose stamp is a PAdES issue, the only record."""

    class Party(models.TextChoices):
        APPEAL = "appeal", pgettext_lazy("appeals", "Applicant (application)")
        DS_APPLICANT = "ds_applicant", pgettext_lazy("appeals", "Applicant")
        DS_DEVELOPER = "ds_developer", pgettext_lazy("appeals", "Developer")
        DS_KZHK = "ds_kzhk", pgettext_lazy("appeals", "JSC «KZhK»")

    appeal = models.ForeignKey(Appeal, verbose_name=_("Appeal"), on_delete=models.CASCADE, related_name="signatures")
    party = models.CharField(_("Party"), max_length=20, choices=Party.choices)
    round = models.PositiveIntegerField(_("Round"), default=1)
    organization_name = models.CharField(_("Organization"), max_length=500, blank=True)
    bin = models.CharField(_("BIN"), max_length=12, blank=True)
    signer_name = models.CharField(_("Signer"), max_length=300, blank=True)
    signature = models.ForeignKey(
        "signing.Signature", verbose_name=_("Signature"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    signed_at = models.DateTimeField(_("Signed"), default=timezone.now)

    class Meta:
        verbose_name = _("Signature")
        verbose_name_plural = _("Signatures")
        ordering = ["signed_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "party", "round"], name="appeal_signature_once_per_round"),
        ]

    def __str__(self):
        return f"{self.get_party_display()}: {self.signer_name}"


# Statuses in which KZhK still owes an answer, so a passed review deadline means overdue.
OVERDUE_STATUSES = frozenset({AppealStatus.SENT, AppealStatus.REGISTERED, AppealStatus.IN_REVIEW})
