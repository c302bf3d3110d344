"""Opening PKCS#12 key files and checking certificates against the configured trust (chain, time,
CRL, key purpose, legal entity, BIN, roles). No database access here."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from django.utils.translation import gettext_lazy as _

from . import pki

MAX_KEY_FILE_SIZE = 64 * 1024

ERROR_MESSAGES = {
    "not_pkcs12": _("The file is not a key file (PKCS#12, .p12)."),
    "wrong_password": _("Wrong password for the key file."),
    "not_rsa": _("The key is not an RSA key. Please use the RSA key."),
    "expired": _("The certificate has expired."),
    "not_yet_valid": _("The certificate is not valid yet."),
    "revoked": _("The certificate has been revoked."),
    "revocation_unknown": _("The revocation status of the certificate cannot be checked."),
    "untrusted": _("The certificate was not issued by a trusted certification authority (NCA RK)."),
    "individual": _("This is an individual's certificate; a legal entity's certificate is required."),
    "wrong_organization": _("The certificate belongs to another organization; the certificate of the signing organization is required."),
    "auth_key_for_signing": _("This is an authentication key (AUTH_RSA256…); use the signing key (RSA256…) to sign."),
    "sign_key_for_auth": _("This is a signing key (RSA256…); use the authentication key (AUTH_RSA256…) to log in."),
    "no_signing_right": _("The certificate holder has no right to sign for the organization."),
    "bad_signature": _("The signature does not match the document."),
    "not_cms": _("The file is not a CMS signature."),
}


class SigningError(Exception):
    """A refusal with a stable code and a message in the user's language (lazy)."""

    def __init__(self, code: str, message=None):
        self.code = code
        self.message = message if message is not None else ERROR_MESSAGES.get(code, code)
        super().__init__(code)

    def __str__(self) -> str:
        return str(self.message)


@dataclass
class CertificateInfo:
    iin: str
    bin: str
    surname: str
    given_name: str
    patronymic: str
    full_name: str
    organization_name: str
    roles: set[str]
    key_purpose: str  # "auth" | "sign"
    not_before: dt.datetime
    not_after: dt.datetime
    serial_number: str
    issuer: str
    certificate: x509.Certificate | None = field(default=None, repr=False, compare=False)
    chain: list[x509.Certificate] = field(default_factory=list, repr=False, compare=False)

    @property
    def is_legal_entity(self) -> bool:
        return bool(self.bin) and "individual" not in self.roles

    def as_dict(self) -> dict:
        return {
            "iin": self.iin, "bin": self.bin, "surname": self.surname, "given_name": self.given_name,
            "patronymic": self.patronymic, "full_name": self.full_name,
            "organization_name": self.organization_name, "roles": sorted(self.roles),
            "key_purpose": self.key_purpose, "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(), "serial_number": self.serial_number, "issuer": self.issuer,
        }


@dataclass
class OpenedKey:
    certificate_info: CertificateInfo
    private_key: rsa.RSAPrivateKey = field(repr=False)
    certificate: x509.Certificate = field(repr=False)
    chain: list[x509.Certificate] = field(repr=False, default_factory=list)


