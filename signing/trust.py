"""Trusted time and live revocation: the RFC 3161 time-stamp and the RFC 6960 OCSP check (CRL as
fallback) every user signature gets on arrival, and the material (OCSP responses, CRLs, a
pyHanko time-stamper) PAdES B-T / B-LTA need. HTTP goes through httpx with timeouts and bounded
retries; the URLs are settings (the stand-in `nca_services`, or the real NCA: docs/signing.md §7).

`secure_user_signature()` is THE step: the one place where the server adds the time-stamp and
decides on revocation for an incoming signature. The time that counts is the TSA's; the
signingTime the signer declared is kept for display only."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
import secrets
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from asn1crypto import cms as acms
from asn1crypto import tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .certs import ERROR_MESSAGES, SigningError, build_chain, cert_der, certificate_info, revocation_status

logger = logging.getLogger(__name__)

ERROR_MESSAGES.update({
    "try_later": _("The status of the certificate cannot be checked right now: the NCA services do not answer. "
                   "Nothing has been saved; please try again later."),
    "tsa_unavailable": _("The time-stamp service of the NCA does not answer. Nothing has been saved; "
                         "please try again in a few minutes."),
    "certificate_unknown": _("The certification authority does not know this certificate (OCSP answer: unknown)."),
    "bad_timestamp": _("The time-stamp of the signature is not valid."),
})

OCSP_FRESHNESS = dt.timedelta(minutes=10)  # a response older than this (thisUpdate) is not "live"


class TrustError(SigningError):
    pass


# --- HTTP ---------------------------------------------------------------------------------------

@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle (~20 ms), and every TSA/OCSP
    call would otherwise build its own (issue #18)."""
    return httpx.create_ssl_context()


def _post(url: str, body: bytes, content_type: str, *, attempts: int = 1) -> bytes:
    """POST with a per-call timeout and `attempts` tries (short back-off). Raises httpx.HTTPError."""
    last: Exception | None = None
    for attempt in range(max(1, attempts)):
        try:
            response = httpx.post(url, content=body, headers={"Content-Type": content_type}, verify=_tls(),
                                  timeout=settings.SIGNING_TRUST_TIMEOUT)  # one short connection: no pool to go stale
            response.raise_for_status()
            return response.content
        except httpx.HTTPError as exc:
            last = exc
            if attempt + 1 < attempts:
                time.sleep(min(0.2 * 2 ** attempt, 2.0))
    raise last  # type: ignore[misc]


def _get(url: str) -> bytes:
    response = httpx.get(url, timeout=settings.SIGNING_TRUST_TIMEOUT, verify=_tls())
    response.raise_for_status()
    return response.content


# --- revocation evidence --------------------------------------------------------------------------

@dataclass
class RevocationEvidence:
    source: str  # "ocsp" | "crl"
    status: str  # "good" | "revoked" | "unknown"
    produced_at: dt.datetime  # OCSP producedAt / CRL thisUpdate
    this_update: dt.datetime
    der: bytes = field(repr=False)
    revoked_at: dt.datetime | None = None
    reason: str = ""
    url: str = ""

    def as_dict(self) -> dict:
        return {"source": self.source, "status": self.status, "produced_at": self.produced_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None, "reason": self.reason,
                "url": self.url}


def _aia_ocsp(cert: x509.Certificate) -> str:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    except x509.ExtensionNotFound:
        return ""
    return next((d.access_location.value for d in aia
                 if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP), "")


def ocsp_url_for(cert: x509.Certificate) -> str:
    return settings.SIGNING_OCSP_URL or _aia_ocsp(cert)


def crl_url_for(cert: x509.Certificate) -> str:
    try:
        cdp = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        url = next(n.value for d in cdp for n in (d.full_name or []) if isinstance(n, x509.UniformResourceIdentifier))
    except (x509.ExtensionNotFound, StopIteration):
        return ""
    base = settings.SIGNING_CRL_BASE_URL
    return f"{base.rstrip('/')}/{urlsplit(url).path.rsplit('/', 1)[-1]}" if base else url


def _responder_ok(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    """RFC 6960 4.2.2.2: signed by the issuer itself or by a responder the issuer delegated to."""
    candidates = [issuer] + [c for c in resp.certificates if c.issuer == issuer.subject]
    for responder in candidates:
        if responder is not issuer:
            try:
                responder.verify_directly_issued_by(issuer)
                eku = responder.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
                if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
                    continue
            except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
                continue
        try:
            responder.public_key().verify(resp.signature, resp.tbs_response_bytes, padding.PKCS1v15(),
                                          resp.signature_hash_algorithm)
            return True
        except (InvalidSignature, TypeError, ValueError):
            continue
    return False


def ocsp_evidence(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, *, nonce: bytes | None = None,
                  url: str = "") -> RevocationEvidence | None:
    """A checked OCSP response about `cert`, or None when it is not one (garbage, error status,
    wrong certificate, bad signature, nonce mismatch)."""
    try:
        resp = ocsp.load_der_ocsp_response(der)
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        single = next((r for r in resp.responses if r.serial_number == cert.serial_number), None)
        if single is None or not _responder_ok(resp, issuer):
            return None
        if nonce is not None:
            got = resp.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
            if got != nonce:
                return None
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return None
    status = {ocsp.OCSPCertStatus.GOOD: "good", ocsp.OCSPCertStatus.REVOKED: "revoked"}.get(single.certificate_status,
                                                                                          "unknown")
    return RevocationEvidence(
        source="ocsp", status=status, produced_at=resp.produced_at_utc, this_update=single.this_update_utc, der=der,
        revoked_at=single.revocation_time_utc, url=url,
        reason=single.revocation_reason.name if single.revocation_reason else "")


def ocsp_query(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationEvidence | None:
    url = ocsp_url_for(cert)
    if not url:
        return None
    nonce = secrets.token_bytes(16)
    request = (ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - RFC 5019 CertID
               .add_extension(x509.OCSPNonce(nonce), critical=False).build())
    try:
        der = _post(url, request.public_bytes(serialization.Encoding.DER), "application/ocsp-request")
    except httpx.HTTPError:
        logger.warning("OCSP responder %s does not answer", url)
        return None
    evidence = ocsp_evidence(der, cert, issuer, nonce=nonce, url=url)
    if evidence is None:
        logger.warning("OCSP responder %s sent an unusable answer", url)
    return evidence


def crl_evidence(der: bytes, cert: x509.Certificate, issuer: x509.Certificate, *, at: dt.datetime | None = None,
                 url: str = "") -> RevocationEvidence | None:
    """A CRL of `issuer` (signature checked, not past nextUpdate at `at`) read for `cert`."""
    try:
        crl = x509.load_der_x509_crl(der)
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):
            return None
    except (ValueError, TypeError):
        return None
    if at is not None and crl.next_update_utc is not None and crl.next_update_utc < at:
        return None
    entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    reason = ""
    if entry is not None:
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
        except x509.ExtensionNotFound:
            reason = ""
    return RevocationEvidence(source="crl", status="revoked" if entry is not None else "good",
                              produced_at=crl.last_update_utc, this_update=crl.last_update_utc, der=der,
                              revoked_at=entry.revocation_date_utc if entry is not None else None, reason=reason,
                              url=url)


_CRL_CACHE: dict[str, tuple[dt.datetime, bytes]] = {}


def crl_fetch(cert: x509.Certificate) -> tuple[bytes, str] | None:
    """The CRL from the certificate's CDP (cached until its nextUpdate)."""
    url = crl_url_for(cert)
    if not url:
        return None
    now = dt.datetime.now(dt.UTC)
    cached = _CRL_CACHE.get(url)
    if cached and cached[0] > now:
        return cached[1], url
    try:
        der = _get(url)
        next_update = x509.load_der_x509_crl(der).next_update_utc or now
    except (httpx.HTTPError, ValueError):
        logger.warning("CRL %s cannot be fetched", url)
        return None
    _CRL_CACHE[url] = (min(next_update, now + dt.timedelta(hours=1)), der)
    return der, url


def live_revocation(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationEvidence | None:
    """OCSP first, the CRL from the CDP when OCSP does not answer; None when neither does."""
    evidence = ocsp_query(cert, issuer)
    if evidence is not None:
        return evidence
    fetched = crl_fetch(cert)
    if fetched is None:
        return None
    return crl_evidence(fetched[0], cert, issuer, at=dt.datetime.now(dt.UTC), url=fetched[1])


# --- time-stamps ----------------------------------------------------------------------------------

@dataclass
class TimestampCheck:
    ok: bool
    time: dt.datetime | None = None
    tsa_certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    problem: str = ""


def timestamp_check(token: acms.ContentInfo, imprint_data: bytes | None) -> TimestampCheck:
    """Checks an RFC 3161 token over `imprint_data`: the TSTInfo's messageImprint, the CMS
    signature, the TSA certificate's id-kp-timeStamping and its chain to a trusted root.
    imprint_data=None: the caller has compared the imprint (a PDF document time-stamp)."""
    from .cms import cms_verify

    try:
        sd = token["content"]
        tst_info = sd["encap_content_info"]["content"].parsed
        imprint = tst_info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if imprint_data is not None and hashlib.new(algorithm, imprint_data).digest() != imprint["hashed_message"].native:
            return TimestampCheck(ok=False, problem="imprint")
        gen_time = tst_info["gen_time"].native
        tst_der = bytes(sd["encap_content_info"]["content"].contents)
        verified = cms_verify(cms_bytes=token.dump(), data=tst_der, check_certificates=False)
    except Exception:  # a damaged token: not a time-stamp
        logger.info("time-stamp token unreadable", exc_info=True)
        return TimestampCheck(ok=False, problem="format")
    sig = verified.signatures[0] if verified.signatures else None
    if sig is None or not (sig.intact and sig.signature_valid) or sig.info is None:
        return TimestampCheck(ok=False, time=gen_time, problem="signature")
    tsa_cert = sig.info.certificate
    try:
        eku = tsa_cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE)
        if not eku.critical or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
            return TimestampCheck(ok=False, time=gen_time, tsa_certificate=tsa_cert, problem="not_tsa")
    except x509.ExtensionNotFound:
        return TimestampCheck(ok=False, time=gen_time, tsa_certificate=tsa_cert, problem="not_tsa")
    chain = build_chain(tsa_cert, sig.info.chain)
    if chain is None:
        return TimestampCheck(ok=False, time=gen_time, tsa_certificate=tsa_cert, problem="untrusted")
    if not all(c.not_valid_before_utc <= gen_time <= c.not_valid_after_utc for c in chain):
        return TimestampCheck(ok=False, time=gen_time, tsa_certificate=tsa_cert, chain=chain, problem="expired")
    return TimestampCheck(ok=True, time=gen_time, tsa_certificate=tsa_cert, chain=chain)


def request_timestamp(data: bytes) -> acms.ContentInfo:
    """An RFC 3161 token over sha256(data) from SIGNING_TSA_URL, with bounded retries.
    Raises TrustError("tsa_unavailable") when the TSA does not answer or answers garbage."""
    from pyhanko.sign.timestamps.common_utils import handle_tsp_response

    nonce = secrets.randbits(63)
    req = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce, "cert_req": True,
    })
    try:
        body = _post(settings.SIGNING_TSA_URL, req.dump(), "application/timestamp-query",
                     attempts=settings.SIGNING_TSA_ATTEMPTS)
        token = handle_tsp_response(tsp.TimeStampResp.load(body), nonce)
    except Exception as exc:  # httpx errors, a rejection, a damaged reply
        logger.warning("TSA %s: %s", settings.SIGNING_TSA_URL, exc.__class__.__name__)
        raise TrustError("tsa_unavailable") from exc
    check = timestamp_check(token, data)
    if not check.ok:
        logger.warning("TSA %s returned an unusable token: %s", settings.SIGNING_TSA_URL, check.problem)
        raise TrustError("tsa_unavailable")
    return token


