import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse

from cabinets.tests.helpers import last_email_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/login/"


def _bin_login(client, bin_, password):
    return client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": password})


def test_login_page_has_three_tabs(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    for tab in ("tab=email", "tab=bin", "tab=eds"):
        assert tab in response.content.decode()
    assert client.get(LOGIN + "?tab=bin", HTTP_HX_REQUEST="true").content.decode().strip().startswith('<div id="login-tab" role="tabpanel"')


def test_bin_password_login_cycles_session(client, cabinet_user):
    client.get(LOGIN)
    old_key = client.session.session_key
    response = _bin_login(client, cabinet_user.organization.bin, "Passw0rd!")
    assert response.status_code == 302 and response.url == reverse("cabinets:profile")
    assert client.session["_auth_user_id"] == str(cabinet_user.pk)
    assert client.session.session_key != old_key


def test_login_session_loads_user_and_organization_in_one_query(client, cabinet_user, django_assert_num_queries):
    """A cabinet login records CabinetSessionBackend: the next request reads the user and the
    organization in one query (the header shows the organization's name on every page)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, get_user
    from django.test import RequestFactory

    from cabinets.backends import SESSION_BACKEND

    _bin_login(client, cabinet_user.organization.bin, "Passw0rd!")
    assert client.session[BACKEND_SESSION_KEY] == SESSION_BACKEND
    request = RequestFactory().get("/")
    request.session = client.session
    with django_assert_num_queries(1):
        user = get_user(request)
        assert user.pk == cabinet_user.pk and user.organization.name_ru == cabinet_user.organization.name_ru
    cabinet_user.is_active = False
    cabinet_user.save(update_fields=["is_active"])
    assert not get_user(request).is_authenticated


def test_wrong_password_does_not_reveal_bin(client, cabinet_user):
    known = _bin_login(client, cabinet_user.organization.bin, "Wrong-pass1")
    unknown = _bin_login(client, "960440000220", "Wrong-pass1")
    assert "Неверный пароль" in known.content.decode()
    assert "Неверный пароль" in unknown.content.decode()
    assert "_auth_user_id" not in client.session


def test_bin_check_digit_is_verified(client):
    response = _bin_login(client, "123456789012", "x")
    assert "контрольн" in response.content.decode()


def test_lockout_after_five_failures_per_bin(client, cabinet_user, caplog):
    bin_ = cabinet_user.organization.bin
    for _ in range(4):
        assert "Неверный пароль" in _bin_login(client, bin_, "Wrong-pass1").content.decode()
    fifth = _bin_login(client, bin_, "Wrong-pass1")
    assert "15 минут" in fifth.content.decode()
    right = _bin_login(client, bin_, "Passw0rd!")
    assert "15 минут" in right.content.decode() and "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=bin_).exists()
    assert any("locked out" in r.getMessage() for r in caplog.records)
    # another BIN is not locked
    other = UserFactory()
    assert _bin_login(client, other.organization.bin, "Passw0rd!").status_code == 302


def test_email_code_login(client, cabinet_user):
    response = client.post(LOGIN, {"tab": "email", "action": "send", "email": cabinet_user.email.upper()})
    assert response.status_code == 200 and "Войти" in response.content.decode()
    code = last_email_code(cabinet_user.email)
    response = client.post(LOGIN, {"tab": "email", "action": "login", "email": cabinet_user.email, "code": code})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cabinet_user.pk)


def test_email_code_unknown_email_says_nothing(client):
    response = client.post(LOGIN, {"tab": "email", "action": "send", "email": "nobody@example.kz"})
    assert response.status_code == 200 and mail.outbox == []


def test_email_code_wrong_code(client, cabinet_user):
    client.post(LOGIN, {"tab": "email", "action": "send", "email": cabinet_user.email})
    code = last_email_code()
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(LOGIN, {"tab": "email", "action": "login", "email": cabinet_user.email, "code": wrong})
    assert "Неверный код" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout(cabinet_client):
    response = cabinet_client.post(reverse("cabinets:logout"))
    assert response.status_code == 302
    assert cabinet_client.get(reverse("cabinets:profile")).status_code == 302


def test_safe_next_only(client, cabinet_user):
    response = client.post(LOGIN, {"tab": "bin", "bin": cabinet_user.organization.bin, "password": "Passw0rd!",
                                   "next": "https://evil.example/"})
    assert response.url == reverse("cabinets:profile")


def test_forgot_password_by_email_code_ends_other_sessions(client, cabinet_user):
    other = client.__class__()
    other.force_login(cabinet_user)
    assert other.get(reverse("cabinets:profile")).status_code == 200
    url = reverse("cabinets:password_reset")
    client.post(url, {"action": "send", "email": cabinet_user.email})
    code = last_email_code(cabinet_user.email)
    weak = client.post(url, {"action": "reset", "code": code, "password1": "short", "password2": "short"})
    assert "Не менее 8 символов" in weak.content.decode()
    response = client.post(url, {"action": "reset", "code": code, "password1": "N3w-Secret", "password2": "N3w-Secret"})
    assert response.status_code == 302
    cabinet_user.refresh_from_db()
    assert cabinet_user.check_password("N3w-Secret")
    assert other.get(reverse("cabinets:profile")).status_code == 302  # the other session ended
    assert _bin_login(client, cabinet_user.organization.bin, "N3w-Secret").status_code == 302


def test_forgot_password_reused_code_refused(client, cabinet_user):
    url = reverse("cabinets:password_reset")
    client.post(url, {"action": "send", "email": cabinet_user.email})
    code = last_email_code()
    client.post(url, {"action": "reset", "code": code, "password1": "N3w-Secret", "password2": "N3w-Secret"})
    client.post(url, {"action": "send", "email": cabinet_user.email})
    assert last_email_code() is not None
    response = client.post(url, {"action": "reset", "code": code, "password1": "An0ther-1", "password2": "An0ther-1"})
    if last_email_code() != code:
        assert "Неверный код" in response.content.decode()
    cabinet_user.refresh_from_db()
    assert cabinet_user.check_password("N3w-Secret")


def test_email_login_prefers_the_recently_active_user(client):
    import datetime

    from django.utils import timezone

    first = UserFactory(email="shared@example.kz")
    second = UserFactory(email="shared@example.kz")
    type(first).objects.filter(pk=first.pk).update(last_login=timezone.now() - datetime.timedelta(days=1))
    from cabinets.services import cabinet_user_by_email

    assert cabinet_user_by_email(email="SHARED@example.kz") == first
    assert second.last_login is None
