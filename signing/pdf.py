"""PDFs: WeasyPrint rendering (DejaVu fonts, ru/kk text), PAdES signing by KZhK with a visible
stamp (signers + QR code to the verifier), and PAdES verification."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from . import pdf_hex, pki
from .certs import (
    CertificateInfo,
    CertificateStatus,
    OpenedKey,
    cert_der,
    certificate_info,
    certificate_status,
)

logger = logging.getLogger(__name__)

pdf_hex.install()  # pyHanko's hex strings read in blocks: a signature's 64 KiB /Contents was most of pdf_verify
for _noisy in ("fontTools", "weasyprint.progress"):  # subsetting chatter at INFO on every stamp
    logging.getLogger(_noisy).setLevel(logging.ERROR)

KZHK_FIELD = "KZhK"


def _off_event_loop(fn):
    """pyHanko's sync API calls asyncio.run(): run it in a worker thread when this thread already
    has a running loop (Playwright's sync API in tests, ASGI)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def pdf_render(*, template_name: str, context: dict) -> bytes:
    """Renders a Django template to PDF with WeasyPrint (templates extend signing/pdf/base.html
    for fonts, A4 and the space the stamp needs at the bottom of the last page). One font
    configuration for the process: WeasyPrint's own default, a new one per document, kept ~0.2 MB
    of native memory per document (a gunicorn worker grew 164 → 230 MB over 220 appeals signed in
    bench/load.py); the templates load no @font-face, so a shared one does not grow."""
    from weasyprint import HTML

    html = render_to_string(template_name, context)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())


def verifier_url() -> str:
    try:
        path = reverse("signing:verify")
    except Exception:  # the URLconf of another app may be mid-edit; the path is stable
        path = "/signing/verify/"
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def _simple_signer(key: OpenedKey):
    """A pyHanko signer over the already opened key: the RSA key is parsed once per operation
    (pyHanko's SimpleSigner re-parses its DER on every signature, ~35 ms each, issue #18)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import signers
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    class _LoadedKeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            if mechanism.signature_algo != "rsassa_pkcs1v15":
                return super().sign_raw(data, digest_algorithm)
            return key.private_key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))

    der_key = key.private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    return _LoadedKeySigner(
        signing_cert=ax509.Certificate.load(cert_der(key.certificate)),
        signing_key=akeys.PrivateKeyInfo.load(der_key),  # structure only: no second RSA parse
        cert_registry=SimpleCertificateStore.from_certs([ax509.Certificate.load(cert_der(c)) for c in key.chain]),
    )


def pdf_sign(*, pdf: bytes, key: OpenedKey, field_name: str, reason: str = "") -> bytes:
    """Adds one invisible PAdES B-T signature (an incremental update, time-stamped by the TSA)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from . import trust

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    existing = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
    name, n = field_name, 1
    while name in existing:
        n += 1
        name = f"{field_name}_{n}"
    meta = signers.PdfSignatureMetadata(field_name=name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason[:200] or None)
    pdf_signer = signers.PdfSigner(meta, signer=_simple_signer(key), new_field_spec=fields.SigFieldSpec(name),
                                   timestamper=trust.pdf_timestamper())
    out = io.BytesIO()
    _off_event_loop(lambda: pdf_signer.sign_pdf(writer, output=out))
    return out.getvalue()


PADES_RESERVED = 65536  # hex digits reserved for the signer's CMS (32 KB DER: chain + TSA token fit)


@dataclass
class PreparedPdf:
    """A PDF with an empty PAdES signature placeholder and the SHA-256 of its /ByteRange: what the
    signer's browser signs (pyHanko's interrupted signing); kept server-side until the CMS comes."""

    pdf: bytes
    digest: bytes
    region_start: int
    region_end: int
    field_name: str


