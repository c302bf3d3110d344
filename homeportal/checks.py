"""The production profile refuses to start on a missing or development secret or backend.

With DEBUG=False every `manage.py` command that runs system checks (runserver, migrate, check
--deploy) stops with these errors by id; the web process (wsgi/asgi) and the Celery worker and
beat call `refuse_to_start()` before serving, because gunicorn and Celery run no system checks.
With DEBUG=True (make run) or the test profile (HOMEPORTAL_TESTING=1, which the production
image never sets) nothing here applies. docs/security.md lists them.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Values published in this repository (settings defaults, the mock, compose, the demo PKI).
KNOWN_DEV_SECRETS = {
    "dev-bpms-webhook-secret", "dev-bpms-token", "change-me", "changeme", "secret", "password",
    "Qwerty12", "homeportal",
}
KNOWN_DEV_SECRET_PREFIXES = ("dev-only-insecure-key", "change-me-in-production", "django-insecure")
DEV_EMAIL_BACKENDS = {
    "cabinets.messaging.DevOutboxEmailBackend", "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend", "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}
DEV_SMS_BACKENDS = {"cabinets.messaging.DevOutboxSmsBackend", "cabinets.messaging.LocmemSmsBackend"}
MIN_SECRET_LENGTH = {"SECRET_KEY": 50, "BPMS_WEBHOOK_SECRET": 32, "BPMS_API_TOKEN": 16}


def _weak(value: str, *, min_length: int) -> str:
    """Why a secret is not acceptable in production, or "" if it is."""
    if not value:
        return "not set"
    if value in KNOWN_DEV_SECRETS or value.startswith(KNOWN_DEV_SECRET_PREFIXES):
        return "a development default published in the repository"
    if len(value) < min_length:
        return f"shorter than {min_length} characters"
    return ""


def _secret_key() -> str:
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:
        return ""


def production_problems() -> list[checks.CheckMessage]:
    """Every reason the production profile must not start (errors) or should be looked at (warnings)."""
    if settings.DEBUG or settings.TESTING:  # (pytest-django runs tests with DEBUG forced off)
        return []
    out: list[checks.CheckMessage] = []
    for setting, check_id, value in (
        ("SECRET_KEY", "homeportal.E001", _secret_key()),
        ("BPMS_WEBHOOK_SECRET", "homeportal.E002", settings.BPMS_WEBHOOK_SECRET),
        ("BPMS_API_TOKEN", "homeportal.E003", settings.BPMS_API_TOKEN),
    ):
        reason = _weak(value or "", min_length=MIN_SECRET_LENGTH[setting])
        if reason:
            out.append(checks.Error(f"{setting} is {reason}.", hint=f"Set {setting} in the environment to a random value "
                                    "(e.g. `openssl rand -hex 32`).", id=check_id))
    staging = settings.STAGING_ALLOW_DEV_BACKENDS
    dev_ok = "STAGING_ALLOW_DEV_BACKENDS=True (staging only) accepts it with a warning."
    level = checks.Warning if staging else checks.Error
    if not settings.SIGNING_KZHK_P12:
        out.append(level("SIGNING_KZHK_P12 is not set: KZhK's documents would be signed with the demo key of the test PKI.",
                         hint="Point SIGNING_KZHK_P12 at KZhK's PKCS#12 file. " + dev_ok,
                         id="homeportal.W004" if staging else "homeportal.E004"))
    else:
        reason = _weak(settings.SIGNING_KZHK_P12_PASSWORD or "", min_length=8)
        if reason:
            out.append(checks.Error(f"SIGNING_KZHK_P12_PASSWORD is {reason}.",
                                    hint="Set the password of KZhK's key file.", id="homeportal.E005"))
    if settings.EMAIL_BACKEND in DEV_EMAIL_BACKENDS:
        out.append(level(f"E-mail goes to a development backend ({settings.EMAIL_BACKEND}): one-time codes would be "
                         "stored instead of sent.", hint="Set EMAIL_URL (smtp://… or smtp+tls://…). " + dev_ok,
                         id="homeportal.W006" if staging else "homeportal.E006"))
    if settings.SMS_BACKEND in DEV_SMS_BACKENDS:
        out.append(level(f"SMS go to a development backend ({settings.SMS_BACKEND}).",
                         hint="Set SMS_BACKEND to the dotted path of the gateway's class. " + dev_ok,
                         id="homeportal.W007" if staging else "homeportal.E007"))
    if settings.RATE_LIMIT_STORAGE_URI.startswith("memory"):
        out.append(checks.Warning(
            "Rate-limit counters are kept in each process's memory: every web process counts on its own.",
            hint="Set REDIS_URL (or RATE_LIMIT_STORAGE_URI=redis://…) so that the limits hold across processes.",
            id="homeportal.W008"))
    return out


@checks.register(checks.Tags.security)
def check_production_secrets(app_configs=None, **kwargs):
    return production_problems()


def refuse_to_start(process: str) -> None:
    """Called by wsgi/asgi and the Celery worker/beat: raise on any production error above."""
    errors = [m for m in production_problems() if m.is_serious()]
    if errors:
        lines = "\n".join(f"  {m.id}: {m.msg} {m.hint}" for m in errors)
        raise ImproperlyConfigured(f"homeportal {process} refuses to start in the production profile (DEBUG=False):\n{lines}")
