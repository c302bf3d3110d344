"""Abuse limits per client IP and per account (issue #10 item 3, homeportal/ratelimits.py).

Each test uses the numbers of settings.RATE_LIMITS as they ship (docs/security.md lists them),
except where a test says it lowers one to stay fast."""

import datetime
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.utils import timezone

from cabinets import services
from cabinets.models import OneTimeCode
from cabinets.otp import OtpError
from cabinets.tests.helpers import last_email_code
from homeportal import ratelimits
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/login/"
RU_LIMIT = re.compile(r"Слишком много попыток, повторите через (\d+) минут")
KK_LIMIT = re.compile(r"Әрекеттер тым көп, (\d+) минуттан кейін қайталаңыз")


def _limit(settings, name: str) -> int:
    raw = settings.RATE_LIMITS[name]
    return int((raw["rate"] if isinstance(raw, dict) else raw).split("/")[0])


def _minutes(body: str) -> int:
    match = RU_LIMIT.search(body)
    assert match, body[:2000]
    return int(match.group(1))


# --- the client's address ----------------------------------------------------------------------

def test_client_ip_is_remote_addr_unless_a_proxy_is_trusted(settings):
    rf = RequestFactory()
    spoofed = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.TRUSTED_PROXY_COUNT = 0
    assert ratelimits.client_ip(spoofed) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1
    behind = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert ratelimits.client_ip(behind) == "203.0.113.7"  # the client's own left entry is ignored
    settings.TRUSTED_PROXY_COUNT = 2
    assert ratelimits.client_ip(behind) == "6.6.6.6"
    assert ratelimits.client_ip(rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="garbage")) == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 0
    v6 = rf.get("/", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
    assert ratelimits.client_ip(v6) == "2001:db8:1:2::/64"


# --- login: password -----------------------------------------------------------------------------

def test_password_spraying_across_bins_from_one_ip_is_limited(client, settings):
    limit = _limit(settings, "login-ip")
    bins = [OrganizationFactory().bin for _ in range(limit)]  # one try per BIN: axes' per-BIN lockout never fires
    for i in range(limit):
        response = client.post(LOGIN, {"tab": "bin", "bin": bins[i], "password": f"Spray-{i}!"})
        assert "Неверный пароль" in response.content.decode(), i
    refused = client.post(LOGIN, {"tab": "bin", "bin": bins[0], "password": "Secret-typed-1!"})
    body = refused.content.decode()
    assert refused.status_code == 429
    assert 1 <= _minutes(body) <= 15
    assert 1 <= int(refused["Retry-After"]) <= 15 * 60
    assert f'value="{bins[0]}"' in body  # what was typed stays ...
    assert "Secret-typed-1!" not in body  # ... except the secret
    # another client address is not affected
    other = client.post(LOGIN, {"tab": "bin", "bin": bins[0], "password": "Wrong-1!"}, REMOTE_ADDR="198.51.100.9")
    assert other.status_code == 200 and "Неверный пароль" in other.content.decode()


def test_the_per_bin_lockout_answers_429_with_retry_after(client, cabinet_user):
    bin_ = cabinet_user.organization.bin
    for _ in range(5):
        last = client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "Wrong-pass1"})
    assert last.status_code == 429 and last["Retry-After"] == "900"
    assert "15 минут" in last.content.decode() and f'value="{bin_}"' in last.content.decode()


def test_a_forged_forwarded_for_does_not_escape_the_ip_limit(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "3/15minutes"}
    bin_ = OrganizationFactory().bin
    for i in range(3):
        client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"}, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    refused = client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"}, HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert refused.status_code == 429 and "Retry-After" in refused


def test_htmx_login_gets_the_message_with_200_and_retry_after(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "1/15minutes"}
    bin_ = OrganizationFactory().bin
    client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"}, HTTP_HX_REQUEST="true")
    refused = client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"}, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and refused["Retry-After"]  # htmx swaps only 2xx
    assert RU_LIMIT.search(refused.content.decode())


def test_kazakh_message(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "1/15minutes"}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "kk"
    bin_ = OrganizationFactory().bin
    client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"})
    body = client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"}).content.decode()
    assert KK_LIMIT.search(body), body[:1500]


# --- login: e-mail one-time code ----------------------------------------------------------------

def test_wrong_codes_lock_email_login_for_an_hour_across_codes(client, cabinet_user):
    """5 wrong tries kill a code; a new code gives 5 more. 10 wrong codes in an hour lock the
    account's e-mail login for an hour: the right code of a new one is refused too."""
    email = cabinet_user.email
    t0 = timezone.now()
    for round_ in range(2):
        services.login_code_send(email=email, language="ru", now=t0 + datetime.timedelta(minutes=2 * round_))
        for i in range(5):
            with pytest.raises(OtpError):
                services.login_code_verify(email=email, code=f"00000{i}")
    with pytest.raises(OtpError) as locked:
        services.login_code_send(email=email, language="ru", now=t0 + datetime.timedelta(minutes=10))
    assert locked.value.code == "rate_limited" and 3500 <= locked.value.retry_after <= 3600
    # a code sent before the lock, used with the right digits, is refused through the page too
    OneTimeCode.objects.all().delete()
    services.otp_send(purpose=OneTimeCode.Purpose.LOGIN, channel="email", recipient=email, limits_checked=True)
    code = last_email_code(email)
    session = client.session
    session["login_email"] = email
    session.save()
    response = client.post(LOGIN, {"tab": "email", "action": "login", "email": email, "code": code})
    body = response.content.decode()
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert 59 <= _minutes(body) <= 60 and 3500 <= int(response["Retry-After"]) <= 3600
    # another account is not locked
    other = UserFactory()
    services.login_code_send(email=other.email, language="ru")
    assert services.login_code_verify(email=other.email, code=last_email_code(other.email)) == other


def test_code_requests_per_recipient_are_limited_registered_or_not(settings, cabinet_user):
    limit = _limit(settings, "otp-send-account")
    t0 = timezone.now()
    for email in (cabinet_user.email, "nobody@example.kz"):
        for i in range(limit):
            services.login_code_send(email=email, language="ru", now=t0 + datetime.timedelta(minutes=2 * i))
        with pytest.raises(OtpError) as refused:
            services.login_code_send(email=email, language="ru", now=t0 + datetime.timedelta(minutes=2 * limit))
        assert refused.value.code == "rate_limited"  # the same answer: nothing told about who is registered


def test_code_requests_per_ip_are_limited(client, settings):
    limit = _limit(settings, "otp-send-ip")
    for i in range(limit):
        response = client.post(LOGIN, {"tab": "email", "action": "send", "email": f"bomb{i}@example.kz"})
        assert response.status_code in (200, 302)
    refused = client.post(LOGIN, {"tab": "email", "action": "send", "email": "typed@example.kz"})
    body = refused.content.decode()
    assert refused.status_code == 429 and _minutes(body) >= 1 and refused["Retry-After"]
    assert 'value="typed@example.kz"' in body


def test_code_checks_count_against_the_login_ip_limit(client, settings, cabinet_user):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "2/15minutes"}
    session = client.session
    session["login_email"] = cabinet_user.email
    session.save()
    for _ in range(2):
        client.post(LOGIN, {"tab": "email", "action": "login", "email": cabinet_user.email, "code": "123456"})
    refused = client.post(LOGIN, {"tab": "email", "action": "login", "email": cabinet_user.email, "code": "123456"})
    assert refused.status_code == 429 and RU_LIMIT.search(refused.content.decode())


# --- login / reset / registration by ЭЦП ----------------------------------------------------------

@pytest.fixture
def demo_key():
    from signing.pki import demo_key as _demo_key

    return _demo_key


def _sign_challenge(client, url, slug, **data):
    """An ЭЦП challenge started and signed in the "browser" (the key never reaches the portal)."""
    from signing.models import SigningRequest
    from signing.tests.helpers import post_signature

    started = client.post(url, data, HTTP_HX_REQUEST="true")
    if "Слишком много" in started.content.decode():
        return started
    answer = post_signature(client, SigningRequest.objects.latest("pk"), slug)
    return client.get(answer.json()["redirect"], follow=True) if answer.json().get("ok") else answer


def test_eds_login_challenges_count_per_ip(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "2/15minutes"}
    for action in ("ecp", "qr"):
        assert client.post(LOGIN, {"tab": "eds", "action": action}).status_code == 200
    for action in ("ecp", "qr"):
        refused = client.post(LOGIN, {"tab": "eds", "action": action})
        assert refused.status_code == 429 and RU_LIMIT.search(refused.content.decode())



