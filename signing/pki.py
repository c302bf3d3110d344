"""The test national PKI: a root CA and an intermediate shaped like НУЦ РК, demo key files, CRLs.

Everything lives in files under ``settings.PKI_DIR`` (never in the database):

    root.pem, root.key              root CA «НУЦ РК (TEST) ROOT», RSA 4096 (the key is never served)
    nca_rsa.pem, nca_rsa.key        intermediate «НУЦ РК (TEST) RSA», RSA 2048, issues the users' keys
    untrusted_root.pem/.key         a CA nobody trusts (for the "untrusted" demo key)
    trust/roots/*.pem               trusted roots (replace with the real NCA roots to go live)
    trust/intermediates/*.pem       intermediates used to build chains
    crl/*.crl                       CRLs, one per issuing CA, served by nca_services (CDP) and /signing/pki/<name>.crl
    tsa.pem, tsa.key                the time-stamp authority's certificate (under the root, id-kp-timeStamping)
    ocsp.pem, ocsp.key              the delegated OCSP responder of the intermediate (id-kp-OCSPSigning, ocsp-nocheck)
    index.json                      what each CA issued: serial -> good / revoked (time, reason); nca_services reads it
    keys/*.p12                      demo PKCS#12 key files (passwords in demo-keys.json)
    demo-keys.json                  the manifest: file, password, purpose, role, person, IIN, BIN, what for

``ensure_pki()`` is idempotent and safe to call from parallel processes (a file lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import fnmatch
import functools
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.utils.translation import gettext_noop

from cabinets.iin import iin_bin_make as make_iin_bin  # the one generator (cabinets/iin.py), old name kept

# Role OIDs as НУЦ РК puts them into the extendedKeyUsage of its certificates.
OID_INDIVIDUAL = "1.2.398.3.3.4.1.1"
OID_ORGANIZATION = "1.2.398.3.3.4.1.2"
OID_HEAD = "1.2.398.3.3.4.2.1"
OID_MAY_SIGN = "1.2.398.3.3.4.2.2"
OID_EMPLOYEE = "1.2.398.3.3.4.2.5"
ROLE_OIDS = {
    OID_INDIVIDUAL: "individual",
    OID_ORGANIZATION: "organization",
    OID_HEAD: "head",
    OID_MAY_SIGN: "may_sign",
    OID_EMPLOYEE: "employee",
}
OID_BY_ROLE = {v: k for k, v in ROLE_OIDS.items()}
# NCA-style certificate policy OIDs (policy of the RSA intermediate).
OID_POLICY_NCA_RSA = "1.2.398.3.3.2.1"

ROOT_NAME = "НУЦ РК (TEST) ROOT"
NCA_NAME = "НУЦ РК (TEST) RSA"
UNTRUSTED_NAME = "UNTRUSTED TEST CA"
TSA_NAME = "НУЦ РК (TEST) TSA"
OCSP_NAME = "НУЦ РК (TEST) OCSP"
DEMO_PASSWORD = "Qwerty12"  # noqa: S105 - the published password of the demo key files
KZHK_BIN = "050740004819"
KZHK_NAME = "АО «Казахстанская Жилищная Компания»"
PKI_VERSION = 5  # bump to regenerate every existing PKI directory
CRL_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True)
class DemoPerson:
    slug: str
    surname: str
    name: str
    patronymic: str
    iin: str
    roles: tuple[str, ...]  # role names from ROLE_OIDS values
    bin: str = ""
    organization: str = ""
    purposes: tuple[str, ...] = ("AUTH", "SIGN")
    issuer: str = "nca"  # "nca" or "untrusted"
    state: str = "valid"  # "valid", "expired", "revoked"
    note: str = ""
    email: str = ""
    extra: dict = field(default_factory=dict)


def demo_people() -> list[DemoPerson]:
    from cabinets.demo_identities import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN, REGISTRY

    company = REGISTRY[0][1]
    developer = REGISTRY[1][1]
    return [
        DemoPerson("company_head", "ДЕМОВ", "АЛЕКСЕЙ", "ПЕТРОВИЧ", make_iin_bin("80010130012"),
                   ("organization", "head"), DEMO_COMPANY_BIN, company,
                   note=gettext_noop("Head of the demo authorised company: registration, login, signing.")),
        DemoPerson("company_signer", "САТПАЕВА", "АЙГЕРИМ", "КАНАТОВНА", make_iin_bin("85020540023"),
                   ("organization", "employee", "may_sign"), DEMO_COMPANY_BIN, company,
                   note=gettext_noop("Employee of the demo authorised company with the right to sign.")),
        DemoPerson("company_employee", "ИВАНОВ", "ИВАН", "ИВАНОВИЧ", make_iin_bin("90030330034"),
                   ("organization", "employee"), DEMO_COMPANY_BIN, company,
                   note=gettext_noop("Employee of the demo authorised company WITHOUT the right to sign (refused).")),
        DemoPerson("developer_head", "ЖУМАБЕКОВ", "ЕРЛАН", "СЕРИКОВИЧ", make_iin_bin("78040430045"),
                   ("organization", "head"), DEMO_DEVELOPER_BIN, developer,
                   note=gettext_noop("Head of the demo developer: signs as the developer party.")),
        DemoPerson("individual", "ПЕТРОВА", "МАРИЯ", "ОЛЕГОВНА", make_iin_bin("95050640056"),
                   ("individual",), note=gettext_noop("A plain individual (refused where a legal entity is required).")),
        DemoPerson("expired", "СТАРОВ", "ПАВЕЛ", "ИГОРЕВИЧ", make_iin_bin("70060730067"),
                   ("organization", "head"), DEMO_COMPANY_BIN, company, purposes=("SIGN",), state="expired",
                   note=gettext_noop("Expired certificate of the demo company (refused).")),
        DemoPerson("revoked", "ОТОЗВАНОВ", "РУСЛАН", "АСКАРОВИЧ", make_iin_bin("75070830078"),
                   ("organization", "head"), DEMO_COMPANY_BIN, company, purposes=("SIGN",), state="revoked",
                   note=gettext_noop("Revoked certificate (listed in the CRL) of the demo company (refused).")),
        DemoPerson("untrusted", "ЧУЖОВ", "ДАНИЯР", "БОЛАТОВИЧ", make_iin_bin("82080930089"),
                   ("organization", "head"), DEMO_COMPANY_BIN, company, purposes=("SIGN",), issuer="untrusted",
                   note=gettext_noop("Issued by an untrusted CA (refused).")),
        DemoPerson("kzhk", "ТЕСТОВ", "НУРЛАН", "МАРАТОВИЧ", make_iin_bin("76091030090"),
                   ("organization", "head"), KZHK_BIN, KZHK_NAME, purposes=("SIGN",),
                   note=gettext_noop("KZhK's organization key: signs (PAdES) the PDFs KZhK issues.")),
    ]


def pki_dir() -> Path:
    return _dir(settings.PKI_DIR)


def nca_url(path: str) -> str:
    """A URL of the NCA services (the stand-in `nca_services`, or the real NCA) baked into certificates."""
    return f"{settings.NCA_SERVICES_URL.rstrip('/')}/{path.lstrip('/')}"


def crl_url(name: str) -> str:
    return nca_url(f"crl/{name}.crl")


def ocsp_url() -> str:
    return nca_url("ocsp")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _ca_cert(*, name: str, key, issuer_name: x509.Name | None, issuer_key, not_before, not_after,
             path_len: int | None, issuer_cert=None, crl_name: str = "") -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name), x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False)
    if crl_name:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url(crl_name))], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _user_cert(*, person: DemoPerson, purpose: str, key, ca_cert, ca_key, crl_name: str, now,
               validity: tuple[dt.datetime, dt.datetime] | None = None) -> x509.Certificate:
    attrs = [
        x509.NameAttribute(NameOID.COMMON_NAME, f"{person.surname} {person.name}"),
        x509.NameAttribute(NameOID.SURNAME, person.surname),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{person.iin}"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ]
    if person.bin:
        attrs += [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, person.organization),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{person.bin}"),
        ]
    attrs.append(x509.NameAttribute(NameOID.GIVEN_NAME, person.patronymic))  # NCA puts the patronymic in GN
    if validity is not None:
        not_before, not_after = validity
    elif person.state == "expired":
        not_before, not_after = now - dt.timedelta(days=800), now - dt.timedelta(days=435)
    else:
        not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=365)
    eku = [ExtendedKeyUsageOID.CLIENT_AUTH if purpose == "AUTH" else ExtendedKeyUsageOID.EMAIL_PROTECTION]
    eku += [x509.ObjectIdentifier(OID_BY_ROLE[r]) for r in person.roles]
    if purpose == "AUTH":
        ku = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False)
    else:
        ku = x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attrs))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(ku, critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku), critical=False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
            x509.ObjectIdentifier(OID_POLICY_NCA_RSA), None)]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url(crl_name))], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
        .add_extension(_aia(), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _aia() -> x509.AuthorityInformationAccess:
    return x509.AuthorityInformationAccess([x509.AccessDescription(
        x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url()))])


def _service_cert(*, name: str, key, ca_cert, ca_key, eku, not_before, not_after, crl_name: str,
                  ocsp_nocheck: bool = False) -> x509.Certificate:
    """The TSA's or the OCSP responder's certificate: one critical extended key usage, no roles."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                                 x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([eku]), critical=True)  # RFC 3161 2.3: critical for a TSA
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url(crl_name))], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    )
    if ocsp_nocheck:  # RFC 6960 4.2.2.2.1: nobody asks the responder about its own certificate
        builder = builder.add_extension(x509.OCSPNoCheck(), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _build_crl(*, ca_cert, ca_key, revoked_serials: list[tuple], now) -> x509.CertificateRevocationList:
    """revoked_serials: (serial, revocation time[, reason name of x509.ReasonFlags])."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=5))
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
    )
    for serial, when, *reason in revoked_serials:
        flag = x509.ReasonFlags[reason[0]] if reason and reason[0] else x509.ReasonFlags.key_compromise
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
            .add_extension(x509.CRLReason(flag), critical=False).build())
    return builder.sign(ca_key, hashes.SHA256())


# --- what each CA issued (the OCSP responder answers from this; "unknown" for anything else) ------

INDEX_FILE = "index.json"
CA_NAMES = ("nca_rsa", "root")


def read_index(base: Path | None = None) -> dict:
    path = (base or pki_dir()) / INDEX_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {name: {} for name in CA_NAMES}


def _index_add(index: dict, ca: str, cert: x509.Certificate, *, revoked_at: dt.datetime | None = None,
               reason: str = "key_compromise") -> None:
    entry = {"status": "good", "subject": cert.subject.rfc4514_string()}
    if revoked_at is not None:
        entry.update(status="revoked", revoked_at=revoked_at.isoformat(), reason=reason)
    index.setdefault(ca, {})[format(cert.serial_number, "x")] = entry


def _revoked_from_index(index: dict, ca: str) -> list[tuple]:
    return [(int(serial, 16), dt.datetime.fromisoformat(e["revoked_at"]), e.get("reason") or "key_compromise")
            for serial, e in index.get(ca, {}).items() if e.get("status") == "revoked"]


def _write_crl(base: Path, ca: str, index: dict, now: dt.datetime) -> None:
    ca_cert, ca_key = _load_cert(base / f"{ca}.pem"), _load_key(base / f"{ca}.key")
    _write(base / "crl" / f"{ca}.crl", _build_crl(ca_cert=ca_cert, ca_key=ca_key,
                                                  revoked_serials=_revoked_from_index(index, ca), now=now)
           .public_bytes(serialization.Encoding.DER))


def revoke(certificate: x509.Certificate, *, at: dt.datetime, reason: str = "key_compromise",
           ca: str = "nca_rsa", crl: bool = True) -> None:
    """Marks a test certificate revoked from `at`: the OCSP responder says so at once; the CRL
    file too unless crl=False (a CRL lagging behind OCSP, as published CRLs do)."""
    base = pki_dir()
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            index = read_index(base)
            _index_add(index, ca, certificate, revoked_at=at, reason=reason)
            _write(base / INDEX_FILE, json.dumps(index, indent=1).encode())
            if crl:
                _write_crl(base, ca, index, _now())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def issue_test_key(*, slug: str = "company_head", purpose: str = "SIGN", register: bool = True,
                   not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
                   person: DemoPerson | None = None) -> bytes:
    """A fresh PKCS#12 (password DEMO_PASSWORD) for one of the demo people, or for `person` (someone
    who is not one of them: bench/load.py's companies, each with its own BIN and head's IIN), issued
    by the test intermediate. register=False leaves it out of the index: the OCSP responder answers
    "unknown"."""
    base = pki_dir()
    if person is None:
        person = next(p for p in demo_people() if p.slug == slug)
    slug = person.slug
    ca_cert, ca_key = _load_cert(base / "nca_rsa.pem"), _load_key(base / "nca_rsa.key")
    root = _load_cert(base / "root.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _user_cert(person=person, purpose=purpose, key=key, ca_cert=ca_cert, ca_key=ca_key, crl_name="nca_rsa",
                      now=_now(), validity=(not_before, not_after) if not_before and not_after else None)
    if register:
        with open(base / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                index = read_index(base)
                _index_add(index, "nca_rsa", cert)
                _write(base / INDEX_FILE, json.dumps(index, indent=1).encode())
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    return pkcs12.serialize_key_and_certificates(
        name=slug.encode(), key=key, cert=cert, cas=[ca_cert, root],
        encryption_algorithm=serialization.BestAvailableEncryption(DEMO_PASSWORD.encode()))


def _load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _load_key(path: Path):
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _is_complete(base: Path) -> bool:
    manifest = base / "demo-keys.json"
    if not manifest.exists():
        return False
    try:
        data = json.loads(manifest.read_text())
    except ValueError:
        return False
    if data.get("version") != PKI_VERSION:
        return False
    needed = ["root.pem", "nca_rsa.pem", "nca_rsa.key", "crl/nca_rsa.crl", "crl/root.crl", "tsa.pem", "tsa.key",
              "ocsp.pem", "ocsp.key", INDEX_FILE]
    needed += [k["file"] for k in data.get("keys", [])]
    return all((base / n).exists() for n in needed)


def _refresh_crls(base: Path, now: dt.datetime) -> None:
    """Re-issue a CRL that is close to its nextUpdate (entries from the index)."""
    index = None
    for name in CA_NAMES:
        path = base / "crl" / f"{name}.crl"
        crl = x509.load_der_x509_crl(path.read_bytes())
        if crl.next_update_utc - now > dt.timedelta(days=1):
            continue
        index = index or read_index(base)
        _write_crl(base, name, index, now)


def ensure_pki(*, force: bool = False, stdout=None) -> Path:
    """Creates the test PKI under settings.PKI_DIR unless a complete one is there; returns the dir."""
    base = pki_dir()
    base.mkdir(parents=True, exist_ok=True)
    now = _now()
    if not force and _is_complete(base):
        _refresh_crls(base, now)
        return base
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not force and _is_complete(base):
                return base
            _generate(base, now, stdout=stdout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return base


def _generate(base: Path, now: dt.datetime, *, stdout=None) -> None:
    if stdout:
        stdout.write(f"  Generating the test PKI in {base} ...")
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    # A root for 30 years, like NCA's: long-term validation ends at the trust anchor.
    root = _ca_cert(name=ROOT_NAME, key=root_key, issuer_name=None, issuer_key=root_key,
                    not_before=now - dt.timedelta(days=2000), not_after=now + dt.timedelta(days=30 * 365), path_len=1)
    nca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    nca = _ca_cert(name=NCA_NAME, key=nca_key, issuer_name=root.subject, issuer_key=root_key,
                   not_before=now - dt.timedelta(days=1500), not_after=now + dt.timedelta(days=2500), path_len=0,
                   issuer_cert=root, crl_name="root")
    untrusted_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    untrusted = _ca_cert(name=UNTRUSTED_NAME, key=untrusted_key, issuer_name=None, issuer_key=untrusted_key,
                         not_before=now - dt.timedelta(days=30), not_after=now + dt.timedelta(days=3650), path_len=0)
    pem = serialization.Encoding.PEM
    for name, cert, key in (("root", root, root_key), ("nca_rsa", nca, nca_key), ("untrusted_root", untrusted, untrusted_key)):
        _write(base / f"{name}.pem", cert.public_bytes(pem))
        _write(base / f"{name}.key", _key_pem(key))
        os.chmod(base / f"{name}.key", 0o600)
    index: dict = {name: {} for name in CA_NAMES}
    _index_add(index, "root", nca)
    # The TSA signs for 12 years (so a B-LTA document still validates 11 years on before any
    # archive re-time-stamp); the OCSP responder's certificate is short-lived, like NCA's.
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _service_cert(name=TSA_NAME, key=tsa_key, ca_cert=root, ca_key=root_key,
                        eku=ExtendedKeyUsageOID.TIME_STAMPING, not_before=now - dt.timedelta(days=1),
                        not_after=now + dt.timedelta(days=12 * 365), crl_name="root")
    ocsp_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ocsp = _service_cert(name=OCSP_NAME, key=ocsp_key, ca_cert=nca, ca_key=nca_key, eku=ExtendedKeyUsageOID.OCSP_SIGNING,
                         not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=730),
                         crl_name="nca_rsa", ocsp_nocheck=True)
    _index_add(index, "root", tsa)
    _index_add(index, "nca_rsa", ocsp)
    for name, cert, key in (("tsa", tsa, tsa_key), ("ocsp", ocsp, ocsp_key)):
        _write(base / f"{name}.pem", cert.public_bytes(pem) + (nca.public_bytes(pem) if name == "ocsp" else b""))
        _write(base / f"{name}.key", _key_pem(key))
        os.chmod(base / f"{name}.key", 0o600)
    shutil.rmtree(base / "keys", ignore_errors=True)  # key files of an older PKI would not chain any more
    _write(base / "trust" / "roots" / "root.pem", root.public_bytes(pem))
    _write(base / "trust" / "intermediates" / "nca_rsa.pem", nca.public_bytes(pem))

    keys = []
    for person in demo_people():
        for purpose in person.purposes:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if person.issuer == "untrusted":
                cert = _user_cert(person=person, purpose=purpose, key=key, ca_cert=untrusted, ca_key=untrusted_key,
                                  crl_name="untrusted", now=now)
                cas = [untrusted]
            else:
                cert = _user_cert(person=person, purpose=purpose, key=key, ca_cert=nca, ca_key=nca_key,
                                  crl_name="nca_rsa", now=now)
                cas = [nca, root]
            if person.issuer != "untrusted":
                _index_add(index, "nca_rsa", cert,
                           revoked_at=now - dt.timedelta(hours=1) if person.state == "revoked" else None)
            # NCA names key files AUTH_RSA256_<hash>.p12 (login) and RSA256_<hash>.p12 (signing)
            prefix = "AUTH_RSA256" if purpose == "AUTH" else "RSA256"
            filename = f"keys/{person.slug}/{prefix}_{format(cert.serial_number, 'x')[:20]}.p12"
            p12 = pkcs12.serialize_key_and_certificates(
                name=f"{person.surname} {person.name}".encode(), key=key, cert=cert, cas=cas,
                encryption_algorithm=serialization.BestAvailableEncryption(DEMO_PASSWORD.encode()),
            )
            _write(base / filename, p12)
            keys.append({
                "slug": f"{person.slug}_{purpose.lower()}",
                "file": filename,
                "password": DEMO_PASSWORD,
                "purpose": purpose,
                "role": ", ".join(person.roles),
                "person": f"{person.surname} {person.name} {person.patronymic}",
                "iin": person.iin,
                "bin": person.bin,
                "organization": person.organization,
                "state": person.state,
                "issuer": UNTRUSTED_NAME if person.issuer == "untrusted" else NCA_NAME,
                "serial": format(cert.serial_number, "x"),
                "what_for": person.note,
            })
    keys.append(_legacy_copy(base, keys, "company_head_sign"))
    _write(base / INDEX_FILE, json.dumps(index, indent=1).encode())
    for name in CA_NAMES:
        _write_crl(base, name, index, now)
    manifest = {
        "version": PKI_VERSION,
        "generated_at": now.isoformat(),
        "root": ROOT_NAME,
        "intermediate": NCA_NAME,
        "crl": [crl_url("nca_rsa"), crl_url("root")],
        "keys": keys,
    }
    _write(base / "demo-keys.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode())


LEGACY_SUFFIX = "_legacy"


def _legacy_copy(base: Path, keys: list[dict], slug: str) -> dict:
    """The same key and certificate in the PKCS#12 encryption older Java key stores wrote:
    pbeWithSHAAnd3-KeyTripleDES-CBC for the key, pbeWithSHAAnd40BitRC2-CBC for the certificates,
    SHA-1 MAC (openssl -legacy; without OpenSSL's legacy provider the certificates get 3DES too).
    WebCrypto cannot open it: the page's key-file signer (node-forge) must."""
    entry = next(k for k in keys if k["slug"] == slug)
    filename = entry["file"].replace(".p12", "_legacy.p12")
    data = pkcs12_rewrap((base / entry["file"]).read_bytes(), password=DEMO_PASSWORD, new_password=DEMO_PASSWORD,
                         legacy=True, name=entry["person"])
    _write(base / filename, data)
    return {**entry, "slug": slug + LEGACY_SUFFIX, "file": filename,
            "what_for": gettext_noop("The same key in the old PKCS#12 format (3DES + RC2-40, as old Java key stores "
                                     "wrote): the page must open such files too.")}


def pkcs12_rewrap(data: bytes, *, password: str, new_password: str, legacy: bool = False,
                  name: str | None = None) -> bytes:
    """The same key and certificates in a new PKCS#12 under `new_password` (any Unicode: tests use
    Cyrillic/Kazakh ones). legacy=False: PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC, the password as
    UTF-8 bytes) with an HMAC-SHA256 MAC; legacy=True: pbeWithSHAAnd3-KeyTripleDES-CBC (key) +
    pbeWithSHAAnd40BitRC2-CBC (certificates) + SHA-1 MAC (`openssl pkcs12 -legacy`; without OpenSSL's
    legacy provider the certificates get 3DES too), where the PKCS#12 KDF takes the password as a
    BMPString (UTF-16BE + two zero bytes; OpenSSL >= 1.1 converts the UTF-8 it is given)."""
    import subprocess
    import tempfile

    loaded = pkcs12.load_pkcs12(data, password.encode("utf-8"))
    key, cert = loaded.key, loaded.cert.certificate
    cas = [c.certificate for c in loaded.additional_certs]
    label = name or (loaded.cert.friendly_name or b"key").decode("utf-8", "replace")
    if not legacy:
        return pkcs12.serialize_key_and_certificates(
            name=label.encode("utf-8"), key=key, cert=cert, cas=cas,
            encryption_algorithm=serialization.BestAvailableEncryption(new_password.encode("utf-8")))
    pem = serialization.Encoding.PEM
    with tempfile.TemporaryDirectory() as tmp:  # public test material only (demo and test keys)
        tmpdir = Path(tmp)
        (tmpdir / "key.pem").write_bytes(_key_pem(key))
        (tmpdir / "cert.pem").write_bytes(cert.public_bytes(pem))
        (tmpdir / "ca.pem").write_bytes(b"".join(c.public_bytes(pem) for c in cas))
        (tmpdir / "pass").write_bytes(new_password.encode("utf-8") + b"\n")
        try:
            openssl = shutil.which("openssl") or "openssl"
            subprocess.run(  # noqa: S603 - fixed arguments
                [openssl, "pkcs12", "-export", "-legacy", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-RC2-40",
                 "-macalg", "sha1", "-inkey", str(tmpdir / "key.pem"), "-in", str(tmpdir / "cert.pem"),
                 "-certfile", str(tmpdir / "ca.pem"), "-name", label, "-passout", f"file:{tmpdir / 'pass'}",
                 "-out", str(tmpdir / "legacy.p12")], check=True, capture_output=True, timeout=30)
            return (tmpdir / "legacy.p12").read_bytes()
        except (OSError, subprocess.SubprocessError):
            pass
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
                  .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC).hmac_hash(hashes.SHA1())  # noqa: S303 - the legacy format
                  .build(new_password.encode("utf-8")))
    return pkcs12.serialize_key_and_certificates(name=label.encode("utf-8"), key=key, cert=cert, cas=cas,
                                                 encryption_algorithm=encryption)


