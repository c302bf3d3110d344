"""#10 items 1 and 2: the production profile (DEBUG=False) refuses to start on a missing or
published development secret and on the development mail/SMS backends — as system check errors
with ids (`check --deploy`) and as a startup error of the web process and the Celery worker."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.urls import reverse

GOOD = {
    "DEBUG": "False",
    "SECRET_KEY": "a-long-production-like-secret-key-with-enough-entropy-0123456789abcdef",
    "ALLOWED_HOSTS": "portal.example.kz",
    "BPMS_API_TOKEN": "prod-token-4f1c9a7e2b6d8f30",
    "BPMS_WEBHOOK_SECRET": "prod-webhook-5b2e8c1d9a7f4e3b6c0d1a2b3c4d5e6f",
    "SIGNING_KZHK_P12": "/etc/homeportal/kzhk.p12",
    "SIGNING_KZHK_P12_PASSWORD": "a-real-key-password",
    "EMAIL_URL": "smtp+tls://portal:pw@smtp.example.kz:587",
    "SMS_BACKEND": "gateway.sms.KcellBackend",
}
CHECK_IDS = [f"homeportal.E00{n}" for n in range(1, 8)]


def _env(**overrides):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "HOMEPORTAL_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE", "EMAIL_URL", "SMS_BACKEND",
                        "SECRET_KEY", "STAGING_ALLOW_DEV_BACKENDS") and not k.startswith(("BPMS_", "SIGNING_KZHK"))}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(*args, **overrides):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=_env(**overrides),
                          cwd=settings.BASE_DIR, timeout=120)


def _check_deploy(**overrides):
    return _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **overrides)


def test_check_deploy_is_clean_with_real_secrets_and_backends():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_every_missing_secret_and_dev_backend():
    result = _check_deploy(SECRET_KEY=None, BPMS_API_TOKEN=None, BPMS_WEBHOOK_SECRET=None, SIGNING_KZHK_P12=None,
                           EMAIL_URL=None, SMS_BACKEND=None)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    for check_id in ("homeportal.E001", "homeportal.E002", "homeportal.E003", "homeportal.E004",
                     "homeportal.E006", "homeportal.E007"):
        assert check_id in out, (check_id, out)


@pytest.mark.parametrize(("variable", "value", "check_id"), [
    ("SECRET_KEY", "dev-only-insecure-key-change-me-" + "x" * 32, "homeportal.E001"),
    ("SECRET_KEY", "short", "homeportal.E001"),
    ("BPMS_WEBHOOK_SECRET", "dev-bpms-webhook-secret", "homeportal.E002"),
    ("BPMS_API_TOKEN", "dev-bpms-token", "homeportal.E003"),
    ("SIGNING_KZHK_P12_PASSWORD", "Qwerty12", "homeportal.E005"),
    ("SIGNING_KZHK_P12_PASSWORD", "", "homeportal.E005"),
    ("SMS_BACKEND", "cabinets.messaging.DevOutboxSmsBackend", "homeportal.E007"),
])
def test_each_development_default_is_an_error(variable, value, check_id):
    result = _check_deploy(**{variable: value})
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


def test_staging_opt_out_lets_dev_backends_through_with_warnings_but_never_the_secrets():
    result = _run("manage.py", "check", "--deploy", STAGING_ALLOW_DEV_BACKENDS="True", EMAIL_URL=None,
                  SMS_BACKEND=None, SIGNING_KZHK_P12=None, BPMS_WEBHOOK_SECRET="dev-bpms-webhook-secret")
    out = result.stdout + result.stderr
    assert "homeportal.W004" in out and "homeportal.W006" in out and "homeportal.W007" in out
    assert "homeportal.E002" in out and result.returncode != 0
    ok = _run("manage.py", "check", "--deploy", STAGING_ALLOW_DEV_BACKENDS="True", EMAIL_URL=None, SMS_BACKEND=None)
    assert ok.returncode == 0, ok.stdout + ok.stderr  # warnings only


def test_debug_is_false_when_unset_and_the_dev_outbox_needs_debug():
    code = ("import django; django.setup(); from django.conf import settings as s; "
            "print(s.DEBUG, s.DEV_OUTBOX_ENABLED, s.SESSION_COOKIE_SECURE)")
    result = _run("-c", code, DEBUG=None, DEV_OUTBOX_ENABLED="True", DJANGO_SETTINGS_MODULE="homeportal.settings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "True"]


def test_the_web_process_refuses_to_start_with_a_default_secret():
    result = _run("-c", "import homeportal.wsgi", BPMS_WEBHOOK_SECRET="dev-bpms-webhook-secret")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "homeportal.E002" in result.stderr
    assert _run("-c", "import homeportal.wsgi").returncode == 0


def test_the_celery_worker_refuses_to_start_without_a_secret():
    celery = str(settings.BASE_DIR / ".venv" / "bin" / "celery")
    result = subprocess.run([celery, "-A", "homeportal", "worker", "--pool=solo", "--loglevel=WARNING"],
                            capture_output=True, text=True, env=_env(BPMS_API_TOKEN=None, CELERY_BROKER_URL="memory://"),
                            cwd=settings.BASE_DIR, timeout=120)
    assert result.returncode != 0
    assert "homeportal.E003" in result.stdout + result.stderr


@pytest.mark.django_db
def test_admin_never_shows_one_time_codes_in_clear(admin_client):
    from cabinets.models import OutboundMessage

    message = OutboundMessage.objects.create(
        channel="email", recipient="head@demo-uk.kz", subject="Код",
        body="Ваш одноразовый код для входа: 933268. БИН 160340003066.", html_body="<p>Код: <b>933268</b></p>")
    page = admin_client.get(reverse("admin:cabinets_outboundmessage_change", args=[message.pk])).content.decode()
    assert "933268" not in page
    assert "••••••" in page and "160340003066" in page
