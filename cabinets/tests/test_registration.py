"""Registration wizard with the certificate step stubbed (the real key files are exercised in
test_registration_pki.py and the browser journey)."""

import types

import pytest
from django.urls import reverse

from cabinets import captcha, services
from cabinets.models import Organization, RegistrationDraft, User
from cabinets.passwords import unmet_password_rules
from cabinets.tests.helpers import last_email_code, last_sms_code
from tests.factories import OrganizationFactory, UserFactory, valid_kz_number

pytestmark = pytest.mark.django_db
URL = "/register/"


def cert(bin_=None, iin=None):
    return types.SimpleNamespace(
        bin=bin_ or valid_kz_number("1603400", 77), iin=iin or valid_kz_number("8001013", 55), surname="Сериков",
        given_name="Берик", patronymic="Канатович", organization_name="ТОО «Новая Компания»", serial_number="0A1B",
    )


@pytest.fixture
def stub_cert(monkeypatch):
    """Registration step 1 without a real signature: the signed challenge's certificate is `holder["info"]`."""
    holder = {"info": cert()}

    def fake(*, token, language, now=None):
        return services.registration_start(certificate_info=holder["info"], language=language, now=now)

    monkeypatch.setattr(services, "registration_challenge_use", fake)
    monkeypatch.setattr(captcha, "challenge_text", lambda: "ABCDE")
    return holder


def _key(client):
    """Step 1 done: the browser comes back from signing the registration challenge."""
    return client.get(reverse("cabinets:register_challenge_complete"))


def _sign_agreement(draft):
    request = types.SimpleNamespace(subject_id=draft.pk)
    signature = types.SimpleNamespace(pk=4242, signer_iin=draft.iin, signer_bin=draft.bin)
    services.registration_agreement_signed(request, signature)


def _form(client, **over):
    client.get(reverse("cabinets:captcha") + "?new=1")
    data = {"action": "contacts", "email": "head@new.kz", "mobile": "+77011112233", "captcha": "abcde"}
    data.update(over)
    return client.post(URL, data)


def test_full_registration_creates_organization_and_user(client, stub_cert):
    assert _key(client).status_code == 302
    draft = RegistrationDraft.objects.get()
    assert "registration" in client.session and draft.token == client.session["registration"]
    page = client.get(URL).content.decode()
    assert draft.bin in page and "Сериков" in page and 'readonly' in page
    assert "Подпишите лицензионное соглашение" in _form(client).content.decode()
    _sign_agreement(draft)
    assert _form(client).status_code == 302
    page = client.get(URL).content.decode()
    assert "ПОДТВЕРЖДЕНИЕ" in page
    response = client.post(URL, {"action": "confirm", "email_code": last_email_code("head@new.kz"),
                                 "sms_code": last_sms_code("+77011112233")})
    assert response.status_code == 302
    assert "СОЗДАНИЕ ПАРОЛЯ" in client.get(URL).content.decode()
    response = client.post(URL, {"password1": "Strong-Pass1", "password2": "Strong-Pass1"})
    assert response.status_code == 302
    user = User.objects.get(iin=draft.iin)
    assert user.organization.bin == draft.bin and user.organization.name_ru == "ТОО «Новая Компания»"
    assert user.email == "head@new.kz" and user.mobile == "+77011112233" and user.check_password("Strong-Pass1")
    assert client.session["_auth_user_id"] == str(user.pk)
    draft.refresh_from_db()
    assert draft.step == "done" and draft.user == user and draft.agreement_signature_id == 4242


def test_captcha_wrong_answer_refused(client, stub_cert):
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    body = _form(client, captcha="ZZZZZ").content.decode()
    assert "Символы не совпадают" in body
    assert RegistrationDraft.objects.get().step == "form"


def test_captcha_is_single_use(rf):
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/")
    request.session = SessionStore()
    text = captcha.captcha_new(request)
    assert text not in str(request.session[captcha.SESSION_KEY])
    assert captcha.captcha_check(request, text.lower())
    assert not captcha.captcha_check(request, text)
    assert captcha.captcha_png(request).startswith(b"\x89PNG")


def test_mobile_format_checked(client, stub_cert):
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    body = _form(client, mobile="+7701").content.decode()
    assert "+7 и 10 цифр" in body


