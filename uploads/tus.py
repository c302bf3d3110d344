"""The tus resumable upload protocol, version 1.0.0 (https://tus.io/protocols/resumable-upload),
core protocol plus the Creation, Expiration, Checksum and Termination extensions — the HTTP side
only; uploads/services.py does the work.

    OPTIONS  /uploads/tus/                                 capabilities (no Tus-Resumable needed)
    POST     /uploads/tus/<kind>/<owner public id>/<slot>/ Creation: Upload-Length, Upload-Metadata
    HEAD     /uploads/tus/<upload id>/                     Upload-Offset, Upload-Length, Upload-Metadata
    PATCH    /uploads/tus/<upload id>/                     application/offset+octet-stream at Upload-Offset
    DELETE   /uploads/tus/<upload id>/                     Termination

Authentication and ownership are the portal's: a signed-in user of an organization; the slot is
opened through the owner's selector (uploads.slots), and an upload URL answers only for the user
and organization that created it — anyone else gets 404. CSRF protection applies as everywhere
(the widget sends X-CSRFToken). Not offered: creation-with-upload, creation-defer-length,
concatenation, checksum-trailer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.http import http_date
from django.views.decorators.cache import never_cache

from . import services
from .body import BodyReader
from .models import ResumableUpload
from .services import UploadError
from .slots import open_slot

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,expiration,checksum,termination"
OCTET = "application/offset+octet-stream"


def _response(status: int = 204, body: str = "", **headers) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = str(value)
    return response


def _error(exc: UploadError) -> HttpResponse:
    headers = {"Tus_Version": TUS_VERSION} if exc.status == 412 else {}
    return _response(exc.status, exc.message, **headers)


def _method(request) -> str:
    return (request.headers.get("X-HTTP-Method-Override") or request.method).upper()


def _int_header(request, name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():
        raise UploadError(400, code=f"bad_{name.lower()}")
    return int(value)


def _check_version(request) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise UploadError(412, code="version")


def _user(request):
    user = request.user
    if not user.is_authenticated:
        raise UploadError(403, code="anonymous")
    if getattr(user, "organization_id", None) is None:
        raise Http404
    return user


def options_response() -> HttpResponse:
    return _response(204, Tus_Version=TUS_VERSION, Tus_Extension=EXTENSIONS,
                     Tus_Max_Size=settings.UPLOAD_MAX_BYTES,
                     Tus_Checksum_Algorithm=",".join(services.CHECKSUM_ALGORITHMS))


@never_cache
def creation(request, kind: str, owner_public_id, slot: str):
    method = _method(request)
    if method == "OPTIONS":
        return options_response()
    try:
        if method != "POST":
            return _response(405, Allow="OPTIONS, POST")
        _check_version(request)
        user = _user(request)
        if request.headers.get("Upload-Defer-Length"):
            raise UploadError(400, code="defer_length_unsupported")
        length = _int_header(request, "Upload-Length")
        metadata = services.parse_metadata(request.headers.get("Upload-Metadata", ""))
        target = open_slot(user, kind, owner_public_id, slot)  # Http404 unless theirs and editable
        upload = services.create(user=user, slot=target, length=length, metadata=metadata)
    except UploadError as exc:
        return _error(exc)
    except Http404:
        return _response(404)
    return _response(201, Location=request.build_absolute_uri(f"/uploads/tus/{upload.pk}/"),
                     Upload_Expires=http_date(upload.expires_at.timestamp()))


@never_cache
def resource(request, upload_id):
    method = _method(request)
    if method == "OPTIONS":
        return options_response()
    try:
        _check_version(request)
        user = _user(request)
        upload = ResumableUpload.objects.filter(pk=upload_id, user=user, organization_id=user.organization_id).first()
        if upload is None:
            raise Http404
        if method == "HEAD":
            services.check_usable(upload)
            return _head(upload)
        if method == "PATCH":
            return _patch(request, upload)
        if method == "DELETE":
            services.terminate(upload=upload)
            return _response(204)
        return _response(405, Allow="OPTIONS, HEAD, PATCH, DELETE")
    except UploadError as exc:
        return _error(exc)
    except Http404:
        return _response(404)


def _head(upload: ResumableUpload) -> HttpResponse:
    headers = {"Upload_Offset": upload.offset, "Upload_Length": upload.length}
    if upload.metadata:
        headers["Upload_Metadata"] = upload.metadata
    if upload.state == ResumableUpload.State.ACTIVE:
        headers["Upload_Expires"] = http_date(upload.expires_at.timestamp())
    return _response(200, **headers)


def _patch(request, upload: ResumableUpload) -> HttpResponse:
    if request.content_type != OCTET:
        raise UploadError(415, code="content_type")
    offset = _int_header(request, "Upload-Offset")
    content_length = _int_header(request, "Content-Length")
    checksum = services.parse_checksum(request.headers.get("Upload-Checksum", ""))
    upload = services.append(upload=upload, offset=offset, body=BodyReader(request, content_length),
                             content_length=content_length, checksum=checksum)
    headers = {"Upload_Offset": upload.offset}
    if upload.state == ResumableUpload.State.ACTIVE:
        headers["Upload_Expires"] = http_date(upload.expires_at.timestamp())
    return _response(204, **headers)
