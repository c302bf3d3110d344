"""Form conventions shared by every app: accessible attributes, no browser-only validation."""

from django import forms


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
            if self.is_bound and name in self.errors:
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"{self[name].auto_id}_error"


class PortalForm(PortalFormMixin, forms.Form):
    pass


class PortalModelForm(PortalFormMixin, forms.ModelForm):
    pass