_TIMESTAMPERS: dict[str, tuple[float, object]] = {}


def pdf_timestamper():
    """pyHanko's TimeStamper over httpx (PAdES signature and document time-stamps), one per TSA URL
    and hour: pyHanko sizes the signature container with a probe token that it keeps per
    TimeStamper, so a fresh one per signature would cost an extra TSA round trip each time."""
    url = settings.SIGNING_TSA_URL
    cached = _TIMESTAMPERS.get(url)
    if cached is None or time.monotonic() - cached[0] > 3600:
        cached = _TIMESTAMPERS[url] = (time.monotonic(), _new_pdf_timestamper())
    return cached[1]


def _new_pdf_timestamper():
    from pyhanko.sign.timestamps.api import TimeStamper

    class _HttpxTimeStamper(TimeStamper):
        async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
            last: Exception | None = None
            async with httpx.AsyncClient(timeout=settings.SIGNING_TRUST_TIMEOUT, verify=_tls()) as client:
                for attempt in range(max(1, settings.SIGNING_TSA_ATTEMPTS)):
                    try:
                        r = await client.post(settings.SIGNING_TSA_URL, content=req.dump(),
                                              headers={"Content-Type": "application/timestamp-query"})
                        r.raise_for_status()
                        return tsp.TimeStampResp.load(r.content)
                    except httpx.HTTPError as exc:
                        last = exc
                        import asyncio

                        await asyncio.sleep(min(0.2 * 2 ** attempt, 2.0))
            raise OSError(f"TSA does not answer: {last.__class__.__name__}")

    return _HttpxTimeStamper()


