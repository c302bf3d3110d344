"""Signing requests, signatures and multi-party signed documents. Keys and passwords are never
stored: a Signature keeps the CMS (which holds only the public certificate) and the signer data."""

import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from homeportal.history import (
    SIGNATURE_RECORD_FIELDS,
    HistoryImmutable,
    HistoryQuerySet,
    signature_record_content,
)


class SignedDocument(models.Model):
    """A document that one or more organizations sign; downloads open when every party signed."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    subject_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    title_ru = models.CharField(_("Title (Russian)"), max_length=500)
    title_kk = models.CharField(_("Title (Kazakh)"), max_length=500, blank=True)
    filename = models.CharField(_("File name"), max_length=255)
    mime_type = models.CharField(max_length=100, default="application/pdf")
    document = models.BinaryField(_("Document"))
    document_sha256 = models.CharField(max_length=64)
    pades_pdf = models.BinaryField(_("PDF with the parties' PAdES signatures"), null=True, blank=True)
    issued_pdf = models.BinaryField(_("Issued PDF with the KZhK stamp"), null=True, blank=True)
    created_at = models.DateTimeField(_("Created"), auto_now_add=True)

    class Meta:
        verbose_name = _("signed document")
        verbose_name_plural = _("signed documents")
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return self.title_ru

    @property
    def is_fully_signed(self) -> bool:
        return not self.parties.filter(signature__isnull=True).exists()


class SignedDocumentParty(models.Model):
    """One required signer of a SignedDocument: an organization (by BIN) and, once signed, its signature."""

    document = models.ForeignKey(SignedDocument, on_delete=models.CASCADE, related_name="parties")
    order = models.PositiveSmallIntegerField(default=0)
    organization = models.ForeignKey("cabinets.Organization", null=True, blank=True, on_delete=models.SET_NULL)
    bin = models.CharField(_("BIN"), max_length=12)
    organization_name = models.CharField(_("Organization"), max_length=500)
    expected_signer = models.CharField(_("Signer"), max_length=300, blank=True)
    allowed_roles = models.JSONField(default=list, blank=True)
    signature = models.OneToOneField("Signature", null=True, blank=True, on_delete=models.SET_NULL, related_name="party")

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["document", "bin"], name="signing_party_unique_bin")]

    def __str__(self):
        return f"{self.organization_name} ({self.bin})"


class SigningRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the signature")
        COMPLETED = "completed", _("Signed")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    class Purpose(models.TextChoices):
        SIGN = "sign", _("Signing")
        AUTH = "auth", _("Authentication")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    subject_id = models.CharField(max_length=64, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    signed_document = models.ForeignKey(SignedDocument, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="requests")
    document = models.BinaryField(_("Document"))
    document_sha256 = models.CharField(max_length=64)
    filename = models.CharField(_("File name"), max_length=255)
    mime_type = models.CharField(max_length=100, default="application/pdf")
    title_ru = models.CharField(_("Title (Russian)"), max_length=500)
    title_kk = models.CharField(_("Title (Kazakh)"), max_length=500, blank=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.SIGN)
    organization = models.ForeignKey("cabinets.Organization", null=True, blank=True, on_delete=models.CASCADE)
    required_bin = models.CharField(max_length=12, blank=True)
    require_legal_entity = models.BooleanField(default=True)
    allowed_roles = models.JSONField(default=list, blank=True)
    on_complete = models.CharField(max_length=200, blank=True)
    return_url = models.CharField(max_length=500)
    signer_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE)
    # SHA-256 of the session key of the browser that may sign (login, registration and password
    # reset challenges): any other browser gets 404. Blank: not bound to a session.
    session_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("signing request")
        verbose_name_plural = _("signing requests")

    def __str__(self):
        return f"{self.title_ru} ({self.status})"


class PadesPreparation(models.Model):
    """The server half of an interrupted PAdES signature (pyHanko): the PDF with its empty
    signature placeholder and the /ByteRange digest the browser signs. The CMS that comes back
    is embedded into exactly this PDF, and only while `base_sha256` is still the document's
    current revision."""

    signing_request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="pades_preparations")
    base_sha256 = models.CharField(max_length=64)
    # prepared_pdf holds only the incremental update after the base's first base_length bytes (the
    # base is the document's current revision, already stored); 0: the whole prepared PDF.
    base_length = models.BigIntegerField(default=0)
    prepared_pdf = models.BinaryField()
    digest = models.BinaryField()
    region_start = models.BigIntegerField()
    region_end = models.BigIntegerField()
    field_name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"PAdES preparation {self.pk} of {self.signing_request_id}"


# What of a signature record may change after it is stored (not hashed; the trigger lets it through).
MUTABLE_FIELDS = {"in_pades_pdf"}


class SignatureQuerySet(HistoryQuerySet):
    """Append-only like history rows (audit/chain.py), but for `MUTABLE_FIELDS`."""

    def update(self, **kwargs):
        if kwargs and set(kwargs) <= MUTABLE_FIELDS:
            return models.QuerySet.update(self, **kwargs)
        return super().update(**kwargs)


class Signature(models.Model):
    class Method(models.TextChoices):
        ECP = "ecp", _("Key file (ЭЦП)")
        QR = "qr", _("eGov QR")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    signing_request = models.ForeignKey(SigningRequest, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="signatures")
    signed_document = models.ForeignKey(SignedDocument, null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="signatures")
    organization = models.ForeignKey("cabinets.Organization", null=True, blank=True, on_delete=models.SET_NULL)
    method = models.CharField(max_length=5, choices=Method.choices, default=Method.ECP)
    signer_name = models.CharField(_("Signer"), max_length=300)
    signer_iin = models.CharField(_("IIN"), max_length=12)
    signer_bin = models.CharField(_("BIN"), max_length=12, blank=True)
    organization_name = models.CharField(_("Organization"), max_length=500, blank=True)
    roles = models.JSONField(default=list)
    certificate_serial = models.CharField(max_length=80)
    certificate_issuer = models.CharField(max_length=300)
    certificate_not_after = models.DateTimeField()
    cms = models.BinaryField()
    document_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(_("Signing date"))
    # Trusted time and revocation evidence (signing.trust): the TSA's time counts, the signer's
    # declared signingTime is kept for display; the OCSP response (or CRL) as it was received.
    tsa_time = models.DateTimeField(_("Time-stamp (TSA)"), null=True, blank=True)
    declared_time = models.DateTimeField(_("Declared signing time"), null=True, blank=True)
    level = models.CharField(max_length=6, default="B-B")
    revocation_source = models.CharField(max_length=4, blank=True)  # "ocsp" | "crl"
    revocation_produced_at = models.DateTimeField(null=True, blank=True)
    revocation_evidence = models.BinaryField(null=True, blank=True)
    # The CMS is a PAdES signature embedded in SignedDocument.pades_pdf (its row offers that PDF:
    # the CMS alone covers the /ByteRange, selectors.signature_download).
    in_pades_pdf = models.BooleanField(default=False)
    # The history hash chain (issue #17, audit/chain.py): each signature record is chained in the
    # chain of what it signed (`chain_object`: the multi-party document, else the signing request),
    # set once as it is inserted; the record is append-only like a history row.
    chain_object = models.CharField(_("History chain"), max_length=200, blank=True, editable=False)
    chain_seq = models.BigIntegerField(_("Place in the history chain"), null=True, blank=True, editable=False)
    prev_hash = models.CharField(_("Previous entry's hash"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("Hash"), max_length=64, blank=True, editable=False)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["signed_at"]
        indexes = [
            models.Index(fields=["chain_object", "chain_seq"], name="signature_chain_idx"),  # the chain's last link
            models.Index(fields=["chain_seq"], name="signature_seq_idx"),  # history_verify's order
        ]

    def __str__(self):
        return f"{self.signer_name} {self.signed_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        """Inserts and chains the record (`chain_later`: the caller chains it with
        `audit.chain.seal()` as the last step of its transaction — the chain head's lock last).
        Afterwards only `in_pades_pdf` may change (a display flag, not hashed)."""
        if self.pk is not None and not kwargs.get("force_insert"):
            if kwargs.get("update_fields") is not None and set(kwargs["update_fields"]) <= MUTABLE_FIELDS:
                return super().save(*args, **kwargs)
            raise HistoryImmutable("signature records are append-only")
        from django.db import router, transaction

        from audit import chain

        chain_later = kwargs.pop("chain_later", False)
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        self.chain_object = self.chain_object or self.chain_object_key()
        with transaction.atomic(using=using, savepoint=False):
            if not chain_later:
                chain.append(self, using=using)
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise HistoryImmutable("signature records are append-only")

    def chain_object_key(self) -> str:
        if self.signed_document_id:
            public_id = SignedDocument.objects.filter(pk=self.signed_document_id).values_list("public_id", flat=True)
            return f"signing.signeddocument:{public_id.first()}"
        if self.signing_request_id:
            return f"signing.signingrequest:{self.signing_request.public_id}"
        return f"signing.signature:{self.public_id}"

    @classmethod
    def chain_owner_field(cls) -> str:
        return "chain_object"

    def chain_owner_value(self):
        return self.chain_object

    def canonical_content(self) -> bytes:
        self.chain_object = self.chain_object or self.chain_object_key()
        return signature_record_content(object_key=self.chain_object,
                                        values={name: getattr(self, name) for name in SIGNATURE_RECORD_FIELDS})


class QrSession(models.Model):
    """One eGov QR: API 1 token (in the QR) and the bearer token for API 2; both die with the QR."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for the scan")
        SCANNED = "scanned", _("Scanned")
        SIGNED = "signed", _("Signed in the app")
        FAILED = "failed", _("Refused")
        DONE = "done", _("Completed")

    signing_request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="qr_sessions")
    api1_token = models.CharField(max_length=64, unique=True)
    auth_token_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    api1_used_at = models.DateTimeField(null=True, blank=True)
    api2_get_at = models.DateTimeField(null=True, blank=True)
    api2_put_at = models.DateTimeField(null=True, blank=True)
    cms = models.BinaryField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"QR {self.pk} {self.status}"

    @property
    def error_message(self) -> str:
        from .services import ERROR_MESSAGES  # certs' codes plus the request/QR ones

        return str(ERROR_MESSAGES.get(self.error, self.error))


class VerificationReport(models.Model):
    """A validation report the verifier produced: numbered, dated, downloadable as a PDF signed by
    KZhK (PAdES B-LTA). Keeps the verdicts, never the verified file."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.BigIntegerField(default=0)
    result = models.JSONField(default=dict)
    pdf = models.BinaryField(null=True, blank=True)

    class Meta:
        verbose_name = _("validation report")
        verbose_name_plural = _("validation reports")

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        return f"VR-{self.created_at:%Y}-{self.pk:06d}" if self.pk and self.created_at else ""