def demo_manifest() -> dict:
    return json.loads((ensure_pki() / "demo-keys.json").read_text())


def demo_key(slug: str) -> tuple[bytes, str]:
    """(p12 bytes, password) of a demo key by slug, e.g. "company_head_sign"."""
    for k in demo_manifest()["keys"]:
        if k["slug"] == slug:
            return (pki_dir() / k["file"]).read_bytes(), k["password"]
    raise KeyError(slug)


def demo_key_path(slug: str) -> Path:
    for k in demo_manifest()["keys"]:
        if k["slug"] == slug:
            return pki_dir() / k["file"]
    raise KeyError(slug)


# --- Trust configuration (swap in the real NCA chain by pointing these at other files) -----------

_CACHE: dict = {}


def _files(directory: Path, patterns: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """The files of `directory` matching `patterns` (in pattern order, sorted by name within each),
    each with its mtime and size. One scandir and one stat per file: every verification looks here
    (a new CRL or root counts at once), and pathlib's glob was a fifth of a CMS verification."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                rank = next((i for i, pattern in enumerate(patterns) if fnmatch.fnmatchcase(entry.name, pattern)), None)
                if rank is None:
                    continue
                try:
                    if entry.is_file():
                        info = entry.stat()
                        found.append((rank, entry.name, info.st_mtime_ns, info.st_size))
                except OSError:  # gone since the listing: as if it was never there
                    continue
    except OSError:  # no directory (yet), or unreadable: no trust material from it
        return []
    found.sort()
    return [(name, mtime, size) for _rank, name, mtime, size in found]


def _cached(kind: str, directory: Path, files: list[tuple[str, int, int]], load):
    """Parsed trust material of `directory`, re-read only when a file changes (name, size, mtime)."""
    key = tuple(files)
    cached = _CACHE.get((kind, directory))
    if cached is not None and cached[0] == key:
        return cached[1]
    value = load([directory / name for name, _mtime, _size in files])
    _CACHE[(kind, directory)] = (key, value)
    return value


def _load_certs(files: list[Path]) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for p in files:
        data = p.read_bytes()
        if b"-----BEGIN" in data:
            certs += x509.load_pem_x509_certificates(data)
        else:
            certs.append(x509.load_der_x509_certificate(data))
    return certs


def _pem_certs(directory: Path) -> list[x509.Certificate]:
    return _cached("certs", directory, _files(directory, ("*.pem", "*.crt", "*.cer")), _load_certs)


@functools.lru_cache(maxsize=64)
def _dir(base: str | Path, *names: str) -> Path:
    """Path(base, *names), built once per value: every verification resolves these directories."""
    return Path(base, *names)


def trust_dir() -> Path:
    configured = getattr(settings, "SIGNING_TRUST_DIR", None)
    return _dir(configured) if configured else _dir(settings.PKI_DIR, "trust")


def crl_dir() -> Path:
    configured = getattr(settings, "SIGNING_CRL_DIR", None)
    return _dir(configured) if configured else _dir(settings.PKI_DIR, "crl")


def trusted_roots() -> list[x509.Certificate]:
    return _pem_certs(_dir(trust_dir(), "roots"))


def known_intermediates() -> list[x509.Certificate]:
    return _pem_certs(_dir(trust_dir(), "intermediates"))


def _load_crls(files: list[Path]) -> list[x509.CertificateRevocationList]:
    out = []
    for p in files:
        data = p.read_bytes()
        out.append(x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
    return out


_LAST_REFRESH = [0.0]


def crls() -> list[x509.CertificateRevocationList]:
    """The CRLs in SIGNING_CRL_DIR. The test PKI's own CRLs are re-issued (at most hourly checks)
    a day before their nextUpdate; a CRL past nextUpdate counts as no CRL (revocation unknown)."""
    d = crl_dir()
    if time.monotonic() - _LAST_REFRESH[0] > 3600 and d == pki_dir() / "crl" and (pki_dir() / "nca_rsa.key").exists():
        _LAST_REFRESH[0] = time.monotonic()
        with contextlib.suppress(OSError, ValueError):  # a read-only or half-written dir: keep the old CRLs
            _refresh_crls(pki_dir(), _now())
    return _cached("crls", d, _files(d, ("*.crl",)), _load_crls)


def kzhk_key() -> tuple[bytes, str]:
    """KZhK's organization signing key (PKCS#12 bytes, password). Configurable for production."""
    path = getattr(settings, "SIGNING_KZHK_P12", "")
    if path:
        return Path(path).read_bytes(), settings.SIGNING_KZHK_P12_PASSWORD
    return demo_key("kzhk_sign")