def _attr(name: x509.Name, oid) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def certificate_info(cert: x509.Certificate, chain: list[x509.Certificate] | None = None) -> CertificateInfo:
    subject = cert.subject
    cn = _attr(subject, NameOID.COMMON_NAME)
    surname = _attr(subject, NameOID.SURNAME)
    given = cn[len(surname):].strip() if surname and cn.startswith(surname) else (cn.split(" ", 1) + [""])[1]
    patronymic = _attr(subject, NameOID.GIVEN_NAME)
    serial = _attr(subject, NameOID.SERIAL_NUMBER)
    ou = _attr(subject, NameOID.ORGANIZATIONAL_UNIT_NAME)
    roles: set[str] = set()
    purpose = ""
    try:
        eku = cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
        for oid in eku:
            if oid.dotted_string in pki.ROLE_OIDS:
                roles.add(pki.ROLE_OIDS[oid.dotted_string])
            elif oid == ExtendedKeyUsageOID.CLIENT_AUTH:
                purpose = "auth"
            elif oid == ExtendedKeyUsageOID.EMAIL_PROTECTION:
                purpose = purpose or "sign"
    except x509.ExtensionNotFound:
        pass
    if not purpose:
        try:
            ku = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
            purpose = "sign" if ku.content_commitment else "auth"
        except x509.ExtensionNotFound:
            purpose = "sign"
    bin_ = ou[3:] if ou.upper().startswith("BIN") else ""
    if not roles:
        roles.add("organization" if bin_ else "individual")
    full_name = " ".join(p for p in (surname or cn.split(" ")[0], given, patronymic) if p)
    return CertificateInfo(
        iin=serial[3:] if serial.upper().startswith("IIN") else serial,
        bin=bin_,
        surname=surname,
        given_name=given,
        patronymic=patronymic,
        full_name=full_name,
        organization_name=_attr(subject, NameOID.ORGANIZATION_NAME),
        roles=roles,
        key_purpose=purpose,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial_number=format(cert.serial_number, "x"),
        issuer=_attr(cert.issuer, NameOID.COMMON_NAME) or cert.issuer.rfc4514_string(),
        certificate=cert,
        chain=list(chain or []),
    )


def pkcs12_open(*, data: bytes, password: str) -> OpenedKey:
    """Opens a PKCS#12 key file in memory. Raises SigningError not_pkcs12 / wrong_password / not_rsa."""
    if not data or len(data) > MAX_KEY_FILE_SIZE:
        raise SigningError("not_pkcs12")
    try:
        asn1_pkcs12.Pfx.load(data)["auth_safe"]["content_type"].native  # noqa: B018 - parse check
    except Exception as exc:  # asn1crypto raises several kinds on garbage
        raise SigningError("not_pkcs12") from exc
    try:
        loaded = pkcs12.load_pkcs12(data, (password or "").encode("utf-8"))
    except ValueError as exc:
        raise SigningError("wrong_password") from exc
    except Exception as exc:  # unsupported algorithms (e.g. GOST) and the like
        raise SigningError("not_rsa") from exc
    if loaded.key is None or loaded.cert is None:
        raise SigningError("not_pkcs12")
    if not isinstance(loaded.key, rsa.RSAPrivateKey):
        raise SigningError("not_rsa")
    cert = loaded.cert.certificate
    chain = [c.certificate for c in loaded.additional_certs]
    return OpenedKey(certificate_info=certificate_info(cert, chain), private_key=loaded.key, certificate=cert, chain=chain)


# --- chain and revocation ---------------------------------------------------------------------

def _fingerprint(cert: x509.Certificate) -> bytes:
    return cert.fingerprint(hashes.SHA256())


_VERIFIED: dict[tuple[bytes, bytes], bool] = {}  # (sha256 of the child's whole DER, issuer) checks done


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    key = (_fingerprint(cert), _fingerprint(issuer))  # the whole certificate, not just its signature
    if key not in _VERIFIED:
        try:
            cert.verify_directly_issued_by(issuer)
            _VERIFIED[key] = True
        except (ValueError, TypeError, InvalidSignature):
            _VERIFIED[key] = False
        if len(_VERIFIED) > 10_000:
            _VERIFIED.clear()
    return _VERIFIED[key]


def build_chain(cert: x509.Certificate, extra: list[x509.Certificate] | None = None) -> list[x509.Certificate] | None:
    """[leaf, ..., trusted root] or None when the certificate does not chain to a trusted root."""
    roots = pki.trusted_roots()
    root_fps = {_fingerprint(r) for r in roots}
    pool = pki.known_intermediates() + list(extra or []) + roots
    chain = [cert]
    current = cert
    for _depth in range(6):
        if _fingerprint(current) in root_fps:
            return chain
        issuer = next((c for c in pool if _issued_by(current, c)), None)
        if issuer is None or issuer in chain:
            return None
        chain.append(issuer)
        current = issuer
    return None


