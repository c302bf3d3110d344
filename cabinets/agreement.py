"""The licence agreement of the personal cabinet, signed with the registrant's ЭЦП."""

from django.template.loader import render_to_string


def agreement_text(*, draft) -> str:
    """The exact text that is signed (shown on the registration form, too)."""
    return render_to_string("cabinets/agreement.txt", {"draft": draft}).strip() + "\n"
