"""The only code that changes resumable uploads (tus 1.0.0; the HTTP side is uploads/tus.py).

Transactions are short and never span storage I/O: a PATCH takes the upload's lock with one
UPDATE, streams to storage with no transaction open, then records the new offset with one
conditional UPDATE (or, for the last bytes, claims the file for its slot in one transaction).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import secrets
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from homeportal.uploads import ALLOWED_TYPES_HELP, sniff_head

from . import storage
from .body import BodyReader
from .models import ResumableUpload
from .sha256 import ResumableSha256
from .slots import Slot, open_slot

log = logging.getLogger(__name__)

SNIFF_BYTES = 8192  # the type is decided from these first bytes, before anything is stored
READ_SIZE = 4 * 1024 * 1024  # one block of a PATCH body (two such buffers per request)
LOCK_SECONDS = 60  # a PATCH renews its lock while it streams; a dead worker's lock lapses
CHECKSUM_ALGORITHMS = ("sha256", "sha1", "md5")


class UploadError(Exception):
    """A refusal with its HTTP status (the tus view turns it into the response)."""

    def __init__(self, status: int, message: str = "", *, code: str = ""):
        super().__init__(message or code)
        self.status, self.message, self.code = status, message, code


def mb(n: int) -> int:
    return n // (1024 * 1024)


# --- parsing -------------------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: `key base64value` pairs, comma-separated; keys unique, no spaces or commas."""
    result: dict[str, str] = {}
    if not header.strip():
        return result
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or key in result or not key.isascii():
            raise UploadError(400, code="bad_metadata")
        try:
            value = base64.b64decode(parts[1], validate=True).decode() if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UploadError(400, code="bad_metadata") from exc
        result[key] = value
    return result


def format_metadata(metadata: dict[str, str]) -> str:
    """The canonical header form (re-encoded from parsed values: nothing raw is echoed back)."""
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items())


def parse_checksum(header: str) -> tuple[str, bytes] | None:
    if not header:
        return None
    algorithm, _sep, value = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise UploadError(400, code="checksum_algorithm")
    try:
        return algorithm, base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise UploadError(400, code="bad_checksum") from exc


def clean_filename(name: str) -> str:
    name = os.path.basename(name.replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    return name.strip()[-255:] or "file"


# --- creation ------------------------------------------------------------------------------------


def active_count(organization) -> int:
    return ResumableUpload.objects.filter(organization=organization, state=ResumableUpload.State.ACTIVE,
                                          expires_at__gt=timezone.now()).count()


def create(*, user, slot: Slot, length: int, metadata: dict[str, str], now=None) -> ResumableUpload:
    now = now or timezone.now()
    if length > slot.max_bytes:
        raise UploadError(413, _("The file is larger than %(mb)s MB.") % {"mb": mb(slot.max_bytes)}, code="too_large")
    if length == 0:
        raise UploadError(400, _("The file is empty."), code="empty")
    if active_count(user.organization) >= settings.TUS_MAX_ACTIVE_PER_ORGANIZATION:
        raise UploadError(429, _("Your organization already has %(n)s unfinished uploads. Finish or cancel one of them first.")
                          % {"n": settings.TUS_MAX_ACTIVE_PER_ORGANIZATION}, code="quota")
    filename = clean_filename(metadata.get("filename", ""))
    upload = ResumableUpload(
        user=user, organization=user.organization, target=slot.kind, owner_public_id=slot.owner_public_id,
        slot=slot.key, filename=filename, metadata=format_metadata(metadata), length=length,
        sha256_state=ResumableSha256().state, backend=storage.backend_for_default_storage(),
        storage_name=slot.storage_name(filename), created_at=now, expires_at=now + expiry(),
    )
    storage.begin(upload)  # an empty file / an S3 multipart upload; no transaction is open
    try:
        upload.save(force_insert=True)
    except BaseException:
        storage.remove(upload)
        raise
    return upload


def expiry() -> timedelta:
    return timedelta(seconds=settings.TUS_EXPIRY_SECONDS)


# --- appending -----------------------------------------------------------------------------------


def _lock(upload: ResumableUpload, offset: int, now) -> str:
    token = secrets.token_hex(16)
    taken = ResumableUpload.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        pk=upload.pk, state=ResumableUpload.State.ACTIVE, offset=offset,
    ).update(lock_token=token, locked_until=now + timedelta(seconds=LOCK_SECONDS))
    if taken:
        return token
    current = ResumableUpload.objects.filter(pk=upload.pk).values_list("offset", "state").first()
    if current is None or current[1] != ResumableUpload.State.ACTIVE:
        raise UploadError(404, code="gone")
    if current[0] != offset:
        raise UploadError(409, code="offset")
    raise UploadError(423, _("This file is being uploaded in another window; try again in a minute."), code="locked")


