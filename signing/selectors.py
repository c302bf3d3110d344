"""Reads for signing, always scoped to the user or the organization that may see them."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy

from .certs import SigningError
from .models import QrSession, Signature, SignedDocument, SigningRequest

STATUS_SIGNED = pgettext_lazy("signature table status", "Signed")
STATUS_NOT_SIGNED = pgettext_lazy("signature table status", "Not signed")


def signing_request_for(*, public_id, user, session=None) -> SigningRequest:
    """The request if this browser may sign it: its signer_user, or a member of its organization;
    requests with neither (registration, invitations) are reachable by their unguessable id only;
    a request bound to a browser session (login, registration, password-reset challenges) only
    from that session."""
    import hashlib
    import hmac

    # the 2 MB document is read only where it is needed (a plain CMS over it), not on every panel
    sr = SigningRequest.objects.select_related("organization").defer("document").filter(public_id=public_id).first()
    if sr is None:
        raise Http404
    if sr.session_sha256:
        key = getattr(session, "session_key", None) or ""
        if not key or not hmac.compare_digest(hashlib.sha256(key.encode()).hexdigest(), sr.session_sha256):
            raise Http404
    if sr.signer_user_id:
        if not user.is_authenticated or user.pk != sr.signer_user_id:
            raise Http404
    elif sr.organization_id and (
        not user.is_authenticated or getattr(user, "organization_id", None) != sr.organization_id
    ):
        raise Http404
    return sr


def qr_session_for(*, signing_request: SigningRequest, pk: int) -> QrSession:
    session = QrSession.objects.filter(signing_request=signing_request, pk=pk).first()
    if session is None:
        raise Http404
    return session


def signed_document_for(*, public_id, user) -> SignedDocument:
    """A signed document visible to the user: a party's member, or KZhK staff; else 404."""
    doc = SignedDocument.objects.filter(public_id=public_id).first()
    if doc is None or not user.is_authenticated:
        raise Http404
    if user.is_staff:
        return doc
    org = getattr(user, "organization", None)
    if org is None or not doc.parties.filter(Q(organization=org) | Q(bin=org.bin)).exists():
        raise Http404
    return doc


def signature_for(*, public_id, user) -> Signature:
    sig = Signature.objects.select_related("signed_document").filter(public_id=public_id).first()
    if sig is None or not user.is_authenticated:
        raise Http404
    if user.is_staff:
        return sig
    org = getattr(user, "organization", None)
    if org is None:
        raise Http404
    if sig.organization_id == org.pk or sig.signer_bin == org.bin:
        return sig
    if sig.signed_document_id and sig.signed_document.parties.filter(Q(organization=org) | Q(bin=org.bin)).exists():
        return sig
    raise Http404


def signature_download(sig: Signature) -> dict:
    """What a «Сведения о подписи» row offers, so that the portal's verifier (/signing/verify/) can
    check the download on its own:
    * the signed PDF (`signing:signature_pdf`, the document with the parties' PAdES signatures) when
      the CMS is a PAdES signature in it (`in_pades_pdf`): that CMS covers the PDF's /ByteRange, so
      alone (or with the original document) it verifies against nothing;
    * the CMS (`signing:signature_cms`) when it stands on its own: attached (eGov QR's CMS_WITH_DATA)
      or detached over the document itself (the verifier takes it with the document);
    * nothing for a PAdES CMS whose revision did not land in the stored PDF (docs/signing.md §5.1).
    {"link", "link_kind": "pdf"|"cms"|"", "link_label"}. Reads only the signature row."""
    from .cms import cms_content, cms_signer_digest

    if sig.in_pades_pdf:
        return {"link": reverse("signing:signature_pdf", args=[sig.public_id]), "link_kind": "pdf",
                "link_label": gettext("Signed PDF (PAdES)")}
    cms = bytes(sig.cms)
    try:
        standalone = cms_content(cms) is not None or (cms_signer_digest(cms)[0] or b"").hex() == sig.document_sha256
    except SigningError:
        standalone = False
    if standalone:
        return {"link": reverse("signing:signature_cms", args=[sig.public_id]), "link_kind": "cms",
                "link_label": gettext("Signature (CMS)")}
    return {"link": "", "link_kind": "", "link_label": ""}


def signature_table(document: SignedDocument) -> list[dict]:
    """The «Сведения о подписи» rows: Организация, Подписант (ФИО, ИИН), Статус, Дата, Ссылка."""
    rows = []
    cache = getattr(document, "_prefetched_objects_cache", {})
    parties = (sorted(cache["parties"], key=lambda p: (p.order, p.pk)) if "parties" in cache
               else document.parties.select_related("signature", "organization").order_by("order", "pk"))
    for party in parties:
        sig = party.signature
        # The party's organization in the reader's language when it is known (name_kk), else the
        # name the certificate carried.
        known = party.organization.name if party.organization_id and party.organization.name_kk else ""
        if sig is not None:
            rows.append({
                "organization": known or sig.organization_name or party.organization_name,
                "bin": party.bin,
                "signer": f"{sig.signer_name} ({gettext('IIN')} {sig.signer_iin})",
                "signer_name": sig.signer_name,
                "iin": sig.signer_iin,
                "status": "signed",
                "status_label": STATUS_SIGNED,
                "signed_at": timezone.localtime(sig.signed_at),
                **signature_download(sig),
                "signature": sig,
            })
        else:
            rows.append({
                "organization": known or party.organization_name,
                "bin": party.bin,
                "signer": party.expected_signer or "—",
                "signer_name": party.expected_signer,
                "iin": "",
                "status": "not_signed",
                "status_label": STATUS_NOT_SIGNED,
                "signed_at": None,
                "link": "", "link_kind": "", "link_label": "",
                "signature": None,
            })
    return rows


def signed_documents_for_subject(subject) -> list[SignedDocument]:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(subject)
    return list(SignedDocument.objects.filter(subject_type=ct, subject_id=str(subject.pk)).order_by("created_at"))


def verification_report_for(*, public_id):
    from django.shortcuts import get_object_or_404

    from .models import VerificationReport

    return get_object_or_404(VerificationReport.objects.defer("pdf"), public_id=public_id)


def signature_certificate_info(*, signature_id):
    """The signer's CertificateInfo from a stored signature's CMS (its certificate), or None."""
    from .certs import certificate_info
    from .cms import _der, _find_cert

    cms_bytes = Signature.objects.filter(pk=signature_id).values_list("cms", flat=True).first() if signature_id else None
    if not cms_bytes:
        return None
    from asn1crypto import cms as acms

    der = _der(bytes(cms_bytes))
    sd = acms.ContentInfo.load(der)["content"]
    cert, others = _find_cert(sd, sd["signer_infos"][0]["sid"], der)
    return certificate_info(cert, others) if cert is not None else None
