"""Registration and the «ЭЦП/QR» login with the real test PKI (signing's demo key files)."""

import pytest
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


def _challenge(client, url, **data):
    """Starts an ЭЦП challenge as the page does (htmx) and returns its signing request."""
    from signing.models import SigningRequest

    response = client.post(url, data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content[:300]
    return SigningRequest.objects.latest("pk")


def _sign_challenge(client, url, slug, **data):
    """The challenge signed in the "browser" (signing.tests.helpers), then the return URL followed."""
    from signing.tests.helpers import post_signature

    sr = _challenge(client, url, **data)
    answer = post_signature(client, sr, slug)
    if not answer.json().get("ok"):
        return answer
    return client.get(answer.json()["redirect"])


def test_registration_key_step_fills_the_form_from_the_certificate(client, manifest):
    response = _sign_challenge(client, "/register/", "company_head_auth", action="key")
    assert response.status_code == 302 and response["Location"] == "/register/"
    draft = RegistrationDraft.objects.get()
    person = manifest["company_head_auth"]
    assert (draft.bin, draft.iin) == (person["bin"], person["iin"])
    assert draft.surname == "ДЕМОВ" and draft.patronymic == "ПЕТРОВИЧ"
    page = client.get("/register/").content.decode()
    assert person["iin"] in page and "ДЕМОВ" in page


def test_the_challenge_says_purpose_origin_time_and_nonce(client):
    sr = _challenge(client, "/register/", action="key")
    challenge = LoginChallenge.objects.get()
    text = bytes(sr.document).decode()
    assert challenge.purpose == "register" and sr.purpose == "auth" and sr.session_sha256
    assert "purpose: register" in text and "origin: http://testserver" in text and "time: " in text
    assert f"nonce: {challenge.nonce}" in text and len(challenge.nonce) == 64
    assert (sr.expires_at - sr.created_at).total_seconds() <= 301


@pytest.mark.parametrize("slug, code, message", [
    ("individual_auth", "individual", "сертификат физического лица"),
    ("expired_sign", "expired", "истёк"),
    ("revoked_sign", "revoked", "отозван"),
    ("untrusted_sign", "untrusted", "доверенным"),
    ("company_head_sign", "sign_key_for_auth", "AUTH_RSA256"),
])
def test_registration_refuses_unfit_certificates(client, slug, code, message):
    response = _sign_challenge(client, "/register/", slug, action="key")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code and message.lower() in body["message"].lower()
    assert not RegistrationDraft.objects.exists()


def test_no_cabinet_page_shows_a_key_file_field(client):
    for url in ("/register/", "/login/?tab=eds", "/password-reset/"):
        html = client.get(url).content.decode()
        assert 'type="file"' not in html and "key_password" not in html and "multipart" not in html, url


def test_agreement_signed_through_signing_modal(client, demo_key):
    from signing.models import Signature, SigningRequest
    from signing.tests.helpers import signing_request_sign_with_key

    _sign_challenge(client, "/register/", "company_head_auth", action="key")
    response = client.post("/register/", {"action": "sign_agreement", "email": "head@demo.kz", "mobile": "87011112233"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    sr = SigningRequest.objects.latest("pk")
    assert sr.required_bin == RegistrationDraft.objects.get().bin and "ЛИЦЕНЗИОННОЕ" in bytes(sr.document).decode()
    sign_data, sign_password = demo_key("company_head_sign")
    signing_request_sign_with_key(signing_request=sr, p12=sign_data, password=sign_password)
    draft = RegistrationDraft.objects.get()
    assert draft.agreement_signature_id == Signature.objects.latest("pk").pk
    assert (draft.email, draft.mobile) == ("head@demo.kz", "+77011112233")
    assert "agreement-signed" in client.get("/register/").content.decode()


def test_registration_joins_existing_organization_only_by_its_own_certificate(client, demo_key, manifest):
    from signing.services import SigningError
    from signing.tests.helpers import signing_request_sign_with_key

    organization = OrganizationFactory(bin=manifest["company_signer_auth"]["bin"])
    UserFactory(organization=organization, iin=manifest["company_head_auth"]["iin"])
    _sign_challenge(client, "/register/", "company_signer_auth", action="key")
    client.post("/register/", {"action": "sign_agreement"}, HTTP_HX_REQUEST="true")
    from signing.models import SigningRequest

    other_data, other_password = demo_key("developer_head_sign")
    with pytest.raises(SigningError):  # another organization's key cannot sign this agreement
        signing_request_sign_with_key(signing_request=SigningRequest.objects.latest("pk"), p12=other_data,
                                      password=other_password)


def test_same_person_cannot_register_twice(client, manifest):
    person = manifest["company_head_auth"]
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    response = _sign_challenge(client, "/register/", "company_head_auth", action="key")
    assert response.status_code == 302
    assert "уже зарегистрирован" in client.get(response["Location"]).content.decode()
    assert not RegistrationDraft.objects.exists()


def test_eds_login_with_auth_key(client, manifest):
    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    response = _sign_challenge(client, "/login/", "company_head_auth", tab="eds", action="ecp", next="/faq/")
    assert response.status_code == 302 and response["Location"] == "/faq/"
    assert client.session["_auth_user_id"] == str(user.pk)


def test_eds_login_refusals(client, manifest):
    person = manifest["company_head_auth"]
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    assert "AUTH_RSA256" in _sign_challenge(client, "/login/", "company_head_sign", tab="eds", action="ecp").json()["message"]
    response = _sign_challenge(client, "/login/", "company_signer_auth", tab="eds", action="ecp")
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    assert "не зарегистрирован" in client.get(response["Location"]).content.decode()
    body = _sign_challenge(client, "/login/", "individual_auth", tab="eds", action="ecp").json()
    assert "физического лица" in body["message"]
    assert "_auth_user_id" not in client.session


def test_login_challenge_replay_and_cross_session_are_refused(client, manifest):
    from django.test import Client

    from signing.tests.helpers import post_signature

    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    # another browser cannot sign this browser's challenge, nor use its completion
    sr = _challenge(client, "/login/", tab="eds", action="ecp")
    intruder = Client()
    intruder.get("/login/")
    assert post_signature(intruder, sr, "company_head_auth").status_code == 404
    answer = post_signature(client, sr, "company_head_auth").json()
    assert answer["ok"]
    again = client.post(reverse("signing:to_sign", args=[sr.public_id]))  # signed once: nothing more to sign
    assert again.status_code == 400 and again.json()["code"] == "already_signed"
    intruder_session = intruder.session
    intruder_session["login_challenge"] = LoginChallenge.objects.get().token  # even with the token itself
    intruder_session.save()
    assert client.get(answer["redirect"]).status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
    intruder.get(answer["redirect"])
    assert "_auth_user_id" not in intruder.session
    client.logout()
    # replay: the completed challenge is used up, its CMS fits no other challenge
    session = client.session
    session["login_challenge"] = LoginChallenge.objects.get().token
    session.save()
    client.get(answer["redirect"])
    assert "_auth_user_id" not in client.session
    assert client.post(reverse("signing:to_sign", args=[sr.public_id])).status_code == 404  # that session is gone
    from signing.models import Signature

    old_cms = bytes(Signature.objects.get().cms)
    fresh = _challenge(client, "/login/", tab="eds", action="ecp")
    import base64

    body = client.post(reverse("signing:ecp", args=[fresh.public_id]), {"cms": base64.b64encode(old_cms).decode()}).json()
    assert body["ok"] is False and body["code"] == "document_changed"
    # a login challenge does not reset a password
    sr = _challenge(client, "/login/", tab="eds", action="ecp")
    assert post_signature(client, sr, "company_head_auth").json()["ok"]
    session = client.session
    session["reset_challenge"] = session.pop("login_challenge")
    session.save()
    client.get(reverse("cabinets:password_reset_challenge_complete"))
    assert "reset_by_eds" not in client.session


def test_expired_challenge_is_refused(client, manifest):
    import datetime as dt

    from django.utils import timezone

    from signing.models import SigningRequest
    from signing.tests.helpers import post_signature

    person = manifest["company_head_auth"]
    UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    sr = _challenge(client, "/login/", tab="eds", action="ecp")
    SigningRequest.objects.filter(pk=sr.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert post_signature(client, sr, "company_head_auth").json()["code"] == "request_expired"


def test_qr_login_through_signing_request(client, demo_key, manifest):
    from signing.models import SigningRequest
    from signing.tests.helpers import signing_request_sign_with_key

    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    response = client.post("/login/", {"tab": "eds", "action": "qr"}, HTTP_HX_REQUEST="true")
    # «Войти через eGov QR» opens the QR window itself, not the method choice again (#14)
    assert response.status_code == 200 and 'id="qr-status"' in response.content.decode()
    sr = SigningRequest.objects.get()
    assert sr.purpose == "auth" and f"nonce: {LoginChallenge.objects.get().nonce}" in bytes(sr.document).decode()
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


def test_forgot_password_by_eds(client, manifest):
    person = manifest["company_head_auth"]
    user = UserFactory(organization=OrganizationFactory(bin=person["bin"]), iin=person["iin"])
    body = _sign_challenge(client, "/password-reset/", "individual_auth", action="eds").json()
    assert "физического лица" in body["message"]
    response = _sign_challenge(client, "/password-reset/", "company_head_auth", action="eds")
    assert response.status_code == 302 and client.session["reset_by_eds"]["user"] == user.pk
    assert "Пароли должны совпадать" in client.post("/password-reset/", {
        "password1": "Eds-reset1", "password2": "Eds-reset2"}).content.decode()
    client.post("/password-reset/", {"password1": "Eds-reset1", "password2": "Eds-reset1"})
    user.refresh_from_db()
    assert user.check_password("Eds-reset1") and "reset_by_eds" not in client.session
