"""Shapes of the cabinet's forms; the rules are in services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from homeportal.forms import PortalForm

from .validators import normalize_kz_phone, validate_bin, validate_kz_phone

CODE_ATTRS = {"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6", "pattern": "[0-9]*"}


class EmailForm(PortalForm):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class EmailCodeForm(PortalForm):
    email = forms.EmailField(label=_("E-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    code = forms.CharField(label=_("One-time code"), max_length=6, widget=forms.TextInput(attrs=CODE_ATTRS))


class BinPasswordForm(PortalForm):
    bin = forms.CharField(label=_("BIN"), max_length=12, validators=[validate_bin],
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "username"}))
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class NewPasswordForm(PortalForm):
    password1 = forms.CharField(label=_("New password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-password-new": ""}))
    password2 = forms.CharField(label=_("Repeat the password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "data-password-repeat": ""}))


class ResetForm(NewPasswordForm):
    code = forms.CharField(label=_("One-time code"), max_length=6, widget=forms.TextInput(attrs=CODE_ATTRS))
    field_order = ["code", "password1", "password2"]


class PhoneField(forms.CharField):
    def to_python(self, value):
        return normalize_kz_phone(super().to_python(value))


class RegistrationForm(PortalForm):
    bin = forms.CharField(label=_("BIN"), required=False, disabled=True)
    organization_name = forms.CharField(label=_("Organization name"), required=False, disabled=True)
    iin = forms.CharField(label=_("IIN"), required=False, disabled=True)
    surname = forms.CharField(label=_("Surname"), required=False, disabled=True)
    name = forms.CharField(label=_("Name"), required=False, disabled=True)
    patronymic = forms.CharField(label=_("Patronymic"), required=False, disabled=True)
    email = forms.EmailField(label=_("E-mail"), help_text=_("A one-time confirmation code will be sent to this address."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    mobile = PhoneField(label=_("Mobile number"), validators=[validate_kz_phone],
                        help_text=_("A one-time SMS code will be sent to this number. Format: +7 and 10 digits."),
                        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "placeholder": "+7"}))
    captcha = forms.CharField(label=_("I am not a robot: type the characters from the picture"), max_length=10,
                              widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("bin", "organization_name", "iin", "surname", "name", "patronymic"):
            self.fields[name].widget.attrs["readonly"] = "readonly"


class ConfirmForm(PortalForm):
    email_code = forms.CharField(label=_("Single-use code"), max_length=6, required=False,
                                 widget=forms.TextInput(attrs=CODE_ATTRS))
    sms_code = forms.CharField(label=_("SMS code"), max_length=6, required=False, widget=forms.TextInput(attrs=CODE_ATTRS))


class ContactChangeForm(PortalForm):
    kind = forms.ChoiceField(choices=[("email", "email"), ("mobile", "mobile")], widget=forms.HiddenInput)
    new_value = forms.CharField(label=_("New value"), max_length=254)
    password = forms.CharField(label=_("Current password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def clean(self):
        data = super().clean()
        kind, value = data.get("kind"), data.get("new_value")
        if kind and value:
            if kind == "email":
                try:
                    forms.EmailField().clean(value)
                except forms.ValidationError:
                    self.add_error("new_value", _("Enter a valid e-mail address."))
            else:
                value = normalize_kz_phone(value)
                try:
                    validate_kz_phone(value)
                except forms.ValidationError as exc:
                    self.add_error("new_value", exc)
                data["new_value"] = value
        return data


class ContactCodeForm(PortalForm):
    code = forms.CharField(label=_("One-time code"), max_length=6, widget=forms.TextInput(attrs=CODE_ATTRS))