# --- THE step for an incoming user signature ---------------------------------------------------

@dataclass
class TrustedSignature:
    cms: bytes  # the CMS with the signature-time-stamp unsigned attribute (CAdES-T)
    tsa_time: dt.datetime
    declared_time: dt.datetime | None
    evidence: RevocationEvidence
    level: str = "B-T"


def _signature_value(si: acms.SignerInfo) -> bytes:
    return si["signature"].native


def _declared_time(si: acms.SignerInfo) -> dt.datetime | None:
    for attr in si["signed_attrs"]:
        if attr["type"].native == "signing_time":
            return attr["values"][0].native
    return None


def check_chain_at(chain: list[x509.Certificate], at: dt.datetime) -> None:
    """Every certificate of [leaf, ..., root] valid at `at`; CA certificates not revoked by the
    CRLs at hand. Raises SigningError expired / not_yet_valid / revoked."""
    if at < chain[0].not_valid_before_utc:
        raise TrustError("not_yet_valid")
    if any(at > c.not_valid_after_utc or at < c.not_valid_before_utc for c in chain):
        raise TrustError("expired")
    for child, parent in zip(chain[1:], chain[2:], strict=False):
        st = revocation_status(child, parent)
        if st.revoked and st.revoked_at is not None and st.revoked_at <= at:
            raise TrustError("revoked")


def leaf_status_at(cert: x509.Certificate, issuer: x509.Certificate, at: dt.datetime, *,
                   evidence: RevocationEvidence | None | bool = False) -> RevocationEvidence:
    """Live OCSP (CRL fallback) for the signer at `at` (`evidence`: live_revocation's answer, already
    fetched). Raises revoked / certificate_unknown / try_later."""
    if evidence is False:
        evidence = live_revocation(cert, issuer)
    if evidence is None:
        raise TrustError("try_later")
    if evidence.status == "unknown":
        raise TrustError("certificate_unknown")
    if evidence.status == "revoked" and (evidence.revoked_at is None or evidence.revoked_at <= at):
        raise TrustError("revoked")
    return evidence


