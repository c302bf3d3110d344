"""The seam between resumable uploads and the apps that own document slots.

An app describes a slot with `Slot` (from its selectors: ownership and editability checked there,
404 otherwise) and takes a finished upload with its service `claim_upload(slot, upload)`, which
creates its file row for the already-stored file inside one transaction. `OPENERS` names, per kind
of owner, the selector that opens a slot for a user:

    slot = open_slot(user, "application", public_id, "12")   # Http404 unless it is theirs
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.http import Http404
from django.utils.module_loading import import_string

OPENERS = {
    "application": "applications.selectors.upload_slot",
    "appeal": "appeals.selectors.upload_slot",
}
# The per-file limit of each kind's slots (what the forms announce; the slot enforces it).
MAX_BYTES = {
    "application": "applications.services.MAX_FILE_BYTES",
    "appeal": "appeals.services.MAX_FILE_BYTES",
}


@dataclass(frozen=True)
class Slot:
    kind: str  # a key of OPENERS
    owner_public_id: uuid.UUID
    key: str  # the document slot within the owner
    max_bytes: int  # per-file limit of this slot (600 MB applications, 700 MB appeals)
    model: type  # where the finished file is recorded (ApplicationFile, AppealFile)
    field_name: str  # its FileField: the upload is stored under the name that field generates
    owner_field: str  # the model's foreign key to the owner ("application", "appeal")
    owner: object  # the Application / Appeal
    claim: Callable  # the app's services.claim_upload(slot, upload) -> file row

    def storage_name(self, filename: str) -> str:
        field = self.model._meta.get_field(self.field_name)
        return field.generate_filename(self.model(**{self.owner_field: self.owner}), filename)


def open_slot(user, kind: str, owner_public_id, key: str) -> Slot:
    if kind not in OPENERS:
        raise Http404
    return import_string(OPENERS[kind])(user=user, public_id=owner_public_id, slot_key=key)
