"""The test PKI and every certificate refusal."""

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
from cabinets.validators import iin_bin_checksum_ok
from signing import pki
from signing.certs import SigningError, certificate_check, pkcs12_open

NOW = dt.datetime.now(dt.UTC)
HEAD_OR_SIGNER = {"head", "may_sign"}


def test_manifest_lists_every_demo_key_with_valid_iin_bin():
    manifest = pki.demo_manifest()
    slugs = {k["slug"] for k in manifest["keys"]}
    assert {"company_head_auth", "company_head_sign", "company_signer_sign", "developer_head_sign", "individual_sign",
            "expired_sign", "revoked_sign", "untrusted_sign", "kzhk_sign"} <= slugs
    for k in manifest["keys"]:
        assert (pki.pki_dir() / k["file"]).exists()
        assert iin_bin_checksum_ok(k["iin"])
        assert not k["bin"] or iin_bin_checksum_ok(k["bin"])
        assert k["password"] and k["purpose"] in ("AUTH", "SIGN") and k["what_for"]


def test_ensure_pki_is_idempotent():
    before = (pki.pki_dir() / "root.pem").read_bytes()
    pki.ensure_pki()
    assert (pki.pki_dir() / "root.pem").read_bytes() == before


def test_subject_is_nca_shaped(demo_key):
    key = pkcs12_open(data=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    info = key.certificate_info
    assert info.bin == DEMO_COMPANY_BIN and len(info.iin) == 12
    assert info.full_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"
    assert info.roles == {"organization", "head"} and info.key_purpose == "sign"
    assert info.issuer == pki.NCA_NAME
    eku = key.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {o.dotted_string for o in eku} >= {pki.OID_ORGANIZATION, pki.OID_HEAD}
    assert key.certificate.public_key().key_size == 2048
    auth = pkcs12_open(data=demo_key("company_head_auth")[0], password=pki.DEMO_PASSWORD).certificate_info
    assert auth.key_purpose == "auth" and auth.iin == info.iin


def test_root_is_rsa_4096_and_keys_are_not_served(client):
    root = x509.load_pem_x509_certificate((pki.pki_dir() / "root.pem").read_bytes())
    assert root.public_key().key_size == 4096
    assert client.get("/signing/pki/nca_rsa.crl").status_code == 200
    assert client.get("/signing/pki/root.pem").status_code == 200
    for name in ("root.key", "nca_rsa.key", "demo-keys.json", "..%2Froot.key"):
        assert client.get(f"/signing/pki/{name}").status_code == 404


def test_published_crl_lists_the_revoked_certificate(client, demo_key):
    crl = x509.load_der_x509_crl(client.get("/signing/pki/nca_rsa.crl").content)
    revoked = pkcs12_open(data=demo_key("revoked_sign")[0], password=pki.DEMO_PASSWORD).certificate
    good = pkcs12_open(data=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD).certificate
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial_number) is not None
    assert crl.get_revoked_certificate_by_serial_number(good.serial_number) is None


def test_accepts_the_head_and_the_employee_with_signing_right(demo_key):
    for slug in ("company_head_sign", "company_signer_sign"):
        info = pkcs12_open(data=demo_key(slug)[0], password=pki.DEMO_PASSWORD).certificate_info
        checked = certificate_check(info_or_cert=info, at=NOW, purpose="sign", required_bin=DEMO_COMPANY_BIN,
                                    allowed_roles=HEAD_OR_SIGNER)
        assert checked.bin == DEMO_COMPANY_BIN


@pytest.mark.parametrize(("slug", "code", "kwargs"), [
    ("expired_sign", "expired", {}),
    ("revoked_sign", "revoked", {}),
    ("untrusted_sign", "untrusted", {}),
    ("individual_sign", "individual", {"require_legal_entity": True}),
    ("developer_head_sign", "wrong_organization", {"required_bin": DEMO_COMPANY_BIN}),
    ("company_head_auth", "auth_key_for_signing", {}),
    ("company_employee_sign", "no_signing_right", {"allowed_roles": HEAD_OR_SIGNER}),
])
def test_each_refusal_has_its_own_code_and_message(demo_key, slug, code, kwargs):
    info = pkcs12_open(data=demo_key(slug)[0], password=pki.DEMO_PASSWORD).certificate_info
    with pytest.raises(SigningError) as exc:
        certificate_check(info_or_cert=info, at=NOW, purpose="sign", **kwargs)
    assert exc.value.code == code
    assert str(exc.value.message)