def pdf_prepare_signature(*, pdf: bytes, field_name: str, reason: str = "") -> PreparedPdf:
    """Adds a signature field with a placeholder (an incremental update) and digests the byte
    range. No key and no network: the certificate is the signer's, known only when the CMS comes."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    existing = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
    name, n = field_name, 1
    while name in existing:
        n += 1
        name = f"{field_name}_{n}"
    meta = signers.PdfSignatureMetadata(field_name=name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason[:200] or None)
    external = signers.ExternalSigner(signing_cert=None, cert_registry=None, signature_value=bytes(256))
    pdf_signer = signers.PdfSigner(meta, signer=external, new_field_spec=fields.SigFieldSpec(name))
    prepared, _tbs, out = _off_event_loop(lambda: asyncio.run(
        pdf_signer.async_digest_doc_for_signing(writer, bytes_reserved=PADES_RESERVED)))
    return PreparedPdf(pdf=out.getvalue(), digest=prepared.document_digest,
                       region_start=prepared.reserved_region_start, region_end=prepared.reserved_region_end,
                       field_name=name)


def pdf_embed_signature(*, prepared: PreparedPdf, cms: bytes) -> bytes:
    """Puts the signer's CMS into the placeholder of a prepared PDF (pyHanko's finish_signing).
    Raises ValueError when it does not fit."""
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument

    if len(cms) * 2 > prepared.region_end - prepared.region_start - 2:
        raise ValueError("the CMS does not fit the reserved space")
    out = io.BytesIO(prepared.pdf)
    digest = PreparedByteRangeDigest(document_digest=prepared.digest, reserved_region_start=prepared.region_start,
                                     reserved_region_end=prepared.region_end)
    _off_event_loop(lambda: PdfTBSDocument.finish_signing(out, digest, cms))
    return out.getvalue()


def kzhk_opened_key() -> OpenedKey:
    """KZhK's key, opened once per process (and again only when the key file changes)."""
    data, password = pki.kzhk_key()
    return _kzhk_loaded(data, password)[0]


@functools.lru_cache(maxsize=2)
def _kzhk_loaded(data: bytes, password: str):
    from .certs import pkcs12_open

    key = pkcs12_open(data=data, password=password)
    return key, _simple_signer(key)


def _kzhk_signer(key: OpenedKey):
    data, password = pki.kzhk_key()
    loaded, signer = _kzhk_loaded(data, password)
    return signer if loaded is key else _simple_signer(key)


STAMP_BOX = (36, 14, 559, 104)  # bottom of the last page, in points (A4 is 595 x 842)


def pdf_issue_by_kzhk(*, pdf: bytes, title, signers: list[str] | None = None) -> bytes:
    """PAdES B-LTA-signs a PDF with KZhK's organization key and a visible stamp listing the signers
    and a QR code that links to the verifier page: signature time-stamp, the DSS with the chains,
    OCSP responses and CRLs of every signature in the file, then a document time-stamp.
    The stamp is one for every reader, so it is bilingual: a lazy (gettext) `title` is shown in
    Russian and Kazakh («ДС / ҚК»); a plain string as it is."""
    from homeportal.i18n import in_both_languages

    title = " / ".join(dict.fromkeys(in_both_languages(title)))
    key = kzhk_opened_key()
    info = key.certificate_info
    now = dt.datetime.now(dt.UTC).astimezone()
    url = verifier_url()
    lines = [title[:110], f"Подписано ЭЦП / ЭЦҚ қол қойылған: {info.organization_name} (БИН/БСН {info.bin})"]
    lines += [f"• {s}"[:110] for s in (signers or [])[:6]]
    lines.append(f"{now:%d.%m.%Y %H:%M} · Проверка подлинности / Түпнұсқалығын тексеру: {url}")
    return _sign_with_stamp(pdf=pdf, key=key, stamp=_stamp_appearance(lines=lines, url=url), reason=title)


