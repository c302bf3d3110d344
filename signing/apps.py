from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "signing"
    verbose_name = _("Digital signatures")

    def ready(self):
        from django.core import checks

        from .completion import check_completions, register_completion

        checks.register(check_completions)
        register_completion("signing:demo_signed", function="signing.demo.demo_signed")
