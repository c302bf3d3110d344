import datetime

import pytest
from django.core import mail

from cabinets import services
from cabinets.messaging import LocmemSmsBackend
from cabinets.models import OneTimeCode
from cabinets.otp import OtpError

pytestmark = pytest.mark.django_db

EMAIL = OneTimeCode.Purpose.LOGIN




def _code_from_mail():
    import re

    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_code_is_six_digits_and_only_hash_stored():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="A@Example.kz", now=now)
    code = _code_from_mail()
    assert len(code) == 6 and code.isdigit()
    row = OneTimeCode.objects.get()
    assert code not in row.code_hash and row.recipient == "a@example.kz"
    assert row.expires_at - row.created_at == datetime.timedelta(minutes=5)
    services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=now)


def test_code_is_single_use():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now)
    code = _code_from_mail()
    services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=now)
    with pytest.raises(OtpError) as exc:
        services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=now)
    assert exc.value.code == "no_code"


def test_code_expires_after_five_minutes():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now)
    code = _code_from_mail()
    with pytest.raises(OtpError) as exc:
        services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=now + datetime.timedelta(minutes=5))
    assert exc.value.code == "expired"
    services_ok = now + datetime.timedelta(minutes=4, seconds=59)
    services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=services_ok)


def test_wrong_code_then_sixth_try_needs_new_code():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now)
    code = _code_from_mail()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(OtpError) as exc:
            services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=wrong, now=now)
        assert exc.value.code == "wrong"
    with pytest.raises(OtpError) as exc:  # the sixth try, even with the right code
        services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=code, now=now)
    assert exc.value.code == "too_many_tries"
    assert OneTimeCode.objects.get().attempts == 5


def test_resend_at_most_once_a_minute_and_old_code_stops_working():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now)
    first = _code_from_mail()
    with pytest.raises(OtpError) as exc:
        services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now + datetime.timedelta(seconds=59))
    assert exc.value.code == "resend_too_soon"
    later = now + datetime.timedelta(seconds=61)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=later)
    second = _code_from_mail()
    if first != second:
        with pytest.raises(OtpError):
            services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=first, now=later)
    services.otp_verify(purpose=EMAIL, recipient="a@example.kz", code=second, now=later)


def test_code_of_one_flow_does_not_confirm_another():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=EMAIL, channel="email", recipient="a@example.kz", now=now)
    code = _code_from_mail()
    with pytest.raises(OtpError):
        services.otp_verify(purpose=OneTimeCode.Purpose.RESET, recipient="a@example.kz", code=code, now=now)


def test_sms_code_goes_to_sms_outbox():
    now = datetime.datetime(2026, 1, 1, 10, tzinfo=datetime.UTC)
    services.otp_send(purpose=OneTimeCode.Purpose.REGISTER_SMS, channel="sms", recipient="+77011234567", context="t", now=now)
    import re

    text = LocmemSmsBackend.outbox[-1]["text"]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    assert LocmemSmsBackend.outbox[-1]["to"] == "+77011234567"
    services.otp_verify(purpose=OneTimeCode.Purpose.REGISTER_SMS, recipient="+77011234567", code=code, context="t", now=now)
