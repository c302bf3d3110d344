from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BpmsBridgeConfig(AppConfig):
    name = "bpms_bridge"
    verbose_name = _("BPMS Simbase")
