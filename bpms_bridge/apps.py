from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BpmsBridgeConfig(AppConfig):
    name = "bpms_bridge"
    verbose_name = _("BPMS Simbase")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from . import workcalendar
        from .models import CalendarCorrection

        def _changed(**kwargs):
            workcalendar.corrections_changed()

        post_save.connect(_changed, sender=CalendarCorrection, dispatch_uid="bpms_calendar_saved")
        post_delete.connect(_changed, sender=CalendarCorrection, dispatch_uid="bpms_calendar_deleted")
        _register_extra_case_kinds()


def _register_extra_case_kinds() -> None:
    """Extra case kinds from settings, for benches and load tests that run their own worker
    process: BPMS_EXTRA_CASE_KINDS="kind=dotted.path.apply_event[,kind2=...]"."""
    from django.conf import settings

    from .registry import register_case_kind

    for item in filter(None, (getattr(settings, "BPMS_EXTRA_CASE_KINDS", "") or "").split(",")):
        kind, _, path = item.partition("=")
        if kind.strip() and path.strip():
            register_case_kind(kind.strip(), apply_event=path.strip())
