"""Guarantee applications (заявки на гарантирование) of an authorised company (УК) and its developer.

The form's typed values live in `Application.data` (one dict per tab, kept exactly as typed,
valid or not); whether a tab is complete is computed by running its form over those values.
Every status change goes through `applications.services.application_transition`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from homeportal.history import HistoryEntry
from homeportal.i18n import Localized


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ON_MODERATION = "on_moderation", _("On moderation")
    REVISION = "revision", _("Application checked, revision required")
    TO_SIGN = "to_sign", _("Application checked, signature required")
    SENT = "sent", _("Application sent")
    REGISTERED = "registered", _("Application registered")
    IN_REVIEW = "in_review", _("Application under review")
    REJECTED = "rejected", _("Application rejected")
    APPROVED = "approved", _("Application approved, pledge agreements in preparation")
    # «Субсидирование» (our design, docs/applications.md): after KZhK's approval the subsidy agreement.
    SUBSIDY_APPROVED = "subsidy_approved", _("Application approved, subsidy agreement in preparation")
    AGREEMENT_SIGNING = "agreement_signing", _("Subsidy agreement signing")
    AGREEMENT_SIGNED = "agreement_signed", _("Subsidy agreement signed")


# The transition table and what the parties may do in each status: applications/transitions.py.
# Statuses in which the applicants may still change the form (edit, upload, delete files).
EDITABLE_STATUSES = {Status.DRAFT, Status.REVISION}


class ServiceCode(models.TextChoices):
    """Which service an application (and a document or consent type) belongs to; each is a
    definition in `applications/definitions.py`."""

    GUARANTEE = "guarantee", _("Guarantee")
    SUBSIDY = "subsidy", _("Subsidy")


class Provider(models.TextChoices):
    COMPANY = "company", _("Authorised company")
    DEVELOPER = "developer", _("Developer")


class Application(models.Model):
    public_id = models.UUIDField(_("Public identifier"), default=uuid.uuid4, unique=True, editable=False)
    service = models.CharField(_("Service"), max_length=20, choices=ServiceCode.choices, default=ServiceCode.GUARANTEE)
    organization = models.ForeignKey(
        "cabinets.Organization", verbose_name=_("Authorised company"), on_delete=models.PROTECT,
        related_name="guarantee_applications",
    )
    contract = models.ForeignKey(
        "cabinets.Contract", verbose_name=_("Guarantee contract"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="guarantee_applications",
    )
    developer = models.ForeignKey(
        "cabinets.Organization", verbose_name=_("Developer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="developer_applications",
    )
    developer_bin = models.CharField(_("Developer BIN"), max_length=12, blank=True)
    # The contract the signed agreement became (a subsidy application's «Договор субсидирования»).
    issued_contract = models.OneToOneField(
        "cabinets.Contract", verbose_name=_("Contract concluded"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="issued_by_application",
    )
    status = models.CharField(_("Application status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    project_name = models.CharField(_("Project name"), max_length=1000, blank=True)
    data = models.JSONField(_("Form data"), default=dict, blank=True)
    registration_number = models.CharField(_("Registration number"), max_length=100, blank=True)
    registered_at = models.DateTimeField(_("Registration date"), null=True, blank=True)
    due_date = models.DateField(_("Execution term"), null=True, blank=True)
    moderation_opens_at = models.DateTimeField(_("Moderation accepted from"), null=True, blank=True)
    sent_at = models.DateTimeField(_("Sent"), null=True, blank=True)
    bpms_seq = models.BigIntegerField(_("Last BPMS event"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("Created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("Updated"), default=timezone.now)

    class Meta:
        verbose_name = _("Guarantee application")
        verbose_name_plural = _("Guarantee applications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="application_status_idx"),
            # «Мои заявки» reads each part of the list along one of these (homeportal.pagination).
            # (each service has its own list, so the service follows the party)
            models.Index(fields=["organization", "service", "-created_at", "-id"], name="application_org_list_idx"),
            models.Index(fields=["developer", "service", "-created_at", "-id"], name="application_dev_list_idx"),
        ]

    def __str__(self):
        return self.project_name or str(self.public_id)

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def definition(self):
        """The service's wizard definition (`applications.definitions`)."""
        from .definitions import service_of

        return service_of(self.service)

    @property
    def status_label(self) -> str:
        """The status as this service names it («Черновик» / «На создании»)."""
        return self.definition.status_label(self.status)

    @property
    def is_overdue(self) -> bool:
        """Past its «Срок исполнения» with KZhK's decision still pending."""
        return bool(self.due_date) and self.status in OVERDUE_STATUSES and timezone.localdate() > self.due_date

    @property
    def is_deletable(self) -> bool:
        """Never sent — to moderation or to KZhK (a returned application is revised, not deleted)."""
        from .transitions import DELETE, user_can

        return user_can(self.status, DELETE) and self.sent_at is None and self.moderation_opens_at is None

    @property
    def offers_list_actions(self) -> bool:
        """«Редактировать» / «Удалить» in the list: only for applications never sent."""
        return self.is_deletable


