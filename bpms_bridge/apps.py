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
