"""Upload machinery shared by every app that takes files (applications, appeals, cabinets).

- `LimitedTemporaryFileUploadHandler` streams each file to a temporary file in 64 KiB chunks
  and aborts as soon as it passes `UPLOAD_MAX_BYTES` (a view may lower the limit for its
  request with `limit_upload_size(request, n)` before touching request.POST/FILES), so neither
  memory nor disk holds more than the limit and no partial file is kept.
- `sniff_kind(file)` decides what a file is from its first bytes, never from its name.
- `private_file_response(fieldfile, filename)` serves a stored file as an attachment; callers
  must have checked ownership through a selector first.
"""

from __future__ import annotations

import mimetypes
import os
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _

UPLOAD_LIMIT_ATTR = "_homeportal_upload_limit"
UPLOAD_TOO_LARGE_ATTR = "_homeportal_upload_too_large"
CHUNK_SIZE = 64 * 1024


def limit_upload_size(request, max_bytes: int) -> None:
    """Lower the per-file limit for this request; call before reading request.POST/FILES."""
    setattr(request, UPLOAD_LIMIT_ATTR, max_bytes)


def upload_was_too_large(request) -> bool:
    return bool(getattr(request, UPLOAD_TOO_LARGE_ATTR, False))


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    chunk_size = CHUNK_SIZE

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._received = 0
        self._limit = getattr(self.request, UPLOAD_LIMIT_ATTR, settings.UPLOAD_MAX_BYTES)

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > self._limit:
            setattr(self.request, UPLOAD_TOO_LARGE_ATTR, True)
            self.file.close()  # NamedTemporaryFile: closing deletes it, nothing partial remains
            raise StopUpload(connection_reset=True)
        return super().receive_data_chunk(raw_data, start)


@dataclass(frozen=True)
class FileKind:
    code: str  # pdf, image, office, archive
    mime: str


ALLOWED_KINDS = {
    "application/pdf": "pdf",
    "image/jpeg": "image",
    "image/png": "image",
    "image/tiff": "image",
    "application/zip": "archive",
    "application/x-7z-compressed": "archive",
    "application/x-rar-compressed": "archive",
    "application/vnd.rar": "archive",
    "application/msword": "office",
    "application/vnd.ms-excel": "office",
    "application/x-ole-storage": "office",
}
OOXML_MARKERS = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ALLOWED_TYPES_HELP = _("PDF, images (JPG, PNG, TIFF), office documents (DOC, DOCX, XLS, XLSX), archives (ZIP, RAR, 7Z)")


def sniff_kind(uploaded_file) -> FileKind | None:
    """What the file really is, by content. None when it is not an allowed type."""
    uploaded_file.seek(0)
    head = uploaded_file.read(8192)
    uploaded_file.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: legacy .doc/.xls
        return FileKind("office", "application/msword")
    guess = filetype.guess(head)
    mime = guess.mime if guess else None
    if mime == "application/zip":
        try:
            names = zipfile.ZipFile(uploaded_file).namelist()
        except zipfile.BadZipFile:
            return None
        finally:
            uploaded_file.seek(0)
        for prefix, office_mime in OOXML_MARKERS.items():
            if any(n.startswith(prefix) for n in names):
                return FileKind("office", office_mime)
        return FileKind("archive", mime)
    if mime in ALLOWED_KINDS:
        return FileKind(ALLOWED_KINDS[mime], mime)
    return None


def private_file_response(fieldfile, filename: str | None = None) -> FileResponse:
    name = filename or os.path.basename(fieldfile.name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(fieldfile.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response
