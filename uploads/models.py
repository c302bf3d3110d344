"""A resumable (tus 1.0.0) upload in progress: who started it, for which document slot, how far
it got. Only uploads/services.py changes these rows."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ResumableUpload(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("In progress")
        CLAIMED = "claimed", _("Attached")
        REFUSED = "refused", _("Refused")

    class Backend(models.TextChoices):
        FILESYSTEM = "fs", _("File system")
        S3 = "s3", _("S3 multipart")

    # The URL token: unguessable, and every lookup is also filtered by the user and organization.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey("cabinets.Organization", on_delete=models.CASCADE, related_name="+")
    # The document slot it was started for (uploads.slots): kind, the owner's public id, slot key.
    target = models.CharField(_("Kind"), max_length=30)
    owner_public_id = models.UUIDField()
    slot = models.CharField(_("Slot"), max_length=50)
    filename = models.CharField(_("File name"), max_length=255)
    metadata = models.TextField(_("Upload-Metadata"), blank=True)  # canonical form, as HEAD returns it
    length = models.BigIntegerField(_("Size, bytes"))
    offset = models.BigIntegerField(_("Received, bytes"), default=0)
    content_type = models.CharField(_("Content type"), max_length=200, blank=True)  # sniffed from the first chunk
    sha256_state = models.BinaryField(default=bytes)  # SHA-256 midstate of bytes [0, offset)
    sha256 = models.CharField(max_length=64, blank=True)
    backend = models.CharField(max_length=2, choices=Backend.choices)
    storage_name = models.CharField(max_length=300)  # the final name in the default storage
    s3_upload_id = models.CharField(max_length=1024, blank=True)
    state = models.CharField(_("Upload state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("Expires"))
    lock_token = models.CharField(max_length=32, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Resumable upload")
        verbose_name_plural = _("Resumable uploads")
        indexes = [
            models.Index(fields=["organization", "state"], name="upload_org_state_idx"),
            models.Index(fields=["state", "expires_at"], name="upload_state_expires_idx"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.offset}/{self.length})"

    @property
    def is_complete(self) -> bool:
        return self.offset == self.length
