"""Signing services: the only code that writes signing state. The user's key never reaches the
server: the browser signs (the key file in the page, or NCALayer) what signing_request_to_sign
returns and sends only the CMS to signing_request_submit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import blobs, trust
from .archive import archived_files
from .certs import (  # noqa: F401 - the public contract re-exports these
    ERROR_MESSAGES,
    CertificateInfo,
    OpenedKey,
    SigningError,
    certificate_check,
    certificate_info,
    pkcs12_open,
)
from .cms import cms_content, cms_sign, cms_verify  # noqa: F401
from .completion import completion_name, completion_run
from .models import (
    PadesPreparation,
    QrSession,
    Signature,
    SignedDocument,
    SignedDocumentParty,
    SigningRequest,
    VerificationReport,
)
from .pdf import pdf_issue_by_kzhk, pdf_render, pdf_verify  # noqa: F401

logger = logging.getLogger(__name__)

REQUEST_TTL = dt.timedelta(hours=24)
QR_TTL = dt.timedelta(minutes=10)

ERR_ALREADY_SIGNED = _("This document has already been signed.")
ERR_REQUEST_EXPIRED = _("The signing request has expired. Start the signing again.")
ERR_QR_EXPIRED = _("The QR code has expired. Get a new QR code.")
ERR_TOKEN = _("The token is invalid or has already been used.")
ERR_DOCUMENT_CHANGED = _("The signature does not match the document sent for signing.")
ERR_QR_NOT_SIGNED = _("The document has not been signed in the app yet.")
ERROR_MESSAGES.update({  # so a code stored on a QR session shows its message later
    "already_signed": ERR_ALREADY_SIGNED, "request_expired": ERR_REQUEST_EXPIRED, "qr_expired": ERR_QR_EXPIRED,
    "token": ERR_TOKEN, "document_changed": ERR_DOCUMENT_CHANGED, "qr_not_signed": ERR_QR_NOT_SIGNED,
})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _subject_fields(subject) -> dict:
    if subject is None:
        return {"subject_type": None, "subject_id": ""}
    return {"subject_type": ContentType.objects.get_for_model(subject), "subject_id": str(subject.pk)}


def signed_document_create(
    *,
    subject,
    document: bytes,
    filename: str,
    title_ru: str,
    title_kk: str = "",
    parties: Iterable[dict],
    mime_type: str = "application/pdf",
) -> SignedDocument:
    """A multi-party document. Each party: {"bin", "organization_name", "organization" (optional),
    "expected_signer" (optional), "allowed_roles" (optional list)} in signing order."""
    with transaction.atomic():
        doc = SignedDocument.objects.create(
            **_subject_fields(subject), title_ru=title_ru, title_kk=title_kk or title_ru, filename=filename,
            mime_type=mime_type, document=document, document_sha256=_sha256(document),
        )
        for i, p in enumerate(parties):
            org = p.get("organization")
            SignedDocumentParty.objects.create(
                document=doc, order=i, organization=org, bin=p.get("bin") or (org.bin if org else ""),
                organization_name=p.get("organization_name") or (org.name_ru if org else ""),
                expected_signer=p.get("expected_signer", ""), allowed_roles=sorted(p.get("allowed_roles") or []),
            )
    return doc


def signing_request_create(
    *,
    subject,
    document: bytes,
    filename: str,
    title_ru: str,
    title_kk: str = "",
    purpose: str = "sign",
    organization=None,
    required_bin: str | None = None,
    allowed_roles: set[str] | None = None,
    on_complete: str = "",
    return_url: str,
    signer_user=None,
    signed_document: SignedDocument | None = None,
    require_legal_entity: bool | None = None,
    mime_type: str = "application/pdf",
    expires_in: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    session=None,
) -> SigningRequest:
    """A request to sign `document` (or to prove key possession, purpose="auth"). Show it with
    signing.views.signing_modal_response(request, signing_request). Valid for `expires_in`
    (default 24 h). With `session` (request.session) only that browser session may sign it."""
    now = now or timezone.now()
    on_complete = completion_name(on_complete)  # a registered completion (signing.completion), or ValueError
    if signed_document is not None and not required_bin and organization is not None:
        required_bin = organization.bin
    if require_legal_entity is None:
        require_legal_entity = bool(organization or required_bin or allowed_roles)
    return SigningRequest.objects.create(
        **_subject_fields(subject), signed_document=signed_document, document=document,
        document_sha256=_sha256(document), filename=filename, mime_type=mime_type, title_ru=title_ru,
        title_kk=title_kk or title_ru, purpose=purpose, organization=organization,
        required_bin=required_bin or "", require_legal_entity=require_legal_entity,
        allowed_roles=sorted(allowed_roles or []), on_complete=on_complete, return_url=return_url,
        signer_user=signer_user, expires_at=now + (expires_in or REQUEST_TTL),
        session_sha256=session_fingerprint(session) if session is not None else "",
    )


def session_fingerprint(session) -> str:
    """SHA-256 of a browser session's key (the session is saved first if it has none yet)."""
    if not session.session_key:
        session.save()
    return _sha256(session.session_key.encode())


