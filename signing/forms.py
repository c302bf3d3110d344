from django import forms
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.utils.translation import gettext_lazy as _

from homeportal.forms import PortalForm


class CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams an upload to a temporary file (bounded memory, whatever the size) and stops reading
    the body once a file passes `cap` bytes; the view then says "too large"."""

    def __init__(self, request=None, *, cap: int):
        super().__init__(request)
        self.cap = cap

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.cap:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=True)  # do not read the rest of the body
        return super().receive_data_chunk(raw_data, start)


class MethodForm(PortalForm):
    method = forms.ChoiceField(label=_("Choose a signing method"), widget=forms.RadioSelect,
                               choices=[("ecp", _("via ЭЦП")), ("qr", _("via QR"))], initial="ecp")


class VerifyForm(PortalForm):
    file = forms.FileField(label=_("Signed file (PDF or CMS)"))
    data = forms.FileField(label=_("Signed document (for a detached CMS)"), required=False)


class SimulatorForm(PortalForm):
    qr_text = forms.CharField(label=_("QR text or API 1 URL"), widget=forms.TextInput(attrs={"autocomplete": "off"}))
    demo_key = forms.ChoiceField(label=_("Demo key"), required=False)

    def __init__(self, *args, demo_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["demo_key"].choices = [("", "—")] + [
            (k["slug"], f"{k['person']} · {k['purpose']} · {k['role']}" + (f" · {k['state']}" if k["state"] != "valid" else ""))
            for k in demo_keys
        ]
        self._errors = None  # PortalFormMixin validated before the choices were known: validate again
