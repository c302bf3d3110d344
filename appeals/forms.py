from django import forms
from django.utils.translation import pgettext, pgettext_lazy

from cabinets.models import Contract
from homeportal.forms import PortalForm

from .models import AppealCategory, AppealKind, AppealStatus


def _refresh(form) -> None:
    """PortalForm validates in __init__ (for aria attributes); after changing fields, forget
    that result and mark the fields again."""
    form._errors = None
    for name, field in form.fields.items():
        attrs = field.widget.attrs
        attrs.pop("aria-invalid", None)
        attrs.pop("aria-describedby", None)
        attrs.pop("aria-required", None)
        if field.required:
            attrs["aria-required"] = "true"
        if form.is_bound and name in form.errors:
            attrs["aria-invalid"] = "true"
            attrs["aria-describedby"] = f"{form[name].auto_id}_error"



class AppealFilterForm(PortalForm):
    status = forms.ChoiceField(
        label=pgettext_lazy("appeals", "Status"), required=False, choices=[("", pgettext_lazy("appeals", "All statuses")), *AppealStatus.choices]
    )
    q = forms.CharField(label=pgettext_lazy("appeals", "Search"), required=False, max_length=200)


class AppealStartForm(PortalForm):
    """Step 2 of «Создать обращение»: the contract and the category."""

    contract = forms.ModelChoiceField(
        label=pgettext_lazy("appeals", "1. Choose the contract under which the appeal to JSC «KZhK» is filed"), queryset=Contract.objects.none(),
        empty_label=pgettext_lazy("appeals", "Choose from the list"),
    )
    category = forms.ModelChoiceField(
        label=pgettext_lazy("appeals", "2. Choose the appeal category"), queryset=AppealCategory.objects.none(), empty_label=pgettext_lazy("appeals", "Choose from the list"),
    )

    def __init__(self, *args, contracts, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts
        self.fields["contract"].label_from_instance = lambda c: pgettext(
            "appeals", "%(number)s of %(date)s — %(project)s") % {
            "number": c.number, "date": f"{c.signed_on:%d.%m.%Y}", "project": c.project_name}
        self.fields["category"].queryset = categories
        self.fields["category"].label_from_instance = lambda c: c.name
        _refresh(self)


def kind_or_default(value: str) -> str:
    return value if value in AppealKind.values else AppealKind.GUARANTEE


class AppealForm(PortalForm):
    """The fields the chosen category asks for. `draft=True` relaxes «required» (a draft may be
    incomplete); signing checks everything again in the service."""

    change_subject = forms.CharField(label=pgettext_lazy("appeals", "What is to be changed"), max_length=1000)
    value_from = forms.CharField(label=pgettext_lazy("appeals", "Current value"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    value_to = forms.CharField(label=pgettext_lazy("appeals", "New value"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)
    justification = forms.CharField(label=pgettext_lazy("appeals", "Justification"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)
    other_text = forms.CharField(label=pgettext_lazy("appeals", "Text of the appeal"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)

    def __init__(self, *args, category, draft=False, **kwargs):
        super().__init__(*args, **kwargs)
        if category.is_other:
            keep = {"other_text"}
        else:
            keep = {"change_subject"}
            if category.asks_values:
                keep |= {"value_from", "value_to"}
            if category.asks_justification:
                keep.add("justification")
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
            elif draft:
                self.fields[name].required = False
        _refresh(self)


class ConsentForm(PortalForm):
    consent = forms.BooleanField(
        label=pgettext_lazy("appeals", "I have read the conditions and terms of review of the appeal and agree with them"),
        error_messages={"required": pgettext_lazy("appeals", "Confirm that you agree with the conditions and terms of review.")},
    )


class UploadForm(PortalForm):
    slot = forms.CharField(max_length=20)
    file = forms.FileField(label=pgettext_lazy("appeals", "File"), error_messages={"required": pgettext_lazy("appeals", "Choose a file.")})
