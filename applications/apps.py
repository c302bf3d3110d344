from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    name = "applications"
    verbose_name = _("Applications")

    def ready(self):
        from signing.completion import register_completion

        for name, function in (("applications:application_signed", "application_on_signed"),
                               ("applications:consent_signed", "consent_on_signed"),
                               ("applications:decision_document_signed", "decision_document_on_signed"),
                               ("applications:invitation_confirmed", "invitation_on_signed")):
            register_completion(name, function=f"applications.services.{function}")
        from signing.archive import register_archived_file

        register_archived_file("applications.ModerationReview", "conclusion_pdf")
        register_archived_file("applications.DecisionDocument", "file")
        try:
            from bpms_bridge.registry import register_case_kind
        except ImportError:  # the bridge is optional for this app's own tests
            return
        from .definitions import SERVICES

        # One inbound path for every service: the application knows its own service and table.
        for service in SERVICES.values():
            register_case_kind(
                service.bpms_case_kind, apply_events="applications.services.application_apply_bpms_events",
                final_statuses=service.decided_statuses,
                prepare_event="applications.services.application_prepare_bpms_event",
            )
