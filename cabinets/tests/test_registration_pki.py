"""Registration and the «ЭЦП/QR» login with the real test PKI (signing's demo key files)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cabinets.models import LoginChallenge, RegistrationDraft
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_key():
    from signing.pki import demo_key as _demo_key

    return _demo_key


@pytest.fixture
def manifest():
    from signing.pki import demo_manifest

    return {k["slug"]: k for k in demo_manifest()["keys"]}


def _upload(client, url, data: bytes, password: str, **extra):
    return client.post(url, {"key_file": SimpleUploadedFile("key.p12", data, "application/x-pkcs12"),
                             "key_password": password, **extra})


def test_registration_key_step_fills_the_form_from_the_certificate(client, demo_key, manifest):
    data, password = demo_key("company_head_auth")
    response = _upload(client, "/register/", data, password, action="key")
    assert response.status_code == 302
    draft = RegistrationDraft.objects.get()
    person = manifest["company_head_auth"]
    assert (draft.bin, draft.iin) == (person["bin"], person["iin"])
    assert draft.surname == "ДЕМОВ" and draft.patronymic == "ПЕТРОВИЧ"
    page = client.get("/register/").content.decode()
    assert person["iin"] in page and "ДЕМОВ" in page


@pytest.mark.parametrize("slug, message", [
    ("individual_auth", "сертификат физического лица"),
    ("expired_sign", "истёк"),
    ("revoked_sign", "отозван"),
    ("untrusted_sign", "доверенным"),
])
def test_registration_refuses_unfit_certificates(client, demo_key, slug, message):
    data, password = demo_key(slug)
    response = _upload(client, "/register/", data, password, action="key")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'class="field-error"' in body
    assert message.lower() in body.lower(), body[body.find("field-error"):][:300]
    assert not RegistrationDraft.objects.exists()


def test_registration_wrong_key_password(client, demo_key):
    data, _password = demo_key("company_head_auth")
    body = _upload(client, "/register/", data, "not-the-password", action="key").content.decode()
    assert "id_key_password_error" in body and not RegistrationDraft.objects.exists()


def test_registration_garbage_file(client):
    body = _upload(client, "/register/", b"not a key", "x", action="key").content.decode()
    assert "id_key_file_error" in body


def test_agreement_signed_through_signing_modal(client, demo_key):
    from signing.models import Signature, SigningRequest
    from signing.tests.helpers import signing_request_sign_with_key

    data, password = demo_key("company_head_auth")
    _upload(client, "/register/", data, password, action="key")
    response = client.post("/register/", {"action": "sign_agreement", "email": "head@demo.kz", "mobile": "87011112233"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    sr = SigningRequest.objects.get()
    assert sr.required_bin == RegistrationDraft.objects.get().bin and "ЛИЦЕНЗИОННОЕ" in bytes(sr.document).decode()
    sign_data, sign_password = demo_key("company_head_sign")
    signing_request_sign_with_key(signing_request=sr, p12=sign_data, password=sign_password)
    draft = RegistrationDraft.objects.get()
    assert draft.agreement_signature_id == Signature.objects.get().pk
    assert (draft.email, draft.mobile) == ("head@demo.kz", "+77011112233")
    assert "agreement-signed" in client.get("/register/").content.decode()


def test_registration_joins_existing_organization_only_by_its_own_certificate(client, demo_key, manifest):
    from signing.services import SigningError
    from signing.tests.helpers import signing_request_sign_with_key

    organization = OrganizationFactory(bin=manifest["company_signer_auth"]["bin"])
    UserFactory(organization=organization, iin=manifest["company_head_auth"]["iin"])
    data, password = demo_key("company_signer_auth")
    _upload(client, "/register/", data, password, action="key")
    client.post("/register/", {"action": "sign_agreement"}, HTTP_HX_REQUEST="true")
    from signing.models import SigningRequest

    other_data, other_password = demo_key("developer_head_sign")
    with pytest.raises(SigningError):  # another organization's key cannot sign this agreement
        signing_request_sign_with_key(signing_request=SigningRequest.objects.get(), p12=other_data,
                                      password=other_password)


def test_same_person_cannot_register_twice(client, demo_key, manifest):
    person = manifest["company_head_auth"]
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    data, password = demo_key("company_head_auth")
    body = _upload(client, "/register/", data, password, action="key").content.decode()
    assert "уже зарегистрирован" in body


def test_eds_login_with_auth_key(client, demo_key, manifest):
    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    data, password = demo_key("company_head_auth")
    response = _upload(client, "/login/", data, password, tab="eds")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_eds_login_refusals(client, demo_key, manifest):
    person = manifest["company_head_auth"]
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    data, _ = demo_key("company_head_auth")
    assert "id_key_password_error" in _upload(client, "/login/", data, "bad", tab="eds").content.decode()
    sign_data, sign_password = demo_key("company_head_sign")
    assert "AUTH_RSA256" in _upload(client, "/login/", sign_data, sign_password, tab="eds").content.decode()
    other, other_password = demo_key("company_signer_auth")
    body = _upload(client, "/login/", other, other_password, tab="eds").content.decode()
    assert "не зарегистрирован" in body and "_auth_user_id" not in client.session
    individual, individual_password = demo_key("individual_auth")
    assert "физического лица" in _upload(client, "/login/", individual, individual_password, tab="eds").content.decode()


def test_qr_login_through_signing_request(client, demo_key, manifest):
    from signing.models import SigningRequest
    from signing.tests.helpers import signing_request_sign_with_key

    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    response = client.post("/login/", {"tab": "eds", "action": "qr"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    sr = SigningRequest.objects.get()
    assert sr.purpose == "auth" and bytes(sr.document).decode() == LoginChallenge.objects.get().nonce
    data, password = demo_key("company_head_auth")
    signing_request_sign_with_key(signing_request=sr, p12=data, password=password)
    response = client.get(reverse("cabinets:login_qr_complete"))
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    client.logout()
    # the challenge is single use
    session = client.session
    session["login_challenge"] = LoginChallenge.objects.get().token
    session.save()
    client.get(reverse("cabinets:login_qr_complete"))
    assert "_auth_user_id" not in client.session


def test_qr_login_without_completed_signature_refused(client):
    client.post("/login/", {"tab": "eds", "action": "qr"}, HTTP_HX_REQUEST="true")
    response = client.get(reverse("cabinets:login_qr_complete"))
    assert response.status_code == 302 and "_auth_user_id" not in client.session


def test_forgot_password_by_eds(client, demo_key, manifest):
    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    individual, individual_password = demo_key("individual_auth")
    body = client.post("/password-reset/", {"action": "eds", "key_file": SimpleUploadedFile("k.p12", individual),
                                            "key_password": individual_password}).content.decode()
    assert "физического лица" in body
    data, password = demo_key("company_head_auth")
    response = client.post("/password-reset/", {"action": "eds", "key_file": SimpleUploadedFile("k.p12", data),
                                                "key_password": password})
    assert response.status_code == 302
    assert "Пароли должны совпадать" in client.post("/password-reset/", {
        "password1": "Eds-reset1", "password2": "Eds-reset2"}).content.decode()
    client.post("/password-reset/", {"password1": "Eds-reset1", "password2": "Eds-reset1"})
    user.refresh_from_db()
    assert user.check_password("Eds-reset1") and "reset_by_eds" not in client.session
