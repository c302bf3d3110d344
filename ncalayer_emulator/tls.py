"""The emulator's TLS server certificate (wss://127.0.0.1:13579/), issued by the test PKI's root
for 127.0.0.1 / localhost / ::1 and kept in `<pki>/ncalayer/` (made once, reused). The real
NCALayer installs its own certificate into the user's trust store; a test browser trusts this one
by its key (Chromium `--ignore-certificate-errors-spki-list=<spki_sha256_b64>`)."""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import hashlib
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NAME = "NCALayer emulator (TEST) 127.0.0.1"
VALIDITY = dt.timedelta(days=825)


def _paths(pki_dir: Path) -> tuple[Path, Path]:
    return pki_dir / "ncalayer" / "server.pem", pki_dir / "ncalayer" / "server.key"


def _usable(cert_path: Path, key_path: Path, root: x509.Certificate) -> bool:
    if not (cert_path.exists() and key_path.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        cert.verify_directly_issued_by(root)
    except Exception:  # noqa: BLE001 - a PKI regenerated since: issue again
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=7)


def ensure_server_cert(pki_dir: Path) -> tuple[Path, Path]:
    """(certificate chain PEM, key PEM) for the WebSocket server; issued by `<pki>/root.pem`."""
    pki_dir = Path(pki_dir)
    cert_path, key_path = _paths(pki_dir)
    root = x509.load_pem_x509_certificate((pki_dir / "root.pem").read_bytes())
    if _usable(cert_path, key_path, root):
        return cert_path, key_path
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    with open(cert_path.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _usable(cert_path, key_path, root):
            return cert_path, key_path
        root_key = serialization.load_pem_private_key((pki_dir / "root.key").read_bytes(), password=None)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME),
                                     x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ")]))
            .issuer_name(root.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()), critical=False)
            .sign(root_key, hashes.SHA256())
        )
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def spki_sha256_b64(cert_path: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's --ignore-certificate-errors-spki-list takes."""
    cert = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())[0]
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()
