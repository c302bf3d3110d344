"""The verifier: a signed PDF, an attached CMS, or a detached CMS plus the document -> one verdict
per signature in the vocabulary of ETSI EN 319 102-1 (TOTAL-PASSED / TOTAL-FAILED / INDETERMINATE
with a sub-indication), with who signed, the TSA's time (the declared time is shown, never
trusted), the revocation evidence, the signature level and what changed after signing.

The rules, in order (first that applies decides):
 1. the signed data does not match (HASH_FAILURE) or the signature does not (SIG_CRYPTO_FAILURE);
 2. no chain to a trusted root (NO_CERTIFICATE_CHAIN_FOUND);
 3. an authentication (clientAuth) key on a document (CHAIN_CONSTRAINTS_FAILURE);
 4. no valid signature time-stamp: INDETERMINATE (OUT_OF_BOUNDS_NO_POE when the certificate has
    expired, REVOKED_NO_POE when it is revoked, NO_POE otherwise) — never passed;
 5. at the TSA's time: certificate expired (EXPIRED) or not yet valid (NOT_YET_VALID);
 6. revocation at the TSA's time from the embedded evidence (DSS), the stored OCSP response, or
    live OCSP/CRL: revoked before it (REVOKED); the CA does not know the certificate
    (CERTIFICATE_CHAIN_GENERAL_FAILURE); no answer (TRY_LATER);
 7. the time-stamps must still prove something now: the newest one's TSA certificate valid at the
    validation time, each earlier one covered by a later document time-stamp before its TSA
    certificate expired (NO_POE otherwise);
 8. a PDF changed after signing beyond form filling, signatures and annotations
    (SIG_CONSTRAINTS_FAILURE); annotations and later signatures are reported, not failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field

from asn1crypto import cms as acms
from cryptography import x509
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import trust
from .certs import SigningError, build_chain, certificate_info
from .cms import _der, cms_verify

logger = logging.getLogger(__name__)

ROLE_LABELS = {
    "individual": gettext_lazy("individual"),
    "organization": gettext_lazy("legal entity"),
    "head": gettext_lazy("head"),
    "may_sign": gettext_lazy("has the right to sign"),
    "employee": gettext_lazy("employee"),
}
MAX_VERIFY_SIZE = 50 * 1024 * 1024

PASSED, FAILED, INDETERMINATE = "TOTAL-PASSED", "TOTAL-FAILED", "INDETERMINATE"
INDICATION_LABELS = {
    PASSED: gettext_lazy("The signature is valid"),
    FAILED: gettext_lazy("The signature is not valid"),
    INDETERMINATE: gettext_lazy("The signature cannot be confirmed"),
}
SUB_INDICATION_LABELS = {
    "HASH_FAILURE": gettext_lazy("The document was changed: it is not the one that was signed."),
    "SIG_CRYPTO_FAILURE": gettext_lazy("The signature does not match the signer's certificate."),
    "FORMAT_FAILURE": gettext_lazy("The signature is damaged or in a format that cannot be read."),
    "REVOKED": gettext_lazy("The certificate had been revoked before the document was signed."),
    "EXPIRED": gettext_lazy("The certificate had expired when the document was signed."),
    "NOT_YET_VALID": gettext_lazy("The certificate was not valid yet when the document was signed."),
    "NO_CERTIFICATE_CHAIN_FOUND": gettext_lazy("The certificate was not issued by a trusted certification authority (NCA RK)."),
    "NO_SIGNING_CERTIFICATE_FOUND": gettext_lazy("The signer's certificate is missing from the signature."),
    "CHAIN_CONSTRAINTS_FAILURE": gettext_lazy("An authentication key (AUTH) was used: it may not sign documents."),
    "NO_POE": gettext_lazy("There is no trusted time-stamp: when the document was signed cannot be proven."),
    "OUT_OF_BOUNDS_NO_POE": gettext_lazy("The certificate has expired and there is no trusted time-stamp proving the signature was made before."),
    "REVOKED_NO_POE": gettext_lazy("The certificate is revoked and there is no trusted time-stamp proving the signature was made before."),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": gettext_lazy("The certification authority does not know this certificate."),
    "TRY_LATER": gettext_lazy("The certificate status cannot be checked right now; try again later."),
    "SIG_CONSTRAINTS_FAILURE": gettext_lazy("The document was changed after this signature."),
}
LEVEL_LABELS = {
    "B-B": gettext_lazy("basic signature, no trusted time"),
    "B-T": gettext_lazy("with a trusted time-stamp"),
    "B-LT": gettext_lazy("with a time-stamp and revocation data"),
    "B-LTA": gettext_lazy("long-term: time-stamp, revocation data and a document time-stamp"),
}
CHANGE_LABELS = {
    "signatures": gettext_lazy("signed later by other parties"),
    "annotation": gettext_lazy("annotations (comments, marks) were added after this signature"),
    "incremental_update": gettext_lazy("the content was changed by a later incremental update"),
}
EVIDENCE_GRACE = dt.timedelta(minutes=2)  # an OCSP answer produced a moment before the TSA time still counts


class Undecided(Exception):
    def __init__(self, indication: str, sub: str):
        self.indication, self.sub = indication, sub
        super().__init__(f"{indication}/{sub}")


@dataclass
class SignatureLine:
    signer_name: str = ""
    iin: str = ""
    bin: str = ""
    organization: str = ""
    roles: list[str] = field(default_factory=list)
    key_purpose: str = ""
    issuer: str = ""
    indication: str = INDETERMINATE
    sub_indication: str = ""
    tsa_time: dt.datetime | None = None
    tsa_name: str = ""
    declared_time: dt.datetime | None = None
    revocation: dict | None = None
    level: str = "B-B"
    intact: bool = False
    changes: list[str] = field(default_factory=list)
    field_name: str = ""

    @property
    def ok(self) -> bool:
        return self.indication == PASSED

    @property
    def signing_time(self) -> dt.datetime | None:  # what templates and old callers show
        return self.tsa_time

    @property
    def indication_label(self) -> str:
        return str(INDICATION_LABELS[self.indication])

    @property
    def sub_indication_label(self) -> str:
        return str(SUB_INDICATION_LABELS.get(self.sub_indication, self.sub_indication))

    @property
    def role_labels(self) -> list[str]:
        return [str(ROLE_LABELS.get(r, r)) for r in self.roles]

    @property
    def level_label(self) -> str:
        return str(LEVEL_LABELS.get(self.level, self.level))

    @property
    def change_labels(self) -> list[str]:
        return [str(CHANGE_LABELS.get(c, c)) for c in self.changes]

    def as_dict(self) -> dict:
        def iso(v):
            return v.isoformat() if v else None

        return {
            "indication": self.indication, "sub_indication": self.sub_indication or None,
            "indication_text": self.indication_label,
            "sub_indication_text": self.sub_indication_label if self.sub_indication else None,
            "signer_name": self.signer_name, "iin": self.iin, "bin": self.bin, "organization": self.organization,
            "roles": self.roles, "key_purpose": self.key_purpose, "issuer": self.issuer,
            "tsa_time": iso(self.tsa_time), "tsa": self.tsa_name, "declared_time": iso(self.declared_time),
            "revocation": self.revocation, "level": self.level, "document_intact": self.intact,
            "changed_after_signing": self.changes, "field": self.field_name, "valid": self.ok,
        }


@dataclass
class VerifyReport:
    kind: str = ""  # "pdf" | "cms"
    signatures: list[SignatureLine] = field(default_factory=list)
    error: str = ""
    detached_without_data: bool = False
    document_timestamps: list[dict] = field(default_factory=list)
    file_sha256: str = ""
    validated_at: dt.datetime | None = None

    @property
    def all_ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    @property
    def altered(self) -> bool:
        return any(not s.intact or "incremental_update" in s.changes for s in self.signatures)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "valid": self.all_ok, "document_altered": self.altered, "error": self.error,
            "file_sha256": self.file_sha256,
            "validated_at": self.validated_at.isoformat() if self.validated_at else None,
            "document_timestamps": self.document_timestamps,
            "signatures": [s.as_dict() for s in self.signatures],
        }


# --- shared rules ---------------------------------------------------------------------------------

def _signer_fields(line: SignatureLine, cert: x509.Certificate | None) -> None:
    if cert is None:
        return
    info = certificate_info(cert)
    line.signer_name, line.iin, line.bin = info.full_name, info.iin, info.bin
    line.organization, line.roles, line.key_purpose = info.organization_name, sorted(info.roles), info.key_purpose
    line.issuer = info.issuer


def _evidence_at(cert, issuer, at: dt.datetime, *, ocsps: list[bytes], crls: list[bytes], live: bool):
    """The first usable revocation evidence about `cert` at `at`: embedded/stored OCSP, then CRL,
    then (when `live`) the responder itself. Returns (evidence, origin) or (None, "")."""
    for der in ocsps:
        ev = trust.ocsp_evidence(der, cert, issuer)
        if ev is not None and (ev.status != "good" or ev.this_update >= at - EVIDENCE_GRACE):
            return ev, "embedded"
    for der in crls:
        ev = trust.crl_evidence(der, cert, issuer)
        if ev is not None and (ev.status != "good" or ev.this_update >= at - EVIDENCE_GRACE):
            return ev, "embedded"
    if live:
        ev = trust.live_revocation(cert, issuer)
        if ev is not None:
            return ev, "live"
    return None, ""


def _decide(line: SignatureLine, *, cert, others, tst: trust.TimestampCheck | None, moment: dt.datetime,
            ocsps: list[bytes], crls: list[bytes], live: bool, later_stamps: list[trust.TimestampCheck]) -> None:
    """Rules 2-7 for one signature whose bytes already verified. Sets the verdict on `line`."""
    if tst is not None and tst.ok:
        line.tsa_time, line.level = tst.time, "B-T"
        line.tsa_name = tst.tsa_certificate.subject.rfc4514_string() if tst.tsa_certificate else ""
    chain = build_chain(cert, others)
    if chain is None or len(chain) < 2:
        raise Undecided(INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    if line.key_purpose == "auth":
        raise Undecided(INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    if tst is None or not tst.ok:
        if moment > cert.not_valid_after_utc:
            raise Undecided(INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
        ev, _origin = _evidence_at(cert, chain[1], moment, ocsps=ocsps, crls=crls, live=live)
        if ev is not None and ev.status == "revoked":
            raise Undecided(INDETERMINATE, "REVOKED_NO_POE")
        raise Undecided(INDETERMINATE, "NO_POE")
    at = tst.time
    if at < cert.not_valid_before_utc:
        raise Undecided(FAILED, "NOT_YET_VALID")
    if any(at > c.not_valid_after_utc for c in chain):
        raise Undecided(FAILED, "EXPIRED")
    ev, origin = _evidence_at(cert, chain[1], at, ocsps=ocsps, crls=crls, live=live)
    if ev is not None:
        line.revocation = {**ev.as_dict(), "origin": origin}
        if origin == "embedded":
            line.level = "B-LT"
    for child, parent in zip(chain[1:], chain[2:], strict=False):  # CAs: revoked in a CRL at hand?
        for der in crls:
            ca_ev = trust.crl_evidence(der, child, parent)
            if ca_ev is not None and ca_ev.status == "revoked" and ca_ev.revoked_at <= at:
                raise Undecided(FAILED, "REVOKED")
    # Rule 7: the time-stamps still prove the time now.
    stamps = [tst] + [s for s in later_stamps if s.ok]
    for earlier, later in zip(stamps, stamps[1:], strict=False):
        if later.time > min(c.not_valid_after_utc for c in earlier.chain):
            stamps = stamps[: stamps.index(later)]
            break
    last = stamps[-1]
    for child, parent in zip(last.chain, last.chain[1:], strict=False):  # the TSA not revoked since
        for der in crls:
            tsa_ev = trust.crl_evidence(der, child, parent)
            if tsa_ev is not None and tsa_ev.status == "revoked" and tsa_ev.revoked_at <= last.time:
                raise Undecided(INDETERMINATE, "NO_POE")
    if any(moment > c.not_valid_after_utc for c in last.chain):
        raise Undecided(INDETERMINATE, "OUT_OF_BOUNDS_NO_POE" if moment > cert.not_valid_after_utc else "NO_POE")
    if len(stamps) > 1 and line.level == "B-LT":
        line.level = "B-LTA"
    if ev is None:
        raise Undecided(INDETERMINATE, "TRY_LATER")
    if ev.status == "unknown":
        raise Undecided(INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE")
    if ev.status == "revoked" and (ev.revoked_at is None or ev.revoked_at <= at):
        raise Undecided(FAILED, "REVOKED")


def _conclude(line: SignatureLine, fn) -> SignatureLine:
    try:
        fn()
    except Undecided as verdict:
        line.indication, line.sub_indication = verdict.indication, verdict.sub
    else:
        line.indication, line.sub_indication = PASSED, ""
    return line


# --- CMS ------------------------------------------------------------------------------------------

def _signature_tst(si: acms.SignerInfo) -> acms.ContentInfo | None:
    attrs = si["unsigned_attrs"]  # absent: Void, empty; never `.native` here — it parses every
    for attr in attrs:             # token and certificate into Python (~18 % of a PDF's verification)
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]
    return None


def verify_cms(cms_bytes: bytes, data: bytes | None = None, *, moment: dt.datetime | None = None,
               evidence: list[bytes] | None = None, live: bool = True) -> VerifyReport:
    """`evidence`: stored OCSP responses / CRLs kept with the signature (Signature.revocation_evidence)."""
    moment = moment or dt.datetime.now(dt.UTC)
    try:
        result = cms_verify(cms_bytes=cms_bytes, data=data, check_certificates=False)
        sd = acms.ContentInfo.load(_der(cms_bytes))["content"]
    except SigningError:
        return VerifyReport(error=_("The file is neither a signed PDF nor a CMS signature."))
    report = VerifyReport(kind="cms", validated_at=moment)
    if result.content is None:
        report.detached_without_data = True
        report.error = _("This is a detached signature: add the signed document as well.")
        return report
    stored = list(evidence or [])
    for sig, si in zip(result.signatures, sd["signer_infos"], strict=False):
        line = SignatureLine(declared_time=sig.signing_time, intact=sig.intact)
        cert = sig.info.certificate if sig.info else None
        _signer_fields(line, cert)
        others = sig.info.chain if sig.info else []

        def run(sig=sig, si=si, line=line, cert=cert, others=others):
            if cert is None:
                raise Undecided(INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND")
            if not sig.intact:
                raise Undecided(FAILED, "HASH_FAILURE")
            if not sig.signature_valid or "bad_signature" in sig.problems:
                raise Undecided(FAILED, "SIG_CRYPTO_FAILURE")
            token = _signature_tst(si)
            tst = trust.timestamp_check(token, si["signature"].native) if token is not None else None
            ocsps = [d for d in stored if d[:1] == b"\x30" and _looks_ocsp(d)]
            crls = [d for d in stored if d not in ocsps]
            _decide(line, cert=cert, others=others, tst=tst, moment=moment, ocsps=ocsps, crls=crls, live=live,
                    later_stamps=[])

        report.signatures.append(_conclude(line, run))
    return report


def _looks_ocsp(der: bytes) -> bool:
    try:
        from cryptography.x509 import ocsp

        ocsp.load_der_ocsp_response(der)
        return True
    except ValueError:
        return False


# --- PDF ------------------------------------------------------------------------------------------

def _tst_from_signed_data(signed_data) -> acms.ContentInfo:
    return acms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def _doc_timestamp_check(emb) -> trust.TimestampCheck:
    """A document time-stamp: its messageImprint must equal the digest of its byte range."""
    try:
        token = _tst_from_signed_data(emb.signed_data)
        tst_info = emb.signed_data["encap_content_info"]["content"].parsed
        algorithm = tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native
        if emb.compute_digest(algorithm) != tst_info["message_imprint"]["hashed_message"].native:
            return trust.TimestampCheck(ok=False, problem="imprint")
    except Exception:
        return trust.TimestampCheck(ok=False, problem="format")
    return trust.timestamp_check(token, None)


def _changes_after(emb) -> tuple[list[str], bool]:
    """What later revisions did (pyHanko's difference analysis) and whether that is allowed."""
    from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification

    try:
        emb.compute_integrity_info()
        result = emb.diff_result
        level = getattr(result, "modification_level", ModificationLevel.OTHER)
    except Exception:
        logger.info("difference analysis failed for %s", emb.field_name, exc_info=True)
        result, level = None, ModificationLevel.OTHER
    if isinstance(result, SuspiciousModification) and "newly added annotations" in str(result):
        # pyHanko's default policy has no rule for comment annotations: it names them, we report them
        return ["annotation"], True
    if level in (None, ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return [], True
    if level == ModificationLevel.FORM_FILLING:
        return ["signatures"], True
    if level == ModificationLevel.ANNOTATIONS:
        return ["annotation"], True
    return ["incremental_update"], False


def verify_pdf(pdf: bytes, *, moment: dt.datetime | None = None, live: bool = True) -> VerifyReport:
    from asn1crypto import x509 as ax509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.generic_cms import validate_sig_integrity

    moment = moment or dt.datetime.now(dt.UTC)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
    except Exception:
        return VerifyReport(kind="pdf", error=_("The PDF cannot be read: it is damaged or was altered."))
    report = VerifyReport(kind="pdf", validated_at=moment)
    try:
        dss = DocumentSecurityStore.read_dss(reader)
        ocsps = [ref.get_object().data for ref in dss.ocsps]
        crls = [ref.get_object().data for ref in dss.crls]
        dss_certs = [x509.load_der_x509_certificate(c.dump()) for c in dss.load_certs()]
    except Exception:  # no DSS
        ocsps, crls, dss_certs = [], [], []
    doc_stamps = []
    for emb in sigs:
        if emb.sig_object_type == "/DocTimeStamp":
            check = _doc_timestamp_check(emb)
            doc_stamps.append((emb.signed_revision, check))
            report.document_timestamps.append({
                "field": emb.field_name, "valid": check.ok, "time": check.time.isoformat() if check.time else None,
                "tsa": check.tsa_certificate.subject.rfc4514_string() if check.tsa_certificate else ""})
    for emb in sigs:
        if emb.sig_object_type == "/DocTimeStamp":
            continue
        line = SignatureLine(field_name=emb.field_name, declared_time=emb.self_reported_timestamp)
        cert = None
        try:
            cert = x509.load_der_x509_certificate(emb.signer_cert.dump())
            others = [x509.load_der_x509_certificate(c.dump()) for c in emb.other_embedded_certs] + dss_certs
        except Exception:
            others = []
        _signer_fields(line, cert)

        def run(emb=emb, line=line, cert=cert, others=others):
            if cert is None:
                raise Undecided(INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND")
            try:
                intact, valid = validate_sig_integrity(emb.signer_info, ax509.Certificate.load(emb.signer_cert.dump()),
                                                       expected_content_type="data", actual_digest=emb.compute_digest())
            except Exception as exc:
                raise Undecided(FAILED, "FORMAT_FAILURE") from exc
            line.intact = bool(intact)
            if not intact:
                raise Undecided(FAILED, "HASH_FAILURE")
            if not valid:
                raise Undecided(FAILED, "SIG_CRYPTO_FAILURE")
            changes, allowed = _changes_after(emb)
            line.changes = changes
            token = _signature_tst(emb.signer_info)
            tst = trust.timestamp_check(token, emb.signer_info["signature"].native) if token is not None else None
            later = [c for rev, c in doc_stamps if rev > emb.signed_revision]
            _decide(line, cert=cert, others=others, tst=tst, moment=moment, ocsps=ocsps, crls=crls, live=live,
                    later_stamps=later)
            if not allowed:
                raise Undecided(INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")

        report.signatures.append(_conclude(line, run))
    if not report.signatures and not report.document_timestamps:
        report.error = _("The PDF contains no electronic signatures.")
    return report


# --- entry point ------------------------------------------------------------------------------------

def verify_upload(file_bytes: bytes, data: bytes | None = None, *, moment: dt.datetime | None = None,
                  live: bool = True) -> VerifyReport:
    if not file_bytes:
        return VerifyReport(error=_("The file is empty."))
    if len(file_bytes) > MAX_VERIFY_SIZE:
        return VerifyReport(error=_("The file is too large."))
    if file_bytes.lstrip()[:5] == b"%PDF-":
        report = verify_pdf(file_bytes, moment=moment, live=live)
    else:
        report = verify_cms(file_bytes, data, moment=moment, live=live)
    report.file_sha256 = hashlib.sha256(file_bytes).hexdigest()
    for s in report.signatures:
        for name in ("tsa_time", "declared_time"):
            value = getattr(s, name)
            if value is not None:
                setattr(s, name, timezone.localtime(value))
    return report
