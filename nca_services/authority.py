"""The keys and records of the test NCA, read from the PKI directory and re-read when a file
changes (a test revokes a certificate: the next OCSP answer and CRL say so)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

CA_NAMES = ("nca_rsa", "root")
CRL_VALIDITY = dt.timedelta(days=7)
CRL_RENEW_BEFORE = dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Material:
    ca_certs: dict[str, x509.Certificate]
    tsa_cert: x509.Certificate
    tsa_key: object
    ocsp_cert: x509.Certificate
    ocsp_key: object
    index: dict


class Authority:
    def __init__(self, pki_dir: Path):
        self.base = Path(pki_dir)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._material: Material | None = None

    def _files(self) -> list[Path]:
        return [self.base / n for n in ("root.pem", "nca_rsa.pem", "tsa.pem", "tsa.key", "ocsp.pem", "ocsp.key",
                                        "index.json")]

    def material(self) -> Material:
        stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in self._files())
        with self._lock:
            if stamp != self._stamp or self._material is None:
                self._material = self._load()
                self._stamp = stamp
            return self._material

    def _load(self) -> Material:
        def cert(name):
            return x509.load_pem_x509_certificates((self.base / name).read_bytes())[0]

        def key(name):
            return serialization.load_pem_private_key((self.base / name).read_bytes(), password=None)

        return Material(
            ca_certs={name: cert(f"{name}.pem") for name in CA_NAMES},
            tsa_cert=cert("tsa.pem"), tsa_key=key("tsa.key"),
            ocsp_cert=cert("ocsp.pem"), ocsp_key=key("ocsp.key"),
            index=json.loads((self.base / "index.json").read_text()),
        )

    # --- TSA material in asn1crypto form (pyHanko's timestamp types) ---------------------------

    def tsa_asn1(self) -> tuple[ax509.Certificate, akeys.PrivateKeyInfo, list[ax509.Certificate]]:
        m = self.material()
        der = serialization.Encoding.DER
        key = m.tsa_key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        chain = [ax509.Certificate.load(m.ca_certs["root"].public_bytes(der))]
        return ax509.Certificate.load(m.tsa_cert.public_bytes(der)), akeys.PrivateKeyInfo.load(key), chain

    # --- CRLs ---------------------------------------------------------------------------------

    def crl_path(self, name: str) -> Path:
        return self.base / "crl" / f"{name}.crl"

    def refresh_crls(self, *, now: dt.datetime | None = None) -> list[str]:
        """Re-issues a CRL a day before its nextUpdate or when the index is newer than it."""
        now = now or _now()
        renewed = []
        index_mtime = (self.base / "index.json").stat().st_mtime
        for name in CA_NAMES:
            path = self.crl_path(name)
            try:
                crl = x509.load_der_x509_crl(path.read_bytes())
                fresh = crl.next_update_utc - now > CRL_RENEW_BEFORE and path.stat().st_mtime >= index_mtime
            except (OSError, ValueError):
                fresh = False
            if not fresh:
                self._write_crl(name, now)
                renewed.append(name)
        return renewed

    def _write_crl(self, name: str, now: dt.datetime) -> None:
        m = self.material()
        ca_cert = m.ca_certs[name]
        ca_key = serialization.load_pem_private_key((self.base / f"{name}.key").read_bytes(), password=None)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        )
        for serial, entry in m.index.get(name, {}).items():
            if entry.get("status") != "revoked":
                continue
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
                .revocation_date(dt.datetime.fromisoformat(entry["revoked_at"]))
                .add_extension(x509.CRLReason(x509.ReasonFlags[entry.get("reason") or "unspecified"]), critical=False)
                .build())
        data = builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        path = self.crl_path(name)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