def _unlock(upload: ResumableUpload, token: str) -> None:
    ResumableUpload.objects.filter(pk=upload.pk, lock_token=token).update(lock_token="", locked_until=None)


def check_usable(upload: ResumableUpload, now=None) -> None:
    now = now or timezone.now()
    if upload.state == ResumableUpload.State.REFUSED:
        raise UploadError(404, code="gone")
    if upload.state == ResumableUpload.State.ACTIVE and upload.expires_at <= now:
        raise UploadError(410, _("The upload has expired; choose the file again."), code="expired")


def append(*, upload: ResumableUpload, offset: int, body: BodyReader, content_length: int,
           checksum: tuple[str, bytes] | None = None, now=None) -> ResumableUpload:
    """Apply one PATCH body at `offset`. Returns the upload with its new offset.

    The body is read in blocks of READ_SIZE into two buffers used in turn: while block n is
    written to storage and block n + 1 read from the socket, a thread of this request hashes
    block n − 1 (the file's SHA-256 midstate and, with Upload-Checksum, the chunk's own digest;
    both release the GIL). So a PATCH takes about as long as the slower of hashing and moving
    the bytes, not their sum; each byte is hashed once for the file (plus once for the chunk's
    checksum when the client sends one) and never read back."""
    now = now or timezone.now()
    check_usable(upload, now)
    if offset != upload.offset:
        raise UploadError(409, code="offset")
    if upload.state == ResumableUpload.State.CLAIMED or content_length == 0:
        return upload
    if offset + content_length > upload.length:
        raise UploadError(413, code="past_length")
    token = _lock(upload, offset, now)
    locked = True
    sink = hashing = None
    try:
        sink = storage.open_sink(upload)
        whole = ResumableSha256(upload.sha256_state)
        chunk_hash = hashlib.new(checksum[0]) if checksum else None
        hashing = _Hashing(whole, chunk_hash)
        buffers = (bytearray(READ_SIZE), bytearray(READ_SIZE))
        received, content_type, turn = 0, upload.content_type, 0
        renewed = time.monotonic()

        if offset == 0:
            need = min(SNIFF_BYTES, upload.length)
            head = memoryview(buffers[0])[: min(need, content_length)]
            got = body.readinto(head)
            if got < need:
                raise UploadError(400, code="short_head") if not body.broken else UploadError(400, code="broken")
            kind = sniff_head(bytes(head))
            if kind is None:
                _refuse(upload)
                locked = False
                raise UploadError(415, _("This file type is not accepted. Allowed: %(types)s.")
                                  % {"types": ALLOWED_TYPES_HELP}, code="bad_type")
            content_type = kind.mime
            sink.write(head)
            hashing.submit(head)
            received, turn = got, 1
        while received < content_length:
            # This buffer last held block n − 2, whose hash finished before block n − 1's began.
            view = memoryview(buffers[turn % 2])[: min(READ_SIZE, content_length - received)]
            got = body.readinto(view)
            if got:
                sink.write(view[:got])
                hashing.submit(view[:got])
                received += got
                turn += 1
            if body.broken:
                break
            if time.monotonic() - renewed > 5:
                renewed = time.monotonic()
                if not ResumableUpload.objects.filter(pk=upload.pk, lock_token=token).update(
                        locked_until=timezone.now() + timedelta(seconds=LOCK_SECONDS)):
                    raise UploadError(409, code="lock_lost")
        hashing.wait()
        if checksum is not None and (body.broken or chunk_hash.digest() != checksum[1]):
            sink.discard()
            raise UploadError(460, _("The data was damaged on the way; it will be sent again."), code="checksum")
        new_offset = offset + received
        if received == 0:
            return upload
        if new_offset == upload.length:
            finished = _finish(upload, sink, whole, token=token, offset=offset, content_type=content_type)
            locked = False  # the claimed row carries no lock
            return finished
        sink.commit(new_offset)
        recorded = ResumableUpload.objects.filter(pk=upload.pk, lock_token=token, offset=offset).update(
            offset=new_offset, sha256_state=whole.state, content_type=content_type,
            expires_at=timezone.now() + expiry(), lock_token="", locked_until=None,
        )
        locked = not recorded
        if not recorded:  # terminated (or expired and purged) meanwhile
            sink.discard()
            if upload.backend == ResumableUpload.Backend.S3:
                storage.remove(upload)
            raise UploadError(404, code="gone")
        if upload.backend == ResumableUpload.Backend.S3:
            sink.forget_old_tails(new_offset)
        upload.offset, upload.sha256_state, upload.content_type = new_offset, whole.state, content_type
        upload.expires_at = timezone.now() + expiry()
        return upload
    finally:
        if hashing is not None:
            hashing.close()
        if sink is not None:
            sink.close()
        if locked:
            _unlock(upload, token)


