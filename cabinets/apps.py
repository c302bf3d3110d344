from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CabinetsConfig(AppConfig):
    name = "cabinets"
    verbose_name = _("Cabinets")

    def ready(self):
        from signing.completion import register_completion

        register_completion("cabinets:login_challenge_signed", function="cabinets.services.login_challenge_signed")
        register_completion("cabinets:registration_agreement_signed",
                            function="cabinets.services.registration_agreement_signed")
