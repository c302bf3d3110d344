"""Which stored files hold KZhK-issued B-LTA PDFs that the archive task keeps verifiable.

Each app registers, in its AppConfig.ready(), the file fields where it keeps documents KZhK
issued (PAdES B-LTA, see docs/signing.md)::

    register_archived_file("appeals.Appeal", "ds_signed_file")

`signing_archive_retimestamp` (daily, Celery beat) walks `signing.SignedDocument.issued_pdf`
and every registered field. A renewed PDF is an incremental update of the old one (the old bytes
are its prefix), written to a NEW storage name outside any transaction; the row is re-pointed only
if nobody changed it meanwhile. History rows are append-only and keep their document as issued:
they are not registered here (docs/signing.md says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps


@dataclass(frozen=True)
class ArchivedFile:
    model_label: str
    field_name: str

    @property
    def model(self):
        return apps.get_model(self.model_label)


_registry: dict[tuple[str, str], ArchivedFile] = {}


def register_archived_file(model_label: str, field_name: str) -> ArchivedFile:
    entry = ArchivedFile(model_label=model_label, field_name=field_name)
    _registry[(model_label, field_name)] = entry
    return entry


def archived_files() -> list[ArchivedFile]:
    return [_registry[key] for key in sorted(_registry)]