def _check_for_request(sr: SigningRequest, info: CertificateInfo, at: dt.datetime) -> CertificateInfo:
    return certificate_check(
        info_or_cert=info, at=at, purpose=sr.purpose, require_legal_entity=sr.require_legal_entity,
        required_bin=sr.required_bin or None, allowed_roles=set(sr.allowed_roles) or None,
    )


def trust_fields(trusted: trust.TrustedSignature) -> dict:
    """The Signature columns of a time-stamped, revocation-checked signature."""
    ev = trusted.evidence
    return {"cms": trusted.cms, "signed_at": trusted.tsa_time, "tsa_time": trusted.tsa_time,
            "declared_time": trusted.declared_time, "level": trusted.level, "revocation_source": ev.source,
            "revocation_produced_at": ev.produced_at, "revocation_evidence": ev.der}


def _ensure_open(sr: SigningRequest, now: dt.datetime) -> None:
    if sr.status == SigningRequest.Status.COMPLETED:
        raise SigningError("already_signed", ERR_ALREADY_SIGNED)
    if sr.status != SigningRequest.Status.PENDING or sr.expires_at <= now:
        raise SigningError("request_expired", ERR_REQUEST_EXPIRED)


def _pades_base(sr: SigningRequest) -> bytes | None:
    """The PDF a party's PAdES signature goes onto (the document's current PAdES revision), or
    None when the request gets a plain CMS (not a PDF of a multi-party document). The request is
    for this document when both were stored with the same SHA-256 (signed_document_create,
    signing_request_create): neither 2 MB copy of the original is read for that."""
    if not sr.signed_document_id or sr.mime_type != "application/pdf":
        return None
    row = blobs.document_revision(sr.signed_document_id)
    if row is None or row[0] != sr.document_sha256:
        return None
    return row[1]


