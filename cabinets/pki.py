"""The cabinet's door to `signing` (the test national PKI): opening a key file and checking
its certificate. Imported lazily so cabinets stays importable on its own."""

import datetime
import secrets

from django.utils.translation import gettext_lazy as _

from .services import CabinetError


def key_certificate(
    *, data: bytes, password: str, at: datetime.datetime, purpose: str | None, sign_nonce: bool = False
):
    """Opens a PKCS#12 key in memory and checks its certificate as a legal entity's one.
    Returns CertificateInfo; raises CabinetError at the key field (wrong password, individual,
    expired, revoked, untrusted, ...). `purpose=None` accepts either key of the person (AUTH or
    signing). With `sign_nonce` the private key signs a fresh nonce
    and the certificate must verify it (proof of possession for the ЭЦП login)."""
    import hashlib

    from homeportal import ratelimits
    from signing.services import SigningError, certificate_check, pkcs12_open
    from signing.trust import certificate_status_now

    key_digest = hashlib.sha256(data).hexdigest()  # wrong passwords count per key file
    try:
        ratelimits.failure_check("eds-key-fail", key_digest)
    except ratelimits.Limited as exc:
        raise CabinetError(exc.message, field="key_password", code="rate_limited") from None
    try:
        opened = pkcs12_open(data=data, password=password)
        info = certificate_check(
            info_or_cert=opened.certificate_info, at=at, purpose=purpose or opened.certificate_info.key_purpose,
            require_legal_entity=True,
            required_bin=None, allowed_roles=None,
        )
        certificate_status_now(opened.certificate, opened.chain)  # live OCSP (CRL fallback)
    except SigningError as exc:
        field = "key_password" if getattr(exc, "code", "") == "wrong_password" else "key_file"
        if field == "key_password":
            ratelimits.failure("eds-key-fail", key_digest)
        raise CabinetError(getattr(exc, "message", str(exc)), field=field, code=getattr(exc, "code", "")) from None
    if sign_nonce:
        _proof_of_possession(opened)
    return info


def _proof_of_possession(opened) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    nonce = secrets.token_bytes(32)
    try:
        signature = opened.private_key.sign(nonce, padding.PKCS1v15(), hashes.SHA256())
        opened.certificate.public_key().verify(signature, nonce, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, TypeError, ValueError, AttributeError):
        raise CabinetError(_("The key does not match its certificate."), field="key_file", code="key_mismatch") from None