def test_change_email_goes_back_and_resends(client, stub_cert):
    _key(client)
    draft = RegistrationDraft.objects.get()
    _sign_agreement(draft)
    _form(client)
    client.post(URL, {"action": "back"})
    assert RegistrationDraft.objects.get().step == "form"
    _form(client, email="other@new.kz")
    assert last_email_code("other@new.kz")
    response = client.post(URL, {"action": "confirm", "email_code": last_email_code("head@new.kz"),
                                 "sms_code": last_sms_code("+77011112233")})
    assert "Неверный код" in response.content.decode()  # the old address's code does not confirm the new one
    draft.refresh_from_db()
    assert draft.mobile_confirmed and not draft.email_confirmed


def test_resend_limited_to_once_a_minute(client, stub_cert):
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    _form(client)
    body = client.post(URL, {"action": "resend_sms"}).content.decode()
    assert "не чаще одного раза в минуту" in body


def test_wrong_codes_refused_at_their_fields(client, stub_cert):
    _key(client)
    _sign_agreement(RegistrationDraft.objects.get())
    _form(client)
    email_code = last_email_code()
    body = client.post(URL, {"action": "confirm", "email_code": email_code, "sms_code": "000000"
                             if last_sms_code() != "000000" else "111111"}).content.decode()
    assert "Неверный код" in body
    draft = RegistrationDraft.objects.get()
    assert draft.email_confirmed and not draft.mobile_confirmed and draft.step == "confirm"


@pytest.mark.parametrize("password, rule", [
    ("Sh0rt!a", "length"), ("NoDigits!!", "digit"), ("NoSpecial12", "special"), ("NOLOWER12!", "lower"),
    ("noupper12!", "upper"),
])
def test_each_password_rule(client, stub_cert, password, rule):
    assert [code for code, _label in unmet_password_rules(password)] == [rule]
    _key(client)
    draft = RegistrationDraft.objects.get()
    RegistrationDraft.objects.filter(pk=draft.pk).update(step="password", email_confirmed=True, mobile_confirmed=True,
                                                         agreement_signature_id=1, email="a@b.kz", mobile="+77011112233")
    response = client.post(URL, {"password1": password, "password2": password})
    assert response.status_code == 200 and not User.objects.filter(iin=draft.iin).exists()
    assert 'class="field-error"' in response.content.decode()


def test_passwords_must_match(client, stub_cert):
    _key(client)
    RegistrationDraft.objects.update(step="password", email_confirmed=True, mobile_confirmed=True, agreement_signature_id=1)
    body = client.post(URL, {"password1": "Strong-Pass1", "password2": "Strong-Pass2"}).content.decode()
    assert "Пароли должны совпадать" in body


def test_existing_bin_joins_the_organization(client, stub_cert):
    organization = OrganizationFactory()
    UserFactory(organization=organization)
    stub_cert["info"] = cert(bin_=organization.bin)
    _key(client)
    draft = RegistrationDraft.objects.get()
    RegistrationDraft.objects.filter(pk=draft.pk).update(step="password", email_confirmed=True, mobile_confirmed=True,
                                                         agreement_signature_id=1, email="a@b.kz", mobile="+77011112233")
    client.post(URL, {"password1": "Strong-Pass1", "password2": "Strong-Pass1"})
    assert organization.users.count() == 2 and Organization.objects.filter(bin=organization.bin).count() == 1


def test_same_iin_and_bin_twice_refused(client, stub_cert):
    user = UserFactory()
    stub_cert["info"] = cert(bin_=user.organization.bin, iin=user.iin)
    body = client.get(_key(client)["Location"]).content.decode()
    assert "уже зарегистрирован" in body and not RegistrationDraft.objects.exists()


def test_agreement_signed_by_another_person_is_ignored(client, stub_cert):
    _key(client)
    draft = RegistrationDraft.objects.get()
    services.registration_agreement_signed(types.SimpleNamespace(subject_id=draft.pk),
                                           types.SimpleNamespace(pk=1, signer_iin="990101300011", signer_bin=draft.bin))
    draft.refresh_from_db()
    assert draft.agreement_signature_id is None


def test_stale_draft_starts_over(client, stub_cert):
    import datetime

    _key(client)
    RegistrationDraft.objects.update(created_at=RegistrationDraft.objects.get().created_at - datetime.timedelta(hours=3))
    assert 'name="action" value="key"' in client.get(URL).content.decode()