class _Hashing:
    """The digests of one PATCH, updated block by block in a thread of their own, in order:
    `submit()` waits for the previous block before handing over the next one."""

    def __init__(self, whole: ResumableSha256, chunk_hash):
        self.whole, self.chunk_hash = whole, chunk_hash
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tus-sha256")
        self._pending = None

    def _update(self, view) -> None:
        self.whole.update(view)
        if self.chunk_hash is not None:
            self.chunk_hash.update(view)

    def submit(self, view) -> None:
        self.wait()
        self._pending = self._pool.submit(self._update, view)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.wait()  # never leave a thread reading a buffer that is about to go
        self._pool.shutdown(wait=True)


def _refuse(upload: ResumableUpload) -> None:
    """Nothing of a refused upload stays: its storage is removed and it answers 404 from now on."""
    storage.remove(upload)
    ResumableUpload.objects.filter(pk=upload.pk).update(state=ResumableUpload.State.REFUSED, lock_token="",
                                                        locked_until=None)
    upload.state = ResumableUpload.State.REFUSED


def _finish(upload, sink, whole: ResumableSha256, *, token: str, offset: int, content_type: str) -> ResumableUpload:
    """The last bytes are in: complete the stored file, then hand it to its slot in one transaction."""
    sink.complete(upload)  # S3: CompleteMultipartUpload; file system: fsync — outside any transaction
    digest = whole.hexdigest()
    try:
        slot = open_slot(upload.user, upload.target, upload.owner_public_id, upload.slot)
        with transaction.atomic():
            locked = ResumableUpload.objects.select_for_update().filter(
                pk=upload.pk, lock_token=token, offset=offset, state=ResumableUpload.State.ACTIVE).first()
            if locked is None:
                raise UploadError(404, code="gone")
            locked.offset, locked.sha256, locked.sha256_state = locked.length, digest, whole.state
            locked.content_type, locked.state = content_type, ResumableUpload.State.CLAIMED
            locked.lock_token, locked.locked_until = "", None
            slot.claim(slot, locked)
            locked.save()
    except Exception as exc:
        storages["default"].delete(upload.storage_name)
        _refuse(upload)
        if isinstance(exc, UploadError):
            raise
        if isinstance(exc, Http404):
            raise UploadError(404, code="slot_gone") from exc
        message = getattr(exc, "message", None)
        if message:
            raise UploadError(409, str(message), code="claim_refused") from exc
        raise
    return locked


# --- termination and expiry ----------------------------------------------------------------------


def terminate(*, upload: ResumableUpload) -> None:
    """DELETE: an unfinished upload's stored bytes are removed; a finished one's file stays with
    its slot (only the upload record goes)."""
    if upload.state == ResumableUpload.State.ACTIVE:
        storage.remove(upload)
    ResumableUpload.objects.filter(pk=upload.pk).delete()


def purge_expired(now=None) -> int:
    """Celery beat: remove expired unfinished uploads (S3: the multipart upload is aborted) and
    old records of finished or refused ones."""
    now = now or timezone.now()
    count = 0
    stale = ResumableUpload.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now), state=ResumableUpload.State.ACTIVE,
        expires_at__lte=now,
    )
    for upload in stale.iterator():
        try:
            storage.remove(upload)
        except Exception:
            log.exception("could not remove the storage of expired upload %s", upload.pk)
            continue
        ResumableUpload.objects.filter(pk=upload.pk, offset=upload.offset, state=ResumableUpload.State.ACTIVE).delete()
        count += 1
    ResumableUpload.objects.exclude(state=ResumableUpload.State.ACTIVE).filter(
        created_at__lt=now - expiry() * 7).delete()
    return count