@pytest.mark.parametrize(("url", "data", "target"), [
    (LOGIN, {"tab": "eds", "action": "ecp"}, "#login-tab"),
    ("/register/", {"action": "key"}, "#main"),
    ("/password-reset/", {"action": "eds"}, "#main"),
])
def test_a_refused_htmx_ecp_start_is_shown_where_the_page_is(client, settings, url, data, target):
    """The start buttons post by htmx into the empty #modal-root; a refusal must not vanish there."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login-ip": "1/15minutes", "register-ip": "1/hour",
                            "reset-ip": "1/hour"}
    client.post(url, data, HTTP_HX_REQUEST="true")
    refused = client.post(url, data, HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and RU_LIMIT.search(refused.content.decode())
    assert refused["HX-Retarget"] == target and refused["HX-Reswap"] == "outerHTML"
    if target == "#main":
        assert refused["HX-Reselect"] == "#main" and 'id="main"' in refused.content.decode()

def test_registration_challenges_per_ip_and_starts_per_bin(client, settings):
    from cabinets.models import RegistrationDraft

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "register-ip": "2/hour"}
    for _ in range(2):
        assert client.post("/register/", {"action": "key"}).status_code == 200
    refused = client.post("/register/", {"action": "key"})
    assert refused.status_code == 429 and RU_LIMIT.search(refused.content.decode())
    assert not RegistrationDraft.objects.exists()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "register-ip": "100/hour", "register-account": "2/hour"}
    for _ in range(2):
        assert "ДЕМОВ" in _sign_challenge(client, "/register/", "company_head_auth", action="key",
                                          REMOTE_ADDR="198.51.100.1").content.decode()
        client.post("/register/", {"action": "restart"})
    refused = _sign_challenge(client, "/register/", "company_head_auth", action="key", REMOTE_ADDR="198.51.100.2")
    assert RU_LIMIT.search(refused.content.decode()) and RegistrationDraft.objects.count() == 2


# --- password reset -------------------------------------------------------------------------------

def test_password_reset_codes_lock_and_tries_per_ip(client, settings, cabinet_user):
    email = cabinet_user.email
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "reset-ip": "3/hour"}
    assert client.post("/password-reset/", {"action": "send", "email": email}).status_code == 302
    for i in range(3):
        client.post("/password-reset/", {"action": "reset", "code": f"00000{i}", "password1": "Nn0vyi-Parol!",
                                         "password2": "Nn0vyi-Parol!"})
    refused = client.post("/password-reset/", {"action": "reset", "code": last_email_code(email),
                                               "password1": "Nn0vyi-Parol!", "password2": "Nn0vyi-Parol!"})
    body = refused.content.decode()
    assert refused.status_code == 429 and RU_LIMIT.search(body) and "Nn0vyi-Parol!" not in body
    cabinet_user.refresh_from_db()
    assert not cabinet_user.check_password("Nn0vyi-Parol!")
    # the reset code lock spans codes like the login one
    for i in range(7):
        with pytest.raises(OtpError):
            services.password_reset_complete(email=email, code=f"11111{i}", password="Nn0vyi-Parol!",
                                             password2="Nn0vyi-Parol!")
    with pytest.raises(OtpError) as locked:
        services.password_reset_send(email=email, language="ru", now=timezone.now() + datetime.timedelta(minutes=3))
    assert locked.value.code == "rate_limited"


# --- the public verifier ------------------------------------------------------------------------

def test_verifier_page_and_api_per_ip(client, settings):
    limit = _limit(settings, "verify-ip")
    for i in range(limit):
        target = "/signing/verify/" if i % 2 else "/signing/verify/api/"
        response = client.post(target, {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.7 not really")})
        assert response.status_code in (200, 400), (i, response.status_code)
    api = client.post("/signing/verify/api/", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.7")})
    assert api.status_code == 429 and 1 <= int(api["Retry-After"]) <= 600
    assert RU_LIMIT.search(api.json()["error"]) and api.json()["retry_after"] >= 1
    page = client.post("/signing/verify/", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.7")})
    assert page.status_code == 429 and page["Retry-After"] and RU_LIMIT.search(page.content.decode())
    assert client.get("/signing/verify/").status_code == 200  # reading the page is not a try


def test_verifier_per_signed_in_user(cabinet_client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "verify-account": "2/10minutes"}
    for i in range(2):
        cabinet_client.post("/signing/verify/api/", {"file": SimpleUploadedFile("x.pdf", b"%PDF")},
                            REMOTE_ADDR=f"198.51.100.{i}")
    refused = cabinet_client.post("/signing/verify/api/", {"file": SimpleUploadedFile("x.pdf", b"%PDF")},
                                  REMOTE_ADDR="198.51.100.77")
    assert refused.status_code == 429


# --- storage ---------------------------------------------------------------------------------------

def test_redis_outage_lets_tries_through_without_500(client, settings, monkeypatch, caplog):
    from limits import storage, strategies

    dead = strategies.MovingWindowRateLimiter(storage.storage_from_string("redis://127.0.0.1:1/0"))
    monkeypatch.setattr(ratelimits, "_limiter", dead)
    bin_ = OrganizationFactory().bin
    response = client.post(LOGIN, {"tab": "bin", "bin": bin_, "password": "x"})
    assert response.status_code == 200 and "Неверный пароль" in response.content.decode()
    assert any("rate limits unavailable" in r.getMessage() for r in caplog.records)


def test_counters_hold_no_address_in_clear(client, settings):
    if not settings.RATE_LIMIT_STORAGE_URI.startswith("redis"):
        pytest.skip("Redis storage only")
    import redis

    client.post(LOGIN, {"tab": "email", "action": "send", "email": "clear@example.kz"})
    keys = redis.Redis.from_url(settings.RATE_LIMIT_STORAGE_URI).keys("homeportal-rl*")
    assert keys and not any(b"clear@example.kz" in k or b"127.0.0.1" in k for k in keys)


def test_check_deploy_warns_when_counters_would_be_per_process():
    from tests.test_production_profile import _check_deploy

    clean = _check_deploy(REDIS_URL="redis://127.0.0.1:6379/5")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    per_process = _check_deploy(REDIS_URL=None, RATE_LIMIT_STORAGE_URI=None)
    assert "homeportal.W008" in per_process.stdout + per_process.stderr