def _stamp_appearance(*, lines: list[str], url: str) -> bytes:
    """The stamp as a one-page PDF of exactly the stamp box, drawn by WeasyPrint: its text
    shaping handles Cyrillic and Kazakh letters (pyHanko's own text stamp spaced them apart)."""
    from weasyprint import HTML

    width, height = STAMP_BOX[2] - STAMP_BOX[0], STAMP_BOX[3] - STAMP_BOX[1]
    html = render_to_string("signing/pdf/stamp.html", {
        "lines": lines, "width": width, "height": height, "text_width": width - 88 - 6 - 2, "qr_data_uri": _qr_data_uri(url),
    })
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=_font_config())


@functools.lru_cache(maxsize=8)
def _qr_data_uri(url: str) -> str:
    """The stamp's QR code (the verifier URL: the same for every document), drawn once, as a PNG
    (WeasyPrint parses an SVG path of a QR code in ~70 ms on every stamp)."""
    import base64

    import qrcode

    out = io.BytesIO()
    qrcode.make(url, border=1, box_size=8).save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@functools.cache
def _font_config():
    """WeasyPrint's font configuration (fontconfig's font list), built once per process."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _sign_with_stamp(*, pdf: bytes, key: OpenedKey, stamp: bytes, reason: str) -> bytes:
    import tempfile

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import StaticStampStyle

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    existing = {name for name, *_ in fields.enumerate_sig_fields(writer.prev)}
    name = KZHK_FIELD
    n = 1
    while name in existing:
        n += 1
        name = f"{KZHK_FIELD}{n}"
    from . import trust

    vc = lta_validation_context(_certs_in(writer.prev) + [key.certificate] + key.chain)
    meta = signers.PdfSignatureMetadata(field_name=name, md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES, reason=reason[:200] or None,
                                        validation_context=vc, embed_validation_info=True, use_pades_lta=True)
    spec = fields.SigFieldSpec(name, on_page=-1, box=STAMP_BOX)
    out = io.BytesIO()
    # The appearance is public content (no key material): a temporary file only because pyHanko
    # reads stamp backgrounds from a path.
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(stamp)
        tmp.flush()
        style = StaticStampStyle.from_pdf_file(tmp.name, border_width=0)
        pdf_signer = signers.PdfSigner(meta, signer=_kzhk_signer(key), stamp_style=style, new_field_spec=spec,
                                       timestamper=trust.pdf_timestamper())
        _off_event_loop(lambda: pdf_signer.sign_pdf(writer, output=out))
    return out.getvalue()


# --- long-term validation (B-LT / B-LTA) -----------------------------------------------------------

_TSA_CERTS: dict[str, tuple[float, list[x509.Certificate]]] = {}


def tsa_certificates() -> list[x509.Certificate]:
    """The TSA's certificate (from a probe token, cached for an hour): its chain and CRL go into
    the DSS together with the signers'."""
    import time

    from django.conf import settings as dj_settings

    from . import trust

    url = dj_settings.SIGNING_TSA_URL
    cached = _TSA_CERTS.get(url)
    if cached and time.monotonic() - cached[0] < 3600:
        return cached[1]
    token = trust.request_timestamp(b"tsa certificate probe")
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in token["content"]["certificates"]]
    _TSA_CERTS[url] = (time.monotonic(), certs)
    return certs


def _certs_in(reader) -> list[x509.Certificate]:
    """The signers' certificates of the signatures already in the PDF (for the DSS)."""
    out = []
    try:
        for emb in reader.embedded_signatures:
            out.append(x509.load_der_x509_certificate(emb.signer_cert.dump()))
            out += [x509.load_der_x509_certificate(c.dump()) for c in emb.other_embedded_certs]
    except Exception:  # a signature pyHanko cannot read: nothing of it goes into the DSS
        logger.info("signature certificates unreadable", exc_info=True)
    return out