class ApplicationHistory(HistoryEntry):
    """One stage of «История заявки» (seed 002: the forming and the review in chronological
    order): created, the developer joined, each status (moderation's conclusion and BPMS's
    notices as the document), signed by whom, each document KZhK issued and each signature on
    it. Draft saves, tabs and uploads are not stages. Shape: `homeportal.history.HistoryEntry`."""

    OWNER_FIELD = "application"
    CHAIN_EXTRA_FIELDS = ("decision_document_id",)

    class Event(models.TextChoices):
        CREATED = "created", _("Created")
        STATUS = "status", _("Status changed")
        SIGNED = "signed", _("Application signed")
        DEVELOPER_JOINED = "developer_joined", _("Developer joined")
        DEVELOPER_DETACHED = "developer_detached", _("Developer replaced")
        DOCUMENT_ISSUED = "document_issued", _("Document received")
        DOCUMENT_SIGNED = "document_signed", _("Document signed")
        DOCUMENT_COMPLETED = "document_completed", _("Document signed by all parties")
        DOCUMENT_RETURNED = "document_returned", _("Sent for revision")

    # PROTECT: only a never-sent draft loses its history, through audit.chain.purge() (application_delete).
    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="history")
    event = models.CharField(_("Event"), max_length=40, choices=Event.choices)
    # Rows of a pledge agreement, АВР or notice point at it («Скачать» gives its current file).
    decision_document = models.ForeignKey(
        "DecisionDocument", verbose_name=_("Decision document"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="history",
    )

    class Meta(HistoryEntry.Meta):
        verbose_name = _("Application history entry")
        verbose_name_plural = _("Application history")
        indexes = [
            models.Index(fields=["application", "created_at", "id"], name="application_history_page_idx"),  # the paged history
            models.Index(fields=["application", "chain_seq"], name="application_history_chain_idx"),  # last link
            models.Index(fields=["chain_seq"], name="application_history_seq_idx"),  # history_verify's order
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.event}"

    @property
    def label(self) -> str:
        """What the stage is called in the list: the status entered, else the event."""
        if self.event == self.Event.STATUS and self.status in Status.values:
            return self.application.definition.status_label(self.status)
        return str(self.get_event_display())

    @property
    def has_download(self) -> bool:
        return bool(self.document) or bool(self.decision_document_id) or bool(self.signature_id)


class DocumentType(models.Model):
    """A document field of stage 2 or 3, maintained by KZhK staff in admin."""

    class Stage(models.IntegerChoices):
        CORPORATE = 2, _("Corporate documentation")
        PROJECT = 3, _("Project documentation")

    service = models.CharField(_("Service"), max_length=20, choices=ServiceCode.choices, default=ServiceCode.GUARANTEE)
    stage = models.PositiveSmallIntegerField(_("Stage"), choices=Stage.choices)
    name_ru = models.CharField(_("Name (Russian)"), max_length=500)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=500)
    required = models.BooleanField(_("Required"), default=True)
    provider = models.CharField(_("Provided by"), max_length=20, choices=Provider.choices, default=Provider.COMPANY)
    order = models.PositiveIntegerField(_("Order"), default=0)
    is_active = models.BooleanField(_("Active"), default=True)

    class Meta:
        verbose_name = _("Document type")
        verbose_name_plural = _("Document types")
        ordering = ["stage", "order", "id"]

    def __str__(self):
        return self.name

    name = Localized("name")


def application_file_path(instance, filename):
    return f"applications/{instance.application.public_id}/{uuid.uuid4().hex}"


