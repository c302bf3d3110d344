"""Files written to storage BEFORE the transaction that references them (house rule: no
transaction is held across storage writes — with S3 a write is a network call).

    name = stored_first(Model, "file", "notice.pdf", pdf_bytes)      # outside any transaction
    with transaction.atomic():
        obj.file.name = name                                          # only a reference here

A rollback leaves an unreferenced file behind (harmless); a failed write leaves no row.
"""

from __future__ import annotations

from django.core.files import File
from django.core.files.base import ContentFile


def stored_first(model, field_name: str, filename: str, content: bytes | File, *, instance=None) -> str:
    """Write `content` where `model.field_name` keeps its files; returns the stored name."""
    field = model._meta.get_field(field_name)
    if isinstance(content, bytes | bytearray):
        content = ContentFile(bytes(content))
    return field.storage.save(field.generate_filename(instance, filename), content, max_length=field.max_length)