def lta_validation_context(certs: list[x509.Certificate], *, moment: dt.datetime | None = None):
    """A pyHanko ValidationContext holding fresh OCSP responses and CRLs for `certs` and the TSA
    (fetched here, never by pyHanko), hard-fail: what it used goes into the DSS."""
    from pyhanko_certvalidator import ValidationContext

    from . import trust

    everything = certs + tsa_certificates()
    ocsps, crls = trust.validation_material(everything)
    roots = [ax509.Certificate.load(cert_der(c)) for c in pki.trusted_roots()]
    others = [ax509.Certificate.load(cert_der(c)) for c in pki.known_intermediates() + everything]
    from asn1crypto import crl as acrl
    from asn1crypto import ocsp as aocsp

    return ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False, revocation_mode="hard-fail",
                             crls=[acrl.CertificateList.load(c) for c in crls],
                             ocsps=[aocsp.OCSPResponse.load(o) for o in ocsps], moment=moment)


def last_document_timestamp_expiry(pdf: bytes) -> dt.datetime | None:
    """notAfter of the TSA certificate of the newest document time-stamp (None: there is none)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    stamps = [e for e in reader.embedded_signatures if e.sig_object_type == "/DocTimeStamp"]
    if not stamps:
        return None
    return stamps[-1].signer_cert.not_valid_after


def pdf_archive_timestamp(pdf: bytes) -> bytes:
    """Extends a B-LTA PDF for the archive: validation data for the newest document time-stamp
    into the DSS, then a new document time-stamp over everything (PAdES, ETSI EN 319 142-1 5.5)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper

    from . import trust

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    certs = _certs_in(reader)
    vc = lta_validation_context(certs)
    out = io.BytesIO()
    stamper = PdfTimeStamper(timestamper=trust.pdf_timestamper())
    _off_event_loop(lambda: stamper.update_archival_timestamp_chain(reader, vc, in_place=False, output=out))
    return out.getvalue()


@dataclass
class PdfSignatureReport:
    field_name: str
    info: CertificateInfo | None
    signing_time: dt.datetime | None
    intact: bool
    signature_valid: bool
    covers_document: bool  # False when the document was changed after this signature (beyond form filling)
    cert_status: CertificateStatus | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.intact and self.signature_valid and self.covers_document and self.cert_status is not None
                and self.cert_status.ok and not self.problems)


def pdf_verify(pdf: bytes) -> list[PdfSignatureReport]:
    """Every embedded signature with its checks. Raises ValueError when the file is not a readable PDF."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception as exc:
        raise ValueError("not a readable PDF") from exc
    roots = [ax509.Certificate.load(cert_der(c)) for c in pki.trusted_roots()]
    others = [ax509.Certificate.load(cert_der(c)) for c in pki.known_intermediates()]
    reports = []
    for emb in sigs:
        if emb.sig_object_type == "/DocTimeStamp":  # B-LTA's document time-stamps are not signers
            continue
        problems: list[str] = []
        info = status = None
        signing_time = None
        intact = valid = covers = False
        try:
            vc = ValidationContext(trust_roots=roots, other_certs=others, allow_fetching=False,
                                   revocation_mode="soft-fail")
            st = _off_event_loop(lambda emb=emb, vc=vc: validate_pdf_signature(emb, vc))
            intact, valid = bool(st.intact), bool(st.valid)
            signing_time = st.signer_reported_dt
            level = getattr(st, "modification_level", None)
            covers = level is None or level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES,
                                                ModificationLevel.FORM_FILLING)
            cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
            extra = [x509.load_der_x509_certificate(c.dump()) for c in emb.other_embedded_certs]
            info = certificate_info(cert, extra)
            status = certificate_status(cert, at=signing_time or dt.datetime.now(dt.UTC), extra=extra)
        except Exception:
            logger.info("PDF signature %s could not be validated", emb.field_name, exc_info=True)
            problems.append("bad_signature")
        if not (intact and valid):
            problems.append("bad_signature")
        if status is not None:
            if not status.trusted:
                problems.append("untrusted")
            elif not status.valid_at_time:
                problems.append("expired")
            elif status.revoked:
                problems.append("revoked")
        reports.append(PdfSignatureReport(field_name=emb.field_name, info=info, signing_time=signing_time,
                                          intact=intact, signature_valid=valid, covers_document=covers,
                                          cert_status=status, problems=sorted(set(problems))))
    return reports