class ApplicationFile(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="files")
    document_type = models.ForeignKey(DocumentType, verbose_name=_("Document"), on_delete=models.PROTECT)
    file = models.FileField(_("File"), upload_to=application_file_path, max_length=300)
    original_name = models.CharField(_("File name"), max_length=255)
    size = models.BigIntegerField(_("Size, bytes"))
    content_type = models.CharField(_("Content type"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)  # recorded by resumable uploads
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("Uploaded by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("Uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("Application file")
        verbose_name_plural = _("Application files")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name


class ConsentType(models.Model):
    """A consent of stage 4 («Предоставление согласий»), maintained by KZhK staff in admin."""

    service = models.CharField(_("Service"), max_length=20, choices=ServiceCode.choices, default=ServiceCode.GUARANTEE)
    name_ru = models.CharField(_("Name (Russian)"), max_length=500)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=500)
    text_ru = models.TextField(_("Text (Russian)"), blank=True)
    text_kk = models.TextField(_("Text (Kazakh)"), blank=True)
    provider = models.CharField(_("Signed by"), max_length=20, choices=Provider.choices, default=Provider.COMPANY)
    order = models.PositiveIntegerField(_("Order"), default=0)
    is_active = models.BooleanField(_("Active"), default=True)

    class Meta:
        verbose_name = _("Consent type")
        verbose_name_plural = _("Consent types")
        ordering = ["order", "id"]

    def __str__(self):
        return self.name

    name = Localized("name")
    text = Localized("text")


class ConsentDocument(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="consents")
    consent_type = models.ForeignKey(ConsentType, on_delete=models.PROTECT)
    pdf = models.FileField(_("Document"), upload_to="applications/consents/%Y/%m/", max_length=300)
    formed_at = models.DateTimeField(_("Formed"), default=timezone.now)
    signed_at = models.DateTimeField(_("Signed"), null=True, blank=True)
    signer_name = models.CharField(_("Signer"), max_length=300, blank=True)
    signature = models.ForeignKey(
        "signing.Signature", verbose_name=_("Signature"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Consent")
        verbose_name_plural = _("Consents")
        constraints = [
            models.UniqueConstraint(fields=["application", "consent_type"], name="consent_once_per_application")
        ]

    def __str__(self):
        return str(self.consent_type)


class DeveloperInvitation(models.Model):
    """A single-use link for the developer. Only the SHA-256 of the token is stored."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    bin = models.CharField(_("BIN"), max_length=12)
    email = models.EmailField(_("E-mail"))
    phone = models.CharField(_("Phone"), max_length=12, blank=True)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)
    expires_at = models.DateTimeField(_("Expires"))
    sent_at = models.DateTimeField(_("Sent"), null=True, blank=True)
    used_at = models.DateTimeField(_("Used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("Developer invitation")
        verbose_name_plural = _("Developer invitations")

    def __str__(self):
        return f"{self.bin} {self.email}"


class ModerationReview(models.Model):
    """One pass of a KZhK moderator over the application: the checklist and the decision."""

    class Decision(models.TextChoices):
        REMARKS = "remarks", _("There are remarks")
        OK = "ok", _("No remarks")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="reviews")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decision = models.CharField(_("Decision"), max_length=20, choices=Decision.choices)
    items = models.JSONField(_("Checklist"), default=list)  # [{"name", "ok": bool, "remark"}]
    conclusion_pdf = models.FileField(_("Conclusion"), upload_to="applications/conclusions/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Moderation review")
        verbose_name_plural = _("Moderation reviews")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_decision_display()} {self.created_at:%Y-%m-%d}"


class DecisionDocument(models.Model):
    """A document after KZhK's decision: the rejection notice, pledge agreements, АВР
    (акт выполненных работ, certificate of completed work)."""

    class Kind(models.TextChoices):
        REJECTION = "rejection", _("Rejection notice")
        PLEDGE = "pledge", _("Pledge agreement")
        AVR = "avr", _("Certificate of completed work (AVR)")
        SUBSIDY_AGREEMENT = "subsidy_agreement", _("Subsidy agreement")

    class State(models.TextChoices):
        TO_SIGN = "to_sign", _("Awaiting signatures")
        SIGNED = "signed", _("Signed by all parties")
        RETURNED = "returned", _("Sent for revision")
        INFO = "info", _("For information")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="decision_documents")
    kind = models.CharField(_("Kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("Title"), max_length=500)
    file = models.FileField(_("File"), upload_to="applications/decision/%Y/%m/", max_length=300)
    state = models.CharField(_("State"), max_length=20, choices=State.choices, default=State.TO_SIGN)
    comment = models.TextField(_("Comment"), blank=True)
    # The parties' signatures and «Сведения о подписи» live in signing (multi-party document).
    signed_document = models.OneToOneField(
        "signing.SignedDocument", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Decision document")
        verbose_name_plural = _("Decision documents")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.title


# Statuses in which KZhK still owes a decision, so a passed «Срок исполнения» means overdue.
OVERDUE_STATUSES = frozenset({Status.SENT, Status.REGISTERED, Status.IN_REVIEW})
