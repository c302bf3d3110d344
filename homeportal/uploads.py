"""Upload machinery shared by every app that takes files (applications, appeals, cabinets).

- `LimitedTemporaryFileUploadHandler` streams each file to a temporary file in 64 KiB chunks
  and aborts as soon as it passes the limit, so neither memory nor disk holds more than the
  limit and no partial file is kept. The limit is `UPLOAD_MAX_BYTES` unless the view declares
  its own with `@upload_limit(n)`: `UploadLimitMiddleware` (before CsrfViewMiddleware, which
  is the first to read request.POST) applies it before the body is parsed.
- `sniff_kind(file)` decides what a file is from its first bytes, never from its name.
- `private_file_response(fieldfile, filename)` serves a stored file as an attachment; callers
  must have checked ownership through a selector first.
"""

from __future__ import annotations

import mimetypes
import os
import re
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _

UPLOAD_LIMIT_ATTR = "_homeportal_upload_limit"
UPLOAD_TOO_LARGE_ATTR = "_homeportal_upload_too_large"
UPLOAD_RECEIVED_ATTR = "_homeportal_upload_received"  # bytes of every file of this request so far
UPLOAD_FILE_TOO_LARGE_ATTR = "_homeportal_upload_file_too_large"  # one file alone passed the limit
UPLOAD_TOTAL_TOO_LARGE_ATTR = "_homeportal_upload_total_too_large"  # the files together passed it
CHUNK_SIZE = 64 * 1024


def limit_upload_size(request, max_bytes: int) -> None:
    """Lower the per-file limit for this request. Only effective before anything has read
    request.POST/FILES — which CSRF middleware does before the view runs; so views declare
    their limit with @upload_limit and this is what the middleware calls."""
    setattr(request, UPLOAD_LIMIT_ATTR, max_bytes)


def upload_limit(max_bytes: int):
    """Declares a view's per-file upload limit (see UploadLimitMiddleware)."""

    def decorator(view_func):
        view_func.upload_max_bytes = max_bytes
        return view_func

    return decorator


class UploadLimitMiddleware:
    """Applies the resolved view's @upload_limit before CSRF middleware parses the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(view_func, "upload_max_bytes", None)
        if limit is not None:
            limit_upload_size(request, limit)
        return None


def upload_was_too_large(request) -> bool:
    """A file of this request, or its files together, passed the limit (nothing of it was kept)."""
    return bool(getattr(request, UPLOAD_TOO_LARGE_ATTR, False))


def upload_total_was_too_large(request) -> bool:
    """Only the files together passed the limit: every single file was within it. Views say so
    (the total limit of one upload), not that a file was too large."""
    return bool(getattr(request, UPLOAD_TOTAL_TOO_LARGE_ATTR, False)) and not getattr(
        request, UPLOAD_FILE_TOO_LARGE_ATTR, False)


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    chunk_size = CHUNK_SIZE

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._received = 0
        self._limit = getattr(self.request, UPLOAD_LIMIT_ATTR, settings.UPLOAD_MAX_BYTES)

    def receive_data_chunk(self, raw_data, start):
        # The limit holds per file and for all files of one request together (#10 item 9: three
        # files each under the limit made one request of three times it).
        self._received += len(raw_data)
        total = getattr(self.request, UPLOAD_RECEIVED_ATTR, 0) + len(raw_data)
        setattr(self.request, UPLOAD_RECEIVED_ATTR, total)
        if self._received > self._limit or total > self._limit:
            setattr(self.request, UPLOAD_TOO_LARGE_ATTR, True)
            setattr(self.request, UPLOAD_FILE_TOO_LARGE_ATTR if self._received > self._limit
                    else UPLOAD_TOTAL_TOO_LARGE_ATTR, True)
            # SkipFile: the parser closes (and so deletes) the temporary file, discards the rest
            # of this file and goes on with the other fields — the CSRF token may come after it.
            raise SkipFile
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
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "office",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "office",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "office",
    "application/vnd.oasis.opendocument.text": "office",
    "application/vnd.oasis.opendocument.spreadsheet": "office",
}
OOXML_MARKERS = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ALLOWED_TYPES_HELP = _("PDF, images (JPG, PNG, TIFF), office documents (DOC, DOCX, XLS, XLSX), archives (ZIP, RAR, 7Z)")


def sniff_head(head: bytes) -> FileKind | None:
    """What a file is from its first bytes alone (resumable uploads decide before storing a byte).
    ZIP-based office documents are told from plain archives by the names in the local file
    headers of the first entries (OOXML writes [Content_Types].xml, _rels/ and word/ ... first)."""
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return FileKind("office", "application/msword")
    guess = filetype.guess(head)
    mime = guess.mime if guess else None
    if mime == "application/zip":
        for prefix, office_mime in OOXML_MARKERS.items():
            if re.search(rb"PK\x03\x04.{26}" + re.escape(prefix.encode()), head, re.DOTALL):
                return FileKind("office", office_mime)
        return FileKind("archive", mime)
    if mime in ALLOWED_KINDS:
        return FileKind(ALLOWED_KINDS[mime], mime)
    return None


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


# The extension a file is stored and downloaded with follows its sniffed type, never the name
# the user gave (#10 item 9: a PDF named .html was stored and served as .html).
KIND_EXTENSIONS = {
    "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/tiff": ".tif",
    "application/zip": ".zip", "application/x-7z-compressed": ".7z", "application/x-rar-compressed": ".rar",
    "application/vnd.rar": ".rar", "application/msword": ".doc", "application/vnd.ms-excel": ".xls",
    "application/x-ole-storage": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt", "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}


def extension_for(mime: str) -> str:
    return KIND_EXTENSIONS.get(mime or "", "")


def download_name(name: str, mime: str) -> str:
    """`name` with the extension of its sniffed type («отчёт.html» of a PDF → «отчёт.pdf»)."""
    ext = extension_for(mime)
    if not ext:
        return name
    stem, current = os.path.splitext(name)
    allowed = {e for m, e in KIND_EXTENSIONS.items() if m == mime} | ({".jpeg"} if ext == ".jpg" else set()) | (
        {".tiff"} if ext == ".tif" else set())
    return name if current.lower() in allowed else f"{stem or 'file'}{ext}"


def private_file_response(fieldfile, filename: str | None = None, content_type: str | None = None) -> FileResponse:
    """With `content_type` (the sniffed one recorded at upload) the download carries it and an
    extension that matches it, whatever the uploaded name said."""
    name = filename or os.path.basename(fieldfile.name)
    if content_type:
        name = download_name(name, content_type)
    content_type = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(fieldfile.open("rb"), as_attachment=True, filename=name, content_type=content_type)
    response.headers["Cache-Control"] = "private, no-store"
    return response