def signing_request_to_sign(*, signing_request: SigningRequest, now: dt.datetime | None = None) -> dict:
    """What the signer's browser must sign (the client contract, docs/signing.md):
    {"dataB64", "digested", "attached", "purpose", "bin", "preparation"}. For a PDF of a
    multi-party document the server prepares the PAdES signature (pyHanko, interrupted signing)
    and asks for a CMS over the /ByteRange digest (digested=true, signed attributes); otherwise
    a detached CMS over the exact document bytes."""
    from .pdf import pdf_prepare_signature

    now = now or timezone.now()
    sr = signing_request
    _ensure_open(sr, now)
    contract = {"digested": False, "attached": False, "purpose": sr.purpose, "bin": sr.required_bin or "",
                "preparation": None, "filename": sr.filename}
    base = _pades_base(sr)
    prepared = None
    if base is not None:
        field = f"Signature_{sr.required_bin or sr.public_id.hex[:12]}"
        try:
            prepared = pdf_prepare_signature(pdf=base, field_name=field, reason=sr.title_ru)  # CPU only, no transaction
        except Exception:  # a PDF pyHanko cannot update: the CMS over the document still records the signature
            logger.warning("PAdES preparation failed for request %s", sr.public_id, exc_info=True)
    if prepared is None:
        return {**contract, "dataB64": base64.b64encode(bytes(sr.document)).decode()}
    # an incremental update: keep only what pyHanko appended (a 2 MB base is not written again)
    base_length = len(base) if prepared.pdf.startswith(base) else 0
    prep = PadesPreparation.objects.create(
        signing_request=sr, base_sha256=_sha256(base), base_length=base_length,
        prepared_pdf=prepared.pdf[base_length:], digest=prepared.digest,
        region_start=prepared.region_start, region_end=prepared.region_end, field_name=prepared.field_name)
    return {**contract, "dataB64": base64.b64encode(prepared.digest).decode(), "digested": True,
            "preparation": prep.pk}


def pades_preparation_for(*, signing_request: SigningRequest, pk) -> PadesPreparation:
    """The request's own preparation (another request's id is refused as a changed document)."""
    prep = PadesPreparation.objects.filter(signing_request=signing_request, pk=pk).first() if str(pk).isdigit() else None
    if prep is None:
        raise SigningError("document_changed", ERR_DOCUMENT_CHANGED)
    return prep


def signing_request_submit(
    *, signing_request: SigningRequest, cms_bytes: bytes, preparation_id=None, now: dt.datetime | None = None,
    request=None,
) -> Signature:
    """The browser's CMS for a request (key file in the page or NCALayer): every check of
    signing_request_complete; for a PAdES preparation the CMS goes into the prepared PDF."""
    now = now or timezone.now()
    _ensure_open(signing_request, now)
    preparation = None
    if preparation_id not in (None, ""):
        preparation = pades_preparation_for(signing_request=signing_request, pk=preparation_id)
    return signing_request_complete(signing_request=signing_request, cms_bytes=cms_bytes, method=Signature.Method.ECP,
                                    now=now, request=request, preparation=preparation)


def _prepared_pdf(sr: SigningRequest, preparation: PadesPreparation) -> bytes | None:
    """The prepared PDF again: the stored update after its base (the document's revision it was
    prepared on), or None when that revision is no longer the current one."""
    tail = bytes(preparation.prepared_pdf)
    if not preparation.base_length:
        return tail
    row = blobs.document_revision(sr.signed_document_id)
    base = row[1] if row is not None else b""
    if len(base) != preparation.base_length or _sha256(base) != preparation.base_sha256:
        return None
    return base + tail


_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _check_embedded(signed: bytes, prepared_pdf: bytes, preparation: PadesPreparation, cms: bytes,
                    info: CertificateInfo) -> None:
    """What pyHanko's validation of the new signature established, checked directly (the CMS
    itself — chain, revocation, time-stamp, the signer — was verified by our own code already):
    nothing but the placeholder changed; the placeholder holds exactly this CMS; the signature
    dictionary's /ByteRange is the prepared one, the whole file but the placeholder; its SHA-256 is
    the digest the CMS signs (the message-digest), by the certificate that was checked. The new
    revision is the last one: no later change to analyse. Raises SigningError("bad_signature")."""
    start, end = preparation.region_start, preparation.region_end
    hex_cms = cms.hex().encode()
    if (len(signed) != len(prepared_pdf) or signed[:start] != prepared_pdf[:start] or signed[end:] != prepared_pdf[end:]
            or signed[start:start + 1] != b"<" or signed[end - 1:end] != b">"
            or signed[start + 1:start + 1 + len(hex_cms)].lower() != hex_cms
            or signed[start + 1 + len(hex_cms):end - 1].strip(b"0")):
        raise SigningError("bad_signature")
    tail_from = preparation.base_length or 0
    ranges = {tuple(int(x) for x in m.groups()) for m in _BYTE_RANGE.finditer(signed, tail_from)}
    if (0, start, end, len(signed) - end) not in ranges:
        raise SigningError("bad_signature")
    covered = hashlib.sha256(memoryview(signed)[:start])
    covered.update(memoryview(signed)[end:])
    if covered.digest() != bytes(preparation.digest):
        raise SigningError("document_changed", ERR_DOCUMENT_CHANGED)
    result = cms_verify(cms_bytes=cms, digest=bytes(preparation.digest), check_certificates=False)
    if (len(result.signatures) != 1 or result.signatures[0].info is None
            or not (result.signatures[0].intact and result.signatures[0].signature_valid)
            or result.signatures[0].info.serial_number != info.serial_number):
        raise SigningError("bad_signature")


