import os
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")

app = Celery("homeportal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_filesystem_broker_folders() -> None:
    """The embedded broker (kombu's filesystem transport) needs its folders to exist."""
    from django.conf import settings

    if not str(getattr(settings, "CELERY_BROKER_URL", "")).startswith("filesystem://"):
        return
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _prepare_broker(sender, **kwargs):
    _ensure_filesystem_broker_folders()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_to_start_in_production_with_dev_secrets(sender=None, **kwargs):
    """Celery runs no Django system checks: the same production checks as the web process. Celery
    logs and swallows a receiver's exception, so the refusal leaves as SystemExit (exit code 1)."""
    from django.core.exceptions import ImproperlyConfigured

    from homeportal.checks import refuse_to_start

    try:
        refuse_to_start("Celery")
    except ImproperlyConfigured as exc:
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc
