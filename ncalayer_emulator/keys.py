"""The demo key files the emulator offers (the test PKI's `demo-keys.json`), their certificates,
NCALayer's key filters, and the CMS it makes (CAdES-BES like NCALayer's: content-type,
signing-time, message-digest, signing-certificate-v2; sha256WithRSA; the signer's certificate
and its CA certificates, the root left out)."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import cms as acms
from asn1crypto import core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

OID_AUTH = "1.3.6.1.5.5.7.3.2"  # clientAuth: NCA's AUTH_RSA256_*.p12
OID_SIGN = "1.3.6.1.5.5.7.3.4"  # emailProtection: NCA's RSA256_*.p12 (signing)
# What the JDK's PKCS12 KeyStore throws on a wrong password; NCALayer passes a failed key store on
# in its error answers (docs/signing.md, NCALayer).
WRONG_PASSWORD_TEXT = "java.io.IOException: keystore password was incorrect"  # noqa: S105 - a message


class WrongPassword(Exception):
    pass


@dataclass
class DemoKey:
    slug: str
    path: Path
    password: str  # the published demo password: used only to read the certificate for the list
    purpose: str  # AUTH | SIGN
    person: str
    iin: str
    bin: str
    organization: str
    role: str
    state: str
    certificate: x509.Certificate | None = None

    @property
    def eku_oids(self) -> set[str]:
        try:
            eku = self.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return set()
        return {o.dotted_string for o in eku}

    @property
    def key_type(self) -> str:
        """commonUtils' keyType of this key: AUTHENTICATION or SIGNATURE."""
        return "AUTHENTICATION" if OID_AUTH in self.eku_oids else "SIGNATURE"

    def refusal(self, signer_params: dict | None = None, key_type: str | None = None) -> str:
        """Why NCALayer would not let this key be chosen for the request ("" = it can be)."""
        params = signer_params or {}
        if key_type in ("SIGNATURE", "AUTHENTICATION") and key_type != self.key_type:
            return f"keyType {key_type}"
        wanted = [str(o) for o in (params.get("extKeyUsageOids") or [])]
        missing = [o for o in wanted if o not in self.eku_oids]
        if missing:
            return "extKeyUsageOids " + ", ".join(missing)
        if params.get("iin") and str(params["iin"]) != self.iin:
            return f"IIN {params['iin']}"
        if params.get("bin") and str(params["bin"]) != self.bin:
            return f"BIN {params['bin']}"
        serial = str(params.get("serialNumber") or "").lower().lstrip("0")
        if serial and serial != format(self.certificate.serial_number, "x"):
            return f"serialNumber {params['serialNumber']}"
        return ""

    def info(self) -> dict:
        """commonUtils.getKeyInfo's responseObject for this key."""
        cert = self.certificate
        aki = ""
        with contextlib.suppress(x509.ExtensionNotFound):
            aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier.hex()
        cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        icn = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return {
            "alias": format(cert.serial_number, "x"), "keyId": format(cert.serial_number, "x"), "algorithm": "RSA",
            "subjectCn": cn[0].value if cn else "", "subjectDn": cert.subject.rfc4514_string(),
            "issuerCn": icn[0].value if icn else "", "issuerDn": cert.issuer.rfc4514_string(),
            "serialNumber": format(cert.serial_number, "x"),
            "certNotBefore": str(int(cert.not_valid_before_utc.timestamp() * 1000)),
            "certNotAfter": str(int(cert.not_valid_after_utc.timestamp() * 1000)),
            "authorityKeyIdentifier": aki,
            "pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        }


class KeyStore:
    """The demo keys of one PKI directory; opened keys are kept (the password was checked once)."""

    def __init__(self, pki_dir: Path):
        self.pki_dir = Path(pki_dir)
        self._opened: dict[tuple[str, str], tuple] = {}
        self._lock = threading.Lock()
        self.keys: list[DemoKey] = []
        manifest = json.loads((self.pki_dir / "demo-keys.json").read_text())
        # the certificates, read once from the key files (opening 14 PKCS#12 files costs seconds)
        cache_path = self.pki_dir / "ncalayer" / "certificates.json"
        try:
            cache = json.loads(cache_path.read_text())
            if cache.get("generated_at") != manifest.get("generated_at"):
                cache = {}
        except (OSError, ValueError):
            cache = {}
        certs = cache.get("certs", {})
        for k in manifest["keys"]:
            key = DemoKey(slug=k["slug"], path=self.pki_dir / k["file"], password=k["password"],
                          purpose=k["purpose"], person=k["person"], iin=k["iin"], bin=k.get("bin") or "",
                          organization=k.get("organization") or "", role=k.get("role") or "",
                          state=k.get("state") or "valid")
            if not key.path.exists():
                continue
            if k["slug"] not in certs:
                loaded = pkcs12.load_pkcs12(key.path.read_bytes(), key.password.encode())
                certs[k["slug"]] = loaded.cert.certificate.public_bytes(serialization.Encoding.PEM).decode()
            key.certificate = x509.load_pem_x509_certificate(certs[k["slug"]].encode())
            self.keys.append(key)
        with contextlib.suppress(OSError):
            cache_path.parent.mkdir(parents=True, exist_ok=True)
            cache_path.write_text(json.dumps({"generated_at": manifest.get("generated_at"), "certs": certs}))

    def get(self, slug: str) -> DemoKey:
        for k in self.keys:
            if k.slug == slug:
                return k
        raise KeyError(slug)

    def open(self, slug: str, password: str):
        """(private key, certificate, CA certificates) or WrongPassword."""
        cache_key = (slug, hashlib.sha256(password.encode()).hexdigest())
        with self._lock:
            if cache_key in self._opened:
                return self._opened[cache_key]
        key = self.get(slug)
        try:
            loaded = pkcs12.load_pkcs12(key.path.read_bytes(), (password or "").encode())
        except ValueError as exc:
            raise WrongPassword(WRONG_PASSWORD_TEXT) from exc
        if not isinstance(loaded.key, rsa.RSAPrivateKey):
            raise ValueError("only RSA keys")
        opened = (loaded.key, loaded.cert.certificate, [c.certificate for c in loaded.additional_certs])
        with self._lock:
            self._opened[cache_key] = opened
        return opened


def _attr(type_: str, value) -> acms.CMSAttribute:
    return acms.CMSAttribute({"type": type_, "values": [value]})


def make_cms(*, private_key, certificate: x509.Certificate, chain: list[x509.Certificate], data: bytes | None = None,
             digest: bytes | None = None, encapsulate: bool = False, now: dt.datetime | None = None) -> bytes:
    """DER CMS SignedData over `data` (attached when `encapsulate`), or over a SHA-256 `digest`."""
    if digest is None:
        digest = hashlib.sha256(data or b"").digest()
    if len(digest) != 32:
        raise ValueError("digested data must be a SHA-256 hash (32 bytes) for an RSA key")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    cert_der = certificate.public_bytes(serialization.Encoding.DER)
    cert_a = ax509.Certificate.load(cert_der)
    ess = tsp.SigningCertificateV2({"certs": [tsp.ESSCertIDv2({
        "hash_algorithm": {"algorithm": "sha256"},
        "cert_hash": hashlib.sha256(cert_der).digest(),
        "issuer_serial": {"issuer": [ax509.GeneralName({"directory_name": cert_a.issuer})],
                          "serial_number": cert_a.serial_number},
    })]})
    signing_certificate_v2 = _signing_certificate_v2(ess)
    attrs = [
        _attr("content_type", "data"),
        _attr("signing_time", acms.Time({"utc_time": now})),
        _attr("message_digest", digest),
        signing_certificate_v2,
    ]
    attrs.sort(key=lambda a: a.dump())  # DER: a SET OF is sorted by encoding
    signed_attrs = acms.CMSAttributes(attrs)
    signature = private_key.sign(signed_attrs.dump(), padding.PKCS1v15(), hashes.SHA256())
    signer_info = acms.SignerInfo({
        "version": "v1",
        "sid": acms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": cert_a.issuer, "serial_number": cert_a.serial_number}}),
        "digest_algorithm": {"algorithm": "sha256"},
        "signed_attrs": signed_attrs,
        "signature_algorithm": {"algorithm": "sha256_rsa"},
        "signature": signature,
    })
    certs = [cert_a] + [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                        for c in chain if c.subject != c.issuer]
    signed_data = acms.SignedData({
        "version": "v1",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "data", "content": data if encapsulate else None},
        "certificates": certs,
        "signer_infos": [signer_info],
    })
    return acms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def _signing_certificate_v2(ess) -> acms.CMSAttribute:
    """id-aa-signingCertificateV2 (RFC 5035). Plain asn1crypto has no mapping for it (an opaque
    value then); pyHanko, when loaded in the same process, registers one (the typed value then)."""
    oid = "1.2.840.113549.1.9.16.2.47"
    if oid in acms.CMSAttributeType._map:  # noqa: SLF001
        return acms.CMSAttribute({"type": acms.CMSAttributeType._map[oid], "values": [ess]})  # noqa: SLF001
    return acms.CMSAttribute({"type": oid, "values": [core.Any.load(ess.dump())]})


def pem_cms(der: bytes) -> str:
    """NCALayer's basics.sign CMS result: PEM armour "-----BEGIN CMS-----" around base64 lines."""
    b64 = base64.b64encode(der).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN CMS-----\n" + "\n".join(lines) + "\n-----END CMS-----\n"
