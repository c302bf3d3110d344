"""The one shape of a history row («История заявки») for every domain: appeals, guarantee
applications (their decision documents write into the application's history) and later
subsidy applications.

Rows are append-only: written once by the domain's services (the workflow writes the status
rows), never changed afterwards. `canonical_content()` is the row's content in one
deterministic byte form — what a hash chain over the history (issue #17: content, object,
actor, previous hash) will hash; `document_sha256` lets that chain cover the document without
reading storage again.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

# What history rows store as the actor when KZhK (a moderator, the BPMS) acted: the row keeps
# the Russian name as written; `actor_display` shows it in the reader's language.
KZHK_ACTOR = "АО «КЖК»"
KZHK_BPMS_ACTOR = "АО «КЖК» (BPMS)"
ACTOR_LABELS = {KZHK_ACTOR: _("JSC «KZhK»"), KZHK_BPMS_ACTOR: _("JSC «KZhK» (BPMS)")}


def history_document_path(instance: HistoryEntry, filename: str) -> str:
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"{instance.document_folder()}/history/{uuid.uuid4().hex}{ext}"


class HistoryEntry(models.Model):
    """One step: when, what (event; for status steps the status it left and the one it
    entered), who (the user, if any, and the name shown), the data the step carried, a
    comment, and the document it issued or received («Скачать»)."""

    # The ForeignKey to the history's object; subclasses declare it and name it here.
    OWNER_FIELD = ""

    created_at = models.DateTimeField(_("Date"), default=timezone.now)
    event = models.CharField(_("Event"), max_length=40)
    from_status = models.CharField(_("Previous status"), max_length=30, blank=True)
    status = models.CharField(_("Status"), max_length=30, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("User"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("Who"), max_length=500, blank=True)
    payload = models.JSONField(_("Data"), default=dict, blank=True)
    comment = models.TextField(_("Comment"), blank=True)
    document = models.FileField(_("Document"), upload_to=history_document_path, blank=True, max_length=300)
    document_name = models.CharField(_("Document name"), max_length=255, blank=True)
    document_sha256 = models.CharField(_("Document SHA-256"), max_length=64, blank=True)
    # «Signed by whom»: the signature the step records (its CMS, signer and time live in signing).
    signature = models.ForeignKey(
        "signing.Signature", verbose_name=_("Signature"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("history entries are append-only: write a new entry instead")
        super().save(*args, **kwargs)

    @property
    def actor_display(self) -> str:
        """The «Who» column in the reader's language: KZhK's label through gettext, and the
        Russian names of the object's organizations replaced by their Kazakh names in Kazakh."""
        name = self.actor_name
        label = ACTOR_LABELS.get(name)
        if label is not None:
            return str(label)
        if get_language() == "kk":
            for org in (getattr(self.owner, "organization", None), getattr(self.owner, "developer", None)):
                if org is not None and org.name_kk and org.name_ru and org.name_ru in name:
                    name = name.replace(org.name_ru, org.name_kk)
        return name

    @property
    def owner(self) -> models.Model:
        return getattr(self, self.OWNER_FIELD)

    def document_folder(self) -> str:
        """Where the row's document is stored: under its object's public id."""
        owner = self.owner
        return f"{owner._meta.app_label}/{getattr(owner, 'public_id', owner.pk)}"

    def attach(self, *, name: str, path: str, content: bytes | None = None, sha256: str = "") -> None:
        """Point the (unsaved) row at a document already in storage."""
        self.document.name = path
        self.document_name = name[:255]
        self.document_sha256 = sha256 or (hashlib.sha256(content).hexdigest() if content is not None else "")

    def canonical_content(self) -> bytes:
        owner = self.owner
        content = {
            "object": f"{owner._meta.label_lower}:{getattr(owner, 'public_id', owner.pk)}",
            "at": self.created_at.isoformat(),
            "event": self.event,
            "from_status": self.from_status,
            "status": self.status,
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "payload": self.payload,
            "comment": self.comment,
            "document_name": self.document_name,
            "document_sha256": self.document_sha256,
            "signature": str(self.signature.public_id) if self.signature_id else None,
        }
        return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()