def test_sign_key_is_refused_for_login(demo_key):
    info = pkcs12_open(data=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD).certificate_info
    with pytest.raises(SigningError) as exc:
        certificate_check(info_or_cert=info, at=NOW, purpose="auth")
    assert exc.value.code == "sign_key_for_auth"
    auth = pkcs12_open(data=demo_key("company_head_auth")[0], password=pki.DEMO_PASSWORD).certificate_info
    assert certificate_check(info_or_cert=auth, at=NOW, purpose="auth", required_bin=DEMO_DEVELOPER_BIN.replace(
        DEMO_DEVELOPER_BIN, DEMO_COMPANY_BIN)).iin == auth.iin


def test_revoked_certificate_was_fine_before_revocation(demo_key):
    info = pkcs12_open(data=demo_key("revoked_sign")[0], password=pki.DEMO_PASSWORD).certificate_info
    # revoked an hour before the PKI was generated; a day before that it was good
    earlier = info.not_before + dt.timedelta(hours=2)
    assert certificate_check(info_or_cert=info, at=earlier, purpose="sign").iin == info.iin


def test_wrong_password_garbage_and_non_rsa(demo_key):
    data, _ = demo_key("company_head_sign")
    with pytest.raises(SigningError) as exc:
        pkcs12_open(data=data, password="wrong")
    assert exc.value.code == "wrong_password"
    with pytest.raises(SigningError) as exc:
        pkcs12_open(data=b"not a key file at all", password="x")
    assert exc.value.code == "not_pkcs12"
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_cert = pkcs12_open(data=data, password=pki.DEMO_PASSWORD).certificate
    builder = (x509.CertificateBuilder().subject_name(rsa_cert.subject).issuer_name(rsa_cert.subject)
               .public_key(ec_key.public_key()).serial_number(1)
               .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=1)))
    from cryptography.hazmat.primitives import hashes

    cert = builder.sign(ec_key, hashes.SHA256())
    p12 = pkcs12.serialize_key_and_certificates(name=b"ec", key=ec_key, cert=cert, cas=None,
                                                encryption_algorithm=serialization.BestAvailableEncryption(b"pw"))
    with pytest.raises(SigningError) as exc:
        pkcs12_open(data=p12, password="pw")
    assert exc.value.code == "not_rsa"


def test_messages_are_translated(demo_key):
    from django.utils import translation

    with pytest.raises(SigningError) as exc:
        pkcs12_open(data=demo_key("company_head_sign")[0], password="wrong")
    with translation.override("ru"):
        ru = str(exc.value.message)
    with translation.override("kk"):
        kk = str(exc.value.message)
    assert ru != kk and ru != "Wrong password for the key file."


def test_ocsp_like_status(client, demo_key):
    revoked = pkcs12_open(data=demo_key("revoked_sign")[0], password=pki.DEMO_PASSWORD).certificate
    good = pkcs12_open(data=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD).certificate
    assert client.get(f"/signing/pki/status/{revoked.serial_number:x}/").json()["status"] == "revoked"
    assert client.get(f"/signing/pki/status/{good.serial_number:x}/").json()["status"] == "good"
    assert client.get("/signing/pki/status/zz/").status_code == 404


def test_a_key_for_someone_who_is_not_a_demo_person_carries_their_bin_and_iin(client):
    """bench/load.py's companies: each head gets a key of its own organization (issue_test_key(person=...)),
    registered with the OCSP-like status so the trust step finds it good."""
    from tests.factories import valid_kz_number

    person = pki.DemoPerson("bench_head", "НАГРУЗОВ", "ТЕСТ", "БЕНЧЕВИЧ", valid_kz_number("8501013", 7),
                            ("organization", "head"), valid_kz_number("2004400", 7), "ТОО «Компания 7»")
    info = pkcs12_open(data=pki.issue_test_key(person=person), password=pki.DEMO_PASSWORD).certificate_info
    checked = certificate_check(info_or_cert=info, at=NOW, purpose="sign", required_bin=person.bin,
                                allowed_roles=HEAD_OR_SIGNER)
    assert (checked.iin, checked.bin) == (person.iin, person.bin)
    assert client.get(f"/signing/pki/status/{info.serial_number}/").json()["status"] == "good"
    with pytest.raises(SigningError) as exc:
        certificate_check(info_or_cert=info, at=NOW, purpose="sign", required_bin=DEMO_COMPANY_BIN)
    assert exc.value.code == "wrong_organization"