def secure_user_signature(*, cms_bytes: bytes, purpose: str = "sign") -> TrustedSignature:
    """Time-stamps the (only) SignerInfo of a verified CMS at the TSA and checks the signer's
    certificate at the TSA's time: validity, OCSP (CRL fallback), key purpose. Returns the CAdES-T
    CMS and the evidence to keep; raises SigningError (nothing is stored by the caller then)."""
    from .cms import _der, _find_cert

    der = _der(cms_bytes)
    info_ = acms.ContentInfo.load(der)
    sd = info_["content"]
    si = sd["signer_infos"][0]
    cert, others = _find_cert(sd, si["sid"], der)
    if cert is None:
        raise TrustError("untrusted")
    chain = build_chain(cert, others)
    if chain is None or len(chain) < 2:
        raise TrustError("untrusted")
    if purpose == "sign" and certificate_info(cert).key_purpose == "auth":
        raise TrustError("auth_key_for_signing")
    # The TSA request and the OCSP query (CRL fallback) are independent network calls to the NCA:
    # asked at once, in two threads (no database there; the caller holds no transaction). They are
    # decided in the order they always were: the time-stamp first, then the chain and the status at it.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="nca") as pool:
        ocsp = pool.submit(live_revocation, cert, chain[1])
        token = request_timestamp(_signature_value(si))
        tsa_time = token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
        check_chain_at(chain, tsa_time)
        evidence = leaf_status_at(cert, chain[1], tsa_time, evidence=ocsp.result())
    unsigned = [a for a in (si["unsigned_attrs"] if si["unsigned_attrs"].native else [])
                if a["type"].native != "signature_time_stamp_token"]
    unsigned.append(acms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]}))
    si["unsigned_attrs"] = acms.CMSAttributes(unsigned)
    return TrustedSignature(cms=info_.dump(force=False), tsa_time=tsa_time, declared_time=_declared_time(si),
                            evidence=evidence)


def certificate_status_now(cert: x509.Certificate, chain: list[x509.Certificate] | None = None) -> RevocationEvidence:
    """For key checks without a document (ЭЦП login, registration): the certificate's status now by
    OCSP (CRL fallback). Raises revoked / certificate_unknown / try_later / untrusted."""
    full = build_chain(cert, chain or [])
    if full is None or len(full) < 2:
        raise TrustError("untrusted")
    now = dt.datetime.now(dt.UTC)
    check_chain_at(full, now)
    return leaf_status_at(cert, full[1], now)


# --- material for PAdES B-LT / B-LTA --------------------------------------------------------------

def validation_material(certs: list[x509.Certificate]) -> tuple[list[bytes], list[bytes]]:
    """(OCSP responses, CRLs) for every certificate given and its chain: OCSP for the end-entity
    certificates the intermediate issued, CRLs of every CA on the way. Raises TrustError("try_later")
    when a needed answer cannot be obtained."""
    ocsps: list[bytes] = []
    crls: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for leaf in certs:
        chain = build_chain(leaf, certs)
        if chain is None:
            continue
        for child, parent in zip(chain, chain[1:], strict=False):
            fp = child.fingerprint(hashes.SHA256())
            if fp in seen:
                continue
            seen.add(fp)
            if _is_ocsp_nocheck(child):
                continue
            if child is chain[0] and ocsp_url_for(child) and child.issuer != chain[-1].subject:
                evidence = ocsp_query(child, parent)
                if evidence is None or evidence.status != "good":
                    raise TrustError("try_later")
                ocsps.append(evidence.der)
            fetched = crl_fetch(child)
            if fetched is not None:
                crls[fetched[1]] = fetched[0]
            elif not (child is chain[0] and ocsps):
                raise TrustError("try_later")
    return ocsps, list(crls.values())


def _is_ocsp_nocheck(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.OCSPNoCheck)
        return True
    except x509.ExtensionNotFound:
        return False


def der_certs(certs: list[x509.Certificate]) -> list[bytes]:
    return [cert_der(c) for c in certs]