def _embed_pades(sr: SigningRequest, preparation: PadesPreparation, cms_bytes: bytes, info: CertificateInfo,
                 pdf: bytes | None) -> tuple[str, bytes] | None:
    """The party's PAdES revision: the (time-stamped) CMS in the prepared PDF (`pdf`, from
    _prepared_pdf), verified. None when another party's revision landed since the preparation (the
    signature is recorded without one)."""
    from .pdf import PreparedPdf, pdf_embed_signature

    if pdf is None:
        logger.info("PAdES base of request %s changed since its preparation: no revision", sr.public_id)
        return None
    prepared = PreparedPdf(pdf=pdf, digest=bytes(preparation.digest),
                           region_start=preparation.region_start, region_end=preparation.region_end,
                           field_name=preparation.field_name)
    try:
        signed = pdf_embed_signature(prepared=prepared, cms=cms_bytes)
    except Exception as exc:
        logger.warning("PAdES embedding failed for request %s", sr.public_id, exc_info=True)
        raise SigningError("bad_signature") from exc
    _check_embedded(signed, pdf, preparation, cms_bytes, info)
    return preparation.base_sha256, signed


def _verify_for_request(sr: SigningRequest, cms_bytes: bytes, now: dt.datetime,
                        preparation: PadesPreparation | None = None) -> CertificateInfo:
    """The CMS signs exactly this request's bytes (or its PAdES digest) and its certificate may
    sign it: chain, validity, CRL, purpose, legal entity, BIN, roles."""
    document = None
    if preparation is not None:  # the PAdES digest: the request's 2 MB document is not read
        result = cms_verify(cms_bytes=cms_bytes, digest=bytes(preparation.digest), check_certificates=False)
    else:
        document = bytes(sr.document)
        result = cms_verify(cms_bytes=cms_bytes, data=document, check_certificates=False)
    if len(result.signatures) != 1:
        raise SigningError("bad_signature")
    encap = cms_content(cms_bytes)
    if encap is not None and (document is None or encap != document):
        raise SigningError("document_changed", ERR_DOCUMENT_CHANGED)
    sig = result.signatures[0]
    if sig.info is None:
        raise SigningError("untrusted")
    if sig.signature_valid and not sig.intact:
        raise SigningError("document_changed", ERR_DOCUMENT_CHANGED)
    if not (sig.intact and sig.signature_valid) or "bad_signature" in sig.problems:
        raise SigningError("bad_signature")
    return _check_for_request(sr, sig.info, now)


