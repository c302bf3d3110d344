"""The cabinet's password rules, exactly as the registration checklist of seed 003 lists them."""

import re

from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

SPECIAL_CHARACTERS = '!"@%&?*[]_+-'

PASSWORD_RULES = [
    ("length", _("At least 8 characters"), lambda p: len(p) >= 8),
    ("digit", _("At least one digit"), lambda p: bool(re.search(r"\d", p))),
    ("special", format_lazy("{} {}", _("At least one special character"), SPECIAL_CHARACTERS), lambda p: any(c in SPECIAL_CHARACTERS for c in p)),
    ("lower", _("At least one lowercase letter"), lambda p: any(c.islower() for c in p)),
    ("upper", _("At least one uppercase letter"), lambda p: any(c.isupper() for c in p)),
]


def unmet_password_rules(password: str) -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label, test in PASSWORD_RULES if not test(password or "")]


class PortalPasswordValidator:
    def validate(self, password, user=None):
        unmet = unmet_password_rules(password)
        if unmet:
            raise ValidationError([ValidationError(label, code=f"password_{code}") for code, label in unmet])

    def get_help_text(self):
        return "; ".join(str(label) for _code, label, _test in PASSWORD_RULES)
