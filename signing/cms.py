"""CMS (CAdES-BES) signatures: sha256WithRSA, signing-time and signing-certificate-v2 signed
attributes; detached (the portal's records) or attached (CMS_WITH_DATA, the eGov QR protocol)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import pyhanko.sign.general  # noqa: F401 - registers signing_certificate_v2 with asn1crypto
from asn1crypto import cms as acms
from asn1crypto import core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from .certs import (
    CertificateInfo,
    CertificateStatus,
    OpenedKey,
    SigningError,
    cert_der,
    certificate_info,
    certificate_status,
)


def _attr(type_: str, value) -> acms.CMSAttribute:
    return acms.CMSAttribute({"type": type_, "values": [value]})


def cms_sign(*, data: bytes | None = None, key: OpenedKey, signing_time: dt.datetime, attached: bool = False,
             digest: bytes | None = None) -> bytes:
    """A CAdES-BES CMS over `data`, or over a SHA-256 `digest` the caller computed (a PDF's byte
    range for PAdES). The portal never calls this with a user's key: the user's browser signs
    (static/js/signing-keyfile.js, NCALayer); this serves KZhK's own keys, the eGov simulator,
    the demo seeding and tests."""
    if digest is None:
        digest = hashlib.sha256(data).digest()
    cert_bytes = cert_der(key.certificate)
    cert_a = ax509.Certificate.load(cert_bytes)
    ess = tsp.SigningCertificateV2({
        "certs": [tsp.ESSCertIDv2({
            "hash_algorithm": {"algorithm": "sha256"},
            "cert_hash": hashlib.sha256(cert_bytes).digest(),
            "issuer_serial": {
                "issuer": [ax509.GeneralName({"directory_name": cert_a.issuer})],
                "serial_number": cert_a.serial_number,
            },
        })]
    })
    attrs = [
        _attr("content_type", "data"),
        _attr("signing_time", acms.Time({"utc_time": signing_time.astimezone(dt.UTC).replace(microsecond=0)})),
        _attr("message_digest", digest),
        _attr("signing_certificate_v2", ess),
    ]
    attrs.sort(key=lambda a: a.dump())  # DER: SET OF sorted by encoding (OpenSSL re-encodes)
    signed_attrs = acms.CMSAttributes(attrs)
    signature = key.private_key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    signer_info = acms.SignerInfo({
        "version": "v1",
        "sid": acms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": cert_a.issuer, "serial_number": cert_a.serial_number}}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": "sha256_rsa"},
        "signature": signature,
    })
    certs = [cert_a] + [ax509.Certificate.load(cert_der(c)) for c in key.chain if c.subject != c.issuer]
    signed_data = acms.SignedData({
        "version": "v1",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "data", "content": data if attached and data is not None else None},
        "certificates": certs,
        "signer_infos": [signer_info],
    })
    return acms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


@dataclass
class VerifiedSignature:
    info: CertificateInfo | None
    signing_time: dt.datetime | None
    intact: bool  # the document hash matches
    signature_valid: bool  # the RSA signature over the signed attributes is good
    cert_status: CertificateStatus | None
    problems: list[str] = field(default_factory=list)  # SigningError codes

    @property
    def ok(self) -> bool:
        return self.intact and self.signature_valid and self.cert_status is not None and self.cert_status.ok and not self.problems


@dataclass
class CmsContent:
    signatures: list[VerifiedSignature]
    content: bytes | None  # the encapsulated document (attached CMS) or the data given


def _der(cms_bytes: bytes) -> bytes:
    if cms_bytes[:5] == b"-----":
        from asn1crypto import pem

        try:
            _, _, cms_bytes = pem.unarmor(cms_bytes)
        except Exception as exc:
            raise SigningError("not_cms") from exc
    return cms_bytes


def _load_signed_data(cms_bytes: bytes) -> acms.SignedData:
    try:
        info = acms.ContentInfo.load(_der(cms_bytes))
        if info["content_type"].native != "signed_data":
            raise ValueError("not signed data")
        sd = info["content"]
        if len(sd["signer_infos"]) == 0:
            raise ValueError("no signers")
        for si in sd["signer_infos"]:
            si["sid"].chosen  # noqa: B018 - parse the parts we use, so garbage fails here
        return sd
    except Exception as exc:
        raise SigningError("not_cms") from exc


def cms_signer_digest(cms_bytes: bytes) -> tuple[bytes | None, bytes]:
    """(message-digest signed attribute or None, signature value) of the first SignerInfo."""
    si = _load_signed_data(cms_bytes)["signer_infos"][0]
    digest = None
    for attr in si["signed_attrs"] if si["signed_attrs"].native is not None else []:
        if attr["type"].native == "message_digest":
            digest = attr["values"][0].native
    return digest, si["signature"].native


def cms_content(cms_bytes: bytes) -> bytes | None:
    return _encapsulated(_load_signed_data(cms_bytes))


def _encapsulated(sd: acms.SignedData) -> bytes | None:
    content = sd["encap_content_info"]["content"]
    return None if isinstance(content, core.Void) or content.native is None else content.native


def _find_cert(sd, sid, cms_bytes: bytes) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
    # The certificates exactly as received (strict DER): asn1crypto would re-encode a lax encoding
    # into a canonical one and hide that the bytes differ from what the CA signed.
    all_certs = pkcs7.load_der_pkcs7_certificates(cms_bytes) if len(sd["certificates"]) else []
    chosen = None
    if sid.name == "issuer_and_serial_number":
        serial = sid.chosen["serial_number"].native
        issuer_der = sid.chosen["issuer"].dump()
        chosen = next((c for c in all_certs if c.serial_number == serial and c.issuer.public_bytes() == issuer_der), None)
    else:
        ski = sid.chosen.native
        for c in all_certs:
            try:
                if c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest == ski:
                    chosen = c
            except x509.ExtensionNotFound:
                continue
    others = [c for c in all_certs if chosen is None or c != chosen]
    return chosen, others


def cms_verify(*, cms_bytes: bytes, data: bytes | None = None, check_certificates: bool = True,
               digest: bytes | None = None) -> CmsContent:
    """Verifies every SignerInfo against `data` (detached) or the encapsulated content, or against
    a precomputed `digest` of the signed content (PAdES: the PDF's byte range).
    Never raises for a bad signature: the result says what is wrong; raises SigningError("not_cms")
    on garbage or a damaged structure (whatever the parsers raise)."""
    try:
        return _cms_verify(cms_bytes=cms_bytes, data=data, check_certificates=check_certificates, digest=digest)
    except SigningError:
        raise
    except Exception as exc:  # parsers raise many kinds on damaged input (InvalidVersion, ParseError, ...)
        raise SigningError("not_cms") from exc


def _cms_verify(*, cms_bytes: bytes, data: bytes | None, check_certificates: bool, digest: bytes | None = None) -> CmsContent:
    cms_bytes = _der(cms_bytes)
    sd = _load_signed_data(cms_bytes)
    encap = _encapsulated(sd)
    content = data if data is not None else encap
    if data is not None and encap is not None and encap != data:
        content = data  # checked against what the caller holds; the digest will tell
    results = []
    for si in sd["signer_infos"]:
        cert, others = _find_cert(sd, si["sid"], cms_bytes)
        problems: list[str] = []
        signing_time = None
        intact = signature_valid = False
        info = certificate_info(cert, others) if cert is not None else None
        attrs = si["signed_attrs"]
        signed_attrs_der = b"\x31" + attrs.dump()[1:]  # the SET OF as signed (before reading values)
        digest_alg = si["digest_algorithm"]["algorithm"].native
        hash_fn = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512, "sha1": hashlib.sha1}.get(digest_alg)
        message_digest = None
        cert_hash_ok = None
        content_type_ok = False  # RFC 5652 5.3: the content-type attribute must equal eContentType
        sig_alg = si["signature_algorithm"]["algorithm"].native
        algorithms_ok = (
            digest_alg in {a["algorithm"].native for a in sd["digest_algorithms"]}
            and (sig_alg == "rsassa_pkcs1v15" or sig_alg == f"{digest_alg}_rsa")
        )
        for attr in attrs:
            kind = attr["type"].native
            if kind == "content_type":
                content_type_ok = attr["values"][0].dotted == sd["encap_content_info"]["content_type"].dotted
            elif kind == "message_digest":
                message_digest = attr["values"][0].native
            elif kind == "signing_time":
                signing_time = attr["values"][0].native
            elif kind == "signing_certificate_v2" and cert is not None:
                ess = attr["values"][0]["certs"][0]
                alg = ess["hash_algorithm"]["algorithm"].native
                cert_hash_ok = hashlib.new(alg, cert_der(cert)).digest() == ess["cert_hash"].native
        if digest is not None:
            intact = digest_alg == "sha256" and message_digest == digest
        elif content is not None and hash_fn is not None and message_digest is not None:
            intact = hash_fn(content).digest() == message_digest
        if cert is not None and isinstance(cert.public_key(), rsa.RSAPublicKey) and len(attrs):
            to_verify = signed_attrs_der
            h = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(), "sha1": hashes.SHA1()}.get(digest_alg)  # noqa: S303
            try:
                cert.public_key().verify(si["signature"].native, to_verify, padding.PKCS1v15(), h)
                signature_valid = True
            except (InvalidSignature, TypeError, ValueError):
                signature_valid = False
        if cert is None:
            problems.append("untrusted")
        if not intact or not signature_valid:
            problems.append("bad_signature")
        if cert_hash_ok is False or not content_type_ok or not algorithms_ok:
            problems.append("bad_signature")
        status = None
        if cert is not None and check_certificates:
            at = signing_time or dt.datetime.now(dt.UTC)
            status = certificate_status(cert, at=at, extra=others)
            if not status.trusted:
                problems.append("untrusted")
            elif not status.valid_at_time:
                problems.append("expired")
            elif status.revoked:
                problems.append("revoked")
            elif not status.revocation_known:
                problems.append("revocation_unknown")
            if info is not None and status.trusted:
                info.chain = status.chain[1:]
        results.append(VerifiedSignature(info=info, signing_time=signing_time, intact=intact,
                                         signature_valid=signature_valid, cert_status=status, problems=problems))
    return CmsContent(signatures=results, content=content)
