"""RFC 6960 OCSP responder for the test intermediate, built with cryptography's OCSP builder.

* a certificate the intermediate issued and did not revoke: good;
* revoked: revoked with the revocation time and reason from the index;
* a serial the intermediate never issued: unknown;
* a request about another CA: the "unauthorized" error status (RFC 6960 2.3).
The response is signed by the delegated responder certificate (id-kp-OCSPSigning, issued by the
intermediate) and echoes the request's nonce (RFC 8954)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from .authority import Authority

NEXT_UPDATE = dt.timedelta(hours=1)


def _key_hash(cert: x509.Certificate, algorithm) -> bytes:
    # RFC 6960 4.1.1: hash of the issuer's subjectPublicKey BIT STRING value
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    from asn1crypto import keys

    digest = hashes.Hash(algorithm)
    digest.update(keys.PublicKeyInfo.load(spki)["public_key"].contents[1:])
    return digest.finalize()


def _name_hash(cert: x509.Certificate, algorithm) -> bytes:
    digest = hashes.Hash(algorithm)
    digest.update(cert.subject.public_bytes())
    return digest.finalize()


def respond(authority: Authority, body: bytes, *, now: dt.datetime | None = None) -> bytes:
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    try:
        req = ocsp.load_der_ocsp_request(body)
        algorithm = req.hash_algorithm
    except Exception:  # garbage, or several requests in one (cryptography reads one)
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(
            serialization.Encoding.DER)
    m = authority.material()
    issuer = m.ca_certs["nca_rsa"]
    if req.issuer_name_hash != _name_hash(issuer, algorithm) or req.issuer_key_hash != _key_hash(issuer, algorithm):
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(
            serialization.Encoding.DER)
    entry = m.index.get("nca_rsa", {}).get(format(req.serial_number, "x"))
    revocation_time = revocation_reason = None
    if entry is None:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif entry.get("status") == "revoked":
        status = ocsp.OCSPCertStatus.REVOKED
        revocation_time = dt.datetime.fromisoformat(entry["revoked_at"]).replace(microsecond=0)
        revocation_reason = x509.ReasonFlags[entry.get("reason") or "unspecified"]
    else:
        status = ocsp.OCSPCertStatus.GOOD
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(issuer_name_hash=req.issuer_name_hash, issuer_key_hash=req.issuer_key_hash,
                              serial_number=req.serial_number, algorithm=algorithm, cert_status=status,
                              this_update=now, next_update=now + NEXT_UPDATE, revocation_time=revocation_time,
                              revocation_reason=revocation_reason)
        .responder_id(ocsp.OCSPResponderEncoding.HASH, m.ocsp_cert)
        .certificates([m.ocsp_cert])
    )
    try:
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce).value
        builder = builder.add_extension(nonce, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(m.ocsp_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
