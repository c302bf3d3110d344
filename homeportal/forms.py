"""Form conventions shared by every app: accessible attributes, no browser-only validation."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _


class PortalFormMixin:
    """Marks required inputs with aria-required, links errors with aria-describedby, and turns
    off the browser's own validation so the server's message at the field is what users see."""

    use_required_attribute = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            attrs = field.widget.attrs
            if field.required:
                attrs["aria-required"] = "true"
            if isinstance(field.widget, forms.FileInput):
                # includes/field.html adds the picker's «Выберите файл» label; the name stays the field's
                attrs["aria-labelledby"] = f"{self[name].auto_id}_label"
            if self.is_bound and name in self.errors:
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class PortalForm(PortalFormMixin, forms.Form):
    pass


class PortalModelForm(PortalFormMixin, forms.ModelForm):
    pass


# --- Raw request values (views that read request.POST themselves) ------------------------------------

# Django's own message for a NUL byte (ProhibitNullCharactersValidator); named here so our
# catalogues carry its Kazakh text, which Django's lack.
NUL_MESSAGE = _("Null characters are not allowed.")
NUL_REMOVED = _("The invisible NUL character was removed from what you typed; everything else is kept.")
ASCII_ID = re.compile(r"[0-9]{1,18}", re.ASCII)


def strip_nul(value):
    """The value without NUL bytes (PostgreSQL text and JSON refuse them), through dicts and lists;
    what the user typed is otherwise kept as typed."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_nul(v) for v in value]
    return value


def ascii_id(value) -> int | None:
    """A primary key typed in a form: ASCII digits only («²», «٣», «３» are not numbers here)."""
    value = str(value if value is not None else "")
    return int(value) if ASCII_ID.fullmatch(value) else None
