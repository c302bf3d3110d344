from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = _("Appeals to KZhK")

    def ready(self):
        from bpms_bridge.registry import register_case_kind

        register_case_kind(
            "appeal", apply_events="appeals.services.appeal_apply_bpms_events", final_statuses=("rejected", "ds_signed"),
            prepare_event="appeals.services.appeal_prepare_bpms_event",
        )
        from signing.completion import register_completion

        register_completion("appeals:appeal_signed", function="appeals.services.appeal_signing_completed")
        register_completion("appeals:ds_signed", function="appeals.services.appeal_ds_signing_completed")
        from signing.archive import register_archived_file

        register_archived_file("appeals.Appeal", "ds_signed_file")
