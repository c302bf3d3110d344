from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CabinetsConfig(AppConfig):
    name = "cabinets"
    verbose_name = _("Cabinets")

    def ready(self):
        from homeportal.page_cache import register_live
        from signing.completion import register_completion

        from .selectors import unread_notification_count

        register_live("unread_notifications",
                      lambda request: unread_notification_count(organization=request.user.organization))

        register_completion("cabinets:login_challenge_signed", function="cabinets.services.login_challenge_signed")
        register_completion("cabinets:registration_agreement_signed",
                            function="cabinets.services.registration_agreement_signed")