@dataclass
class RevocationStatus:
    known: bool
    revoked: bool = False
    revoked_at: dt.datetime | None = None


def revocation_status(cert: x509.Certificate, issuer: x509.Certificate) -> RevocationStatus:
    now = dt.datetime.now(dt.UTC)
    for crl in pki.crls():
        if crl.issuer != issuer.subject or (crl.next_update_utc is not None and crl.next_update_utc < now):
            continue
        key = (hashlib.sha256(crl.tbs_certlist_bytes + crl.signature).digest(), _fingerprint(issuer))
        if key not in _VERIFIED:
            _VERIFIED[key] = crl.is_signature_valid(issuer.public_key())
        if not _VERIFIED[key]:
            continue
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is None:
            return RevocationStatus(known=True)
        return RevocationStatus(known=True, revoked=True, revoked_at=entry.revocation_date_utc)
    return RevocationStatus(known=False)


@dataclass
class CertificateStatus:
    """Every check at a moment, without raising (the verifier reports all of them)."""

    trusted: bool
    valid_at_time: bool
    revoked: bool
    revoked_at: dt.datetime | None
    revocation_known: bool
    chain: list[x509.Certificate]

    @property
    def ok(self) -> bool:
        return self.trusted and self.valid_at_time and not self.revoked and self.revocation_known


def certificate_status(cert: x509.Certificate, *, at: dt.datetime, extra: list[x509.Certificate] | None = None) -> CertificateStatus:
    chain = build_chain(cert, extra) or []
    valid = all(c.not_valid_before_utc <= at <= c.not_valid_after_utc for c in (chain or [cert]))
    revoked, revoked_at, known = False, None, bool(chain)
    for child, parent in zip(chain, chain[1:], strict=False):
        st = revocation_status(child, parent)
        known = known and st.known
        if st.revoked and st.revoked_at is not None and st.revoked_at <= at:
            revoked, revoked_at = True, st.revoked_at
    return CertificateStatus(trusted=bool(chain), valid_at_time=valid, revoked=revoked, revoked_at=revoked_at,
                             revocation_known=known, chain=chain)


def certificate_check(
    *,
    info_or_cert: CertificateInfo | x509.Certificate,
    at: dt.datetime,
    purpose: str = "sign",
    require_legal_entity: bool = False,
    required_bin: str | None = None,
    allowed_roles: set[str] | None = None,
) -> CertificateInfo:
    """Raises SigningError unless the certificate is fit for `purpose` at `at` for the flow."""
    if isinstance(info_or_cert, CertificateInfo):
        info = info_or_cert
        cert = info.certificate
    else:
        cert = info_or_cert
        info = certificate_info(cert)
    if cert is None:
        raise SigningError("untrusted")
    chain = build_chain(cert, info.chain)
    if chain is None:
        raise SigningError("untrusted")
    if at < cert.not_valid_before_utc:
        raise SigningError("not_yet_valid")
    if any(at > c.not_valid_after_utc for c in chain):
        raise SigningError("expired")
    for child, parent in zip(chain, chain[1:], strict=False):
        st = revocation_status(child, parent)
        if not st.known:
            raise SigningError("revocation_unknown")
        if st.revoked and st.revoked_at <= at:
            raise SigningError("revoked")
    if purpose == "sign" and info.key_purpose == "auth":
        raise SigningError("auth_key_for_signing")
    if purpose == "auth" and info.key_purpose == "sign":
        raise SigningError("sign_key_for_auth")
    if (require_legal_entity or required_bin or allowed_roles) and not info.is_legal_entity:
        raise SigningError("individual")
    if required_bin and info.bin != required_bin:
        raise SigningError("wrong_organization")
    if allowed_roles and not (info.roles & set(allowed_roles)):
        raise SigningError("no_signing_right")
    info.chain = chain[1:]
    return info


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