def signing_request_complete(
    *, signing_request: SigningRequest, cms_bytes: bytes, method: str, now: dt.datetime | None = None, request=None,
    preparation: PadesPreparation | None = None,
) -> Signature:
    """Verifies a CMS for the request, stores the Signature, runs the request's registered
    completion (signing.completion) in the same transaction. With a PAdES `preparation` the CMS
    (over its digest) is time-stamped, embedded and the PDF verified first. Raises SigningError."""
    now = now or timezone.now()
    info = _verify_for_request(signing_request, cms_bytes, now, preparation)
    # TSA + OCSP (network, no transaction) in a worker thread while this one reads the PAdES base
    # (no transaction either: autocommit reads).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="trust") as pool:
        secured = pool.submit(trust.secure_user_signature, cms_bytes=cms_bytes, purpose=signing_request.purpose)
        prepared_pdf = _prepared_pdf(signing_request, preparation) if preparation is not None else None
        trusted = secured.result()
    pades = _embed_pades(signing_request, preparation, trusted.cms, info, prepared_pdf) if preparation is not None else None
    with transaction.atomic():
        sr = SigningRequest.objects.select_for_update().defer("document").get(pk=signing_request.pk)
        _ensure_open(sr, now)
        party = None
        if sr.signed_document_id:
            party = (SignedDocumentParty.objects.select_for_update()
                     .filter(document_id=sr.signed_document_id, bin=info.bin).first())
            if party is None:
                raise SigningError("wrong_organization")
            if party.signature_id:
                raise SigningError("already_signed", ERR_ALREADY_SIGNED)
            if party.allowed_roles and not (info.roles & set(party.allowed_roles)):
                raise SigningError("no_signing_right")
        signature = Signature(
            signing_request=sr, signed_document_id=sr.signed_document_id, organization=sr.organization,
            method=method, signer_name=info.full_name, signer_iin=info.iin, signer_bin=info.bin,
            organization_name=info.organization_name, roles=sorted(info.roles),
            certificate_serial=info.serial_number, certificate_issuer=info.issuer,
            certificate_not_after=info.not_after, document_sha256=sr.document_sha256, **trust_fields(trusted),
        )
        # Chained at the end (audit.chain.seal): the completion below locks its objects first.
        signature.save(chain_later=True)
        if party is not None:
            party.signature = signature
            party.save(update_fields=["signature"])
            current = blobs.document_revision_sha256(sr.signed_document_id, lock=True)  # hashed in PostgreSQL
            new_pdf = None
            if pades is not None and pades[0] == current:  # nobody added a revision meanwhile
                new_pdf = pades[1]
                signature.in_pades_pdf = True
                signature.save(update_fields=["in_pades_pdf"])
            blobs.document_store_pades(sr.signed_document_id, new_pdf)  # written once, as a binary parameter
        sr.status = SigningRequest.Status.COMPLETED
        sr.completed_at = now
        sr.save(update_fields=["status", "completed_at"])
        completion_run(sr, signature, request=request)
        from audit import chain

        chain.seal(signature)
    signing_request.status = sr.status
    signing_request.completed_at = now
    logger.info("signing request %s completed by %s (%s)", sr.public_id, info.iin, method)
    return signature


# --- eGov QR ------------------------------------------------------------------------------------

def qr_session_create(*, signing_request: SigningRequest, now: dt.datetime | None = None) -> QrSession:
    now = now or timezone.now()
    _ensure_open(signing_request, now)
    return QrSession.objects.create(signing_request=signing_request, api1_token=secrets.token_urlsafe(24),
                                    expires_at=now + QR_TTL)


def _live_session(token: str, now: dt.datetime, *, lock: bool = False) -> QrSession:
    qs = QrSession.objects.select_related("signing_request", "signing_request__organization")
    if lock:
        qs = qs.select_for_update(of=("self",))
    session = qs.filter(api1_token=token).first()
    if session is None:
        raise SigningError("token", ERR_TOKEN)
    if session.expires_at <= now:
        raise SigningError("qr_expired", ERR_QR_EXPIRED)
    return session


