from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Guarantee applications")

    def ready(self):
        try:
            from bpms_bridge.registry import register_case_kind
        except ImportError:  # the bridge is optional for this app's own tests
            return
        register_case_kind(
            "application", apply_event="applications.services.application_apply_bpms_event",
            final_statuses=("rejected", "approved"),
            prepare_event="applications.services.application_prepare_bpms_event",
        )