def qr_api1(*, token: str, document_url: str, now: dt.datetime | None = None) -> dict:
    """API 1: what the mobile app shows before signing, and where to fetch the document. Single use:
    issues the bearer token for API 2."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _live_session(token, now, lock=True)
        if session.api1_used_at is not None:
            raise SigningError("token", ERR_TOKEN)
        auth_token = secrets.token_urlsafe(32)
        session.api1_used_at = now
        session.auth_token_sha256 = _sha256(auth_token.encode())
        session.status = QrSession.Status.SCANNED
        session.save(update_fields=["api1_used_at", "auth_token_sha256", "status"])
    sr = session.signing_request
    org = sr.organization
    return {
        "description": sr.title_ru,
        "expiry_date": session.expires_at.isoformat(),
        "organisation": {
            "nameRu": "АО «Казахстанская Жилищная Компания»",
            "nameKz": "«Қазақстан Тұрғын үй Компаниясы» АҚ",
            "nameEn": "JSC Kazakhstan Housing Company",
            "bin": "050740004819",
        },
        "document": {"uri": document_url, "auth_type": "Token", "auth_token": auth_token},
        **({"signer": {"bin": org.bin}} if org is not None else {}),
    }


def _session_with_bearer(token: str, auth_token: str, now: dt.datetime) -> QrSession:
    session = _live_session(token, now, lock=True)
    if not auth_token or not session.auth_token_sha256 or not secrets.compare_digest(
        session.auth_token_sha256, _sha256(auth_token.encode())
    ):
        raise SigningError("token", ERR_TOKEN)
    return session


def qr_api2_document(*, signing_request: SigningRequest) -> dict:
    sr = signing_request
    return {
        "signMethod": "CMS_WITH_DATA",
        "version": 1,
        "documentsToSign": [{
            "id": 1,
            "nameRu": sr.title_ru,
            "nameKz": sr.title_kk or sr.title_ru,
            "nameEn": sr.filename,
            "meta": [
                {"name": "filename", "value": sr.filename},
                {"name": "sha256", "value": sr.document_sha256},
            ],
            "document": {"file": {"mime": sr.mime_type, "data": base64.b64encode(bytes(sr.document)).decode()}},
        }],
    }


def qr_api2_get(*, token: str, auth_token: str, now: dt.datetime | None = None) -> dict:
    """API 2 GET: the documents to sign (single use per QR)."""
    now = now or timezone.now()
    with transaction.atomic():
        session = _session_with_bearer(token, auth_token, now)
        if session.api2_get_at is not None:
            raise SigningError("token", ERR_TOKEN)
        session.api2_get_at = now
        session.save(update_fields=["api2_get_at"])
    return qr_api2_document(signing_request=session.signing_request)


def qr_api2_put(*, token: str, auth_token: str, payload: dict, now: dt.datetime | None = None) -> QrSession:
    """API 2 PUT: the same JSON back with every `data` replaced by a base64 CMS (with data).
    Verifies each signature and keeps the CMS on the session; the browser's «Отправить» completes."""
    now = now or timezone.now()
    failure: SigningError | None = None
    with transaction.atomic():  # the refusal is recorded too, so no raise inside the block
        session = _session_with_bearer(token, auth_token, now)
        if session.api2_get_at is None or session.api2_put_at is not None:
            raise SigningError("token", ERR_TOKEN)
        session.api2_put_at = now
        cms_bytes = b""
        try:
            docs = payload["documentsToSign"]
            if not isinstance(docs, list) or len(docs) != 1:
                raise ValueError
            cms_bytes = base64.b64decode(docs[0]["document"]["file"]["data"], validate=True)
        except (KeyError, TypeError, ValueError, IndexError):
            failure = SigningError("not_cms")
        if failure is None:
            try:
                _ensure_open(session.signing_request, now)
                _verify_for_request(session.signing_request, cms_bytes, now)
            except SigningError as err:
                failure = err
        if failure is not None:
            session.status = QrSession.Status.FAILED
            session.error = failure.code
            session.save(update_fields=["api2_put_at", "status", "error"])
        else:
            session.cms = cms_bytes
            session.status = QrSession.Status.SIGNED
            session.save(update_fields=["api2_put_at", "cms", "status"])
    if failure is not None:
        raise failure
    return session


def qr_session_complete(*, qr_session: QrSession, now: dt.datetime | None = None, request=None) -> Signature:
    """«Отправить» in the browser after the app has signed: stores the signature, runs on_complete."""
    now = now or timezone.now()
    if qr_session.status != QrSession.Status.SIGNED or not qr_session.cms:
        raise SigningError("qr_not_signed", ERR_QR_NOT_SIGNED)
    signature = signing_request_complete(signing_request=qr_session.signing_request, cms_bytes=bytes(qr_session.cms),
                                         method=Signature.Method.QR, now=now, request=request)
    QrSession.objects.filter(pk=qr_session.pk).update(status=QrSession.Status.DONE)
    return signature


# --- issued documents ---------------------------------------------------------------------------

def signed_document_issue_pdf(*, document: SignedDocument) -> bytes:
    """The downloadable PDF of a fully signed document: the original PDF PAdES-signed by KZhK with a
    stamp listing every signer and a QR to the verifier. Cached on the document."""
    from .selectors import signature_table

    if document.issued_pdf:
        return bytes(document.issued_pdf)
    rows = signature_table(document)
    signers = [f"{r['organization']} — {r['signer']}, {r['signed_at']:%d.%m.%Y %H:%M}" for r in rows if r["signed_at"]]
    base = bytes(document.pades_pdf) if document.pades_pdf else bytes(document.document)
    title = " / ".join(dict.fromkeys(t for t in (document.title_ru, document.title_kk) if t))
    pdf = pdf_issue_by_kzhk(pdf=base, title=title, signers=signers)
    SignedDocument.objects.filter(pk=document.pk).update(issued_pdf=pdf)
    return pdf


def signing_archive_retimestamp(*, now: dt.datetime | None = None) -> dict:
    """Daily: every issued (B-LTA) PDF whose newest document time-stamp's TSA certificate expires
    within SIGNING_ARCHIVE_RENEW_DAYS gets fresh validation data and a new document time-stamp
    (PAdES archive time-stamp), so it keeps validating after the TSA certificate expires: the
    issued multi-party documents (SignedDocument.issued_pdf) and every file field registered in
    signing.archive (the ДС, conclusions, decision documents KZhK issued)."""
    from django.conf import settings

    now = now or timezone.now()
    horizon = now + dt.timedelta(days=settings.SIGNING_ARCHIVE_RENEW_DAYS)
    checked = renewed = 0
    for pk in SignedDocument.objects.filter(issued_pdf__isnull=False).values_list("pk", flat=True).iterator():
        pdf = bytes(SignedDocument.objects.only("issued_pdf").get(pk=pk).issued_pdf)
        checked += 1
        extended = _archive_renewal(pdf, horizon=horizon, label=f"signed document {pk}", undated_too=True)
        if extended is not None:  # only if nobody replaced the file meanwhile
            renewed += SignedDocument.objects.filter(pk=pk, issued_pdf=pdf).update(issued_pdf=extended)
    for entry in archived_files():
        c, r = _archive_renew_field(entry, horizon=horizon)
        checked, renewed = checked + c, renewed + r
    return {"checked": checked, "renewed": renewed}


def _archive_renewal(pdf: bytes, *, horizon: dt.datetime, label: str, undated_too: bool = False) -> bytes | None:
    """The extended PDF when its newest document time-stamp expires before `horizon`; None when
    it needs nothing (or is no B-LTA document and `undated_too` is off) or renewing failed."""
    from .pdf import last_document_timestamp_expiry, pdf_archive_timestamp

    try:
        expiry = last_document_timestamp_expiry(pdf)
        if (expiry is None and not undated_too) or (expiry is not None and expiry > horizon):
            return None
        return pdf_archive_timestamp(pdf)  # network I/O: outside any transaction
    except Exception:  # one unreadable file or a TSA outage must not stop the others; retried tomorrow
        logger.warning("archive time-stamp failed for %s", label, exc_info=True)
        return None


def _archive_renew_field(entry, *, horizon: dt.datetime) -> tuple[int, int]:
    """One registered file field: the renewed PDF goes to a new storage name (written before the
    row is touched), the row is re-pointed only if it still names the old file."""
    from homeportal.files import stored_first

    model, field = entry.model, entry.field_name
    checked = renewed = 0
    rows = model.objects.exclude(**{field: ""}).exclude(**{f"{field}__isnull": True}).values_list("pk", field)
    for pk, name in rows.iterator():
        storage = model._meta.get_field(field).storage
        try:
            with storage.open(name, "rb") as fh:
                pdf = fh.read()
        except OSError:
            logger.warning("archive: %s %s: %s is not in storage", entry.model_label, pk, name)
            continue
        checked += 1
        extended = _archive_renewal(pdf, horizon=horizon, label=f"{entry.model_label} {pk}")
        if extended is None:
            continue
        instance = model.objects.filter(pk=pk).first()  # upload_to may need the row (its folder)
        new_name = stored_first(model, field, name.rsplit("/", 1)[-1], extended, instance=instance)
        if model.objects.filter(pk=pk, **{field: name}).update(**{field: new_name}):
            renewed += 1
        else:
            storage.delete(new_name)  # the row moved on meanwhile; leave nothing behind
    return checked, renewed


def verification_report_record(*, report, file_name: str, file_size: int) -> VerificationReport:
    """Numbers and keeps a verifier result (the verdicts, not the file) for the report PDF."""
    return VerificationReport.objects.create(file_name=(file_name or "")[:255], file_sha256=report.file_sha256,
                                             file_size=file_size, result=report.as_dict())


def verification_report_pdf(*, record: VerificationReport) -> bytes:
    """The validation report: bilingual (ru/kk), numbered, dated, signed by KZhK (PAdES B-LTA).
    Rendered once and kept."""
    from django.utils import translation

    from .verification import INDICATION_LABELS, LEVEL_LABELS, SUB_INDICATION_LABELS

    stored = VerificationReport.objects.filter(pk=record.pk).values_list("pdf", flat=True).first()
    if stored:
        return bytes(stored)
    rows = []
    for sig in record.result.get("signatures", []):
        texts = {}
        for lang in ("ru", "kk"):
            with translation.override(lang):
                texts[lang] = {
                    "indication": str(INDICATION_LABELS.get(sig["indication"], sig["indication"])),
                    "sub": str(SUB_INDICATION_LABELS.get(sig.get("sub_indication") or "", "")),
                    "level": str(LEVEL_LABELS.get(sig.get("level"), "")),
                }
        rows.append({**sig, "texts": texts})
    pdf = pdf_render(template_name="signing/pdf/validation_report.html", context={
        "record": record, "number": record.number, "rows": rows, "result": record.result,
        "created": timezone.localtime(record.created_at),
    })
    pdf = pdf_issue_by_kzhk(pdf=pdf, title=f"Протокол проверки ЭЦП № {record.number} / ЭЦҚ тексеру хаттамасы")
    VerificationReport.objects.filter(pk=record.pk).update(pdf=pdf)
    return pdf


def signing_records_purge(*, now: dt.datetime | None = None) -> dict:
    """Daily housekeeping: pending requests past their expiry become EXPIRED and drop their copy of
    the document; QR sessions older than a day are deleted (their tokens are long dead)."""
    now = now or timezone.now()
    expired = SigningRequest.objects.filter(status=SigningRequest.Status.PENDING, expires_at__lt=now).update(
        status=SigningRequest.Status.EXPIRED, document=b"")
    qr, _ = QrSession.objects.filter(expires_at__lt=now - dt.timedelta(days=1)).delete()
    preps, _ = PadesPreparation.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    return {"requests_expired": expired, "qr_sessions_deleted": qr, "pades_preparations_deleted": preps}
