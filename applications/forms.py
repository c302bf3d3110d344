"""Shapes of the application form's tabs. Values are stored as typed (see models); these forms
decide whether they are valid and give the message at the field."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cabinets.validators import (
    normalize_kz_phone,
    validate_bik,
    validate_bin,
    validate_bin_or_iin,
    validate_iin,
    validate_kbe,
    validate_kz_iban,
    validate_kz_phone,
)
from homeportal.forms import PortalForm

YES_NO = [("yes", _("Yes")), ("no", _("No"))]
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# Numbers are typed into text inputs: `type=number` drops letters before the form is sent
# (the user then read «Обязательное поле»). inputmode brings the phone's digit keyboard.
DIGITS = re.compile(r"[0-9]+", re.ASCII)
NUMBER = re.compile(r"[0-9]+([.,][0-9]+)?", re.ASCII)
SPACES = re.compile(r"[\s\u00a0\u202f]+")  # "10 000 000" as people write it


class DigitsInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "numeric", "pattern": "[0-9]*", **(attrs or {})})


class DecimalInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "pattern": "[0-9 ]+([.,][0-9]+)?", **(attrs or {})})


class TypedNumberMixin:
    """Reads what was typed: spaces dropped, then `pattern` or «digits only» at the field."""

    pattern: re.Pattern

    def to_python(self, value):
        value = SPACES.sub("", str(value if value is not None else ""))
        if value in self.empty_values:
            return None
        if not self.pattern.fullmatch(value):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return self.convert(value)


class WholeNumberField(TypedNumberMixin, forms.IntegerField):
    """A count typed as digits (ASCII only: «１２» or «٣» is refused, never read as 12 or 3)."""

    widget = DigitsInput
    pattern = DIGITS
    default_error_messages = {"invalid": _("Enter digits only.")}

    def convert(self, value: str) -> int:
        return int(value)


class NumberField(TypedNumberMixin, forms.DecimalField):
    """An amount or an area: digits, a comma or a point before the fraction, spaces allowed."""

    widget = DecimalInput
    pattern = NUMBER
    default_error_messages = {"invalid": _("Enter a number: digits only, with a comma before the fraction.")}

    def convert(self, value: str) -> Decimal:
        return Decimal(value.replace(",", "."))  # the pattern admits only valid decimals


def not_in_future(value: datetime.date) -> None:
    if value and value > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."), code="future")


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "tel", "placeholder": "+7XXXXXXXXXX"}))
        super().__init__(validators=[validate_kz_phone], **kwargs)

    def to_python(self, value):
        return normalize_kz_phone(super().to_python(value))


class CompanyInfoForm(PortalForm):
    """«Информация об УК»."""

    name_ru = forms.CharField(label=_("Organization name (in Russian)"), max_length=500)
    name_kk = forms.CharField(label=_("Organization name (in the state language)"), max_length=500)
    bin = forms.CharField(label=_("BIN"), max_length=12, validators=[validate_bin], widget=DigitsInput())
    legal_address = forms.CharField(label=_("Legal address"), max_length=500)
    actual_same = forms.BooleanField(label=_("Matches the legal address"), required=False)
    region = forms.CharField(label=_("Region"), max_length=200, required=False)
    district = forms.CharField(label=_("District"), max_length=200, required=False)
    city = forms.CharField(label=_("City/rural district"), max_length=200, required=False)
    settlement = forms.CharField(label=_("Village/city"), max_length=200, required=False)
    street = forms.CharField(label=_("Street"), max_length=200, required=False)
    house = forms.CharField(label=_("House"), max_length=50, required=False)
    block = forms.CharField(label=_("Block"), max_length=50, required=False)
    apartment = forms.CharField(label=_("Apartment"), max_length=50, required=False)
    phone = PhoneField(label=_("Phone"))
    email = forms.EmailField(label=_("E-mail address"))
    website = forms.CharField(label=_("Website"), max_length=300, required=False)
    iik = forms.CharField(label=_("Bank account number (IIK)"), max_length=34, validators=[validate_kz_iban])
    bik = forms.CharField(label=_("Bank identification code (BIK)"), max_length=8, validators=[validate_bik])
    kbe = forms.CharField(label=_("Beneficiary code (KBe)"), max_length=2, validators=[validate_kbe], widget=DigitsInput())
    bank_name = forms.CharField(label=_("Name of the servicing bank"), max_length=300)

    ACTUAL_ADDRESS = ("region", "district", "city", "settlement", "street", "house")
    ACTUAL_OPTIONAL = ("block", "apartment")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Required unless «Соответствует юридическому адресу»: marked with * and aria-required.
        for name in self.ACTUAL_ADDRESS:
            self.fields[name].widget.attrs["aria-required"] = "true"
            self.fields[name].show_required = True

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("actual_same"):
            for name in self.ACTUAL_ADDRESS:
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return cleaned


class ShareholderForm(PortalForm):
    """One block of «Состав акционеров / учредителей»."""

    name = forms.CharField(label=_("Organization name or full name"), max_length=500)
    bin_iin = forms.CharField(label=_("BIN/IIN"), max_length=12, validators=[validate_bin_or_iin], widget=DigitsInput())
    share = NumberField(
        label=_("Share in the authorised capital"), help_text=_("In percent, from 0 to 100."),
        min_value=Decimal("0"), max_value=Decimal("100"),
        max_digits=6, decimal_places=2,
    )
    registered_on = forms.DateField(
        label=_("Date of initial registration/re-registration"), widget=DATE_WIDGET, validators=[not_in_future]
    )


ROW_KEY = re.compile(r"sh-([0-9]{1,4})-[a-zA-Z_]+", re.ASCII)


class BaseShareholderFormSet(forms.BaseFormSet):
    """«Участники/акционеры», repeatable. «+ Добавить» is the submit button `sh-ADD`, each block's 🗑
    is a submit button of the block's own DELETE field: both work as plain posts and with htmx."""

    ROW_FIELDS = ("name", "bin_iin", "share", "registered_on")
    MAX_ROWS = 200
    DAMAGED = _("The form's block counter arrived damaged: the blocks below are as you typed them — "
                "check them and save again.")

    def clean(self):
        total = Decimal("0")
        for form in self.forms:
            if form.is_valid():
                total += form.cleaned_data.get("share") or 0
        if total > 100:
            raise ValidationError(_("The shares add up to %(total)s %%; the sum cannot exceed 100 %%."), params={"total": total})

    @property
    def add_requested(self) -> bool:
        return bool(self.data.get(f"{self.prefix}-ADD"))

    def counters_damaged(self) -> bool:
        """TOTAL/INITIAL not plain ASCII digits (Python's int() would read «٣» as 3)."""
        raw = [str(self.data.get(f"{self.prefix}-{key}", "")) for key in ("TOTAL_FORMS", "INITIAL_FORMS")]
        return not all(DIGITS.fullmatch(value) for value in raw) or not self.management_form.is_valid()

    def typed_rows(self) -> list[dict]:
        """The blocks exactly as typed, without those whose 🗑 was pressed (never the last one),
        plus an empty block for «+ Добавить». Rows are found by the numbers in their field names, so
        damaged counters lose nothing."""
        present = sorted({int(m.group(1)) for key in self.data if (m := ROW_KEY.fullmatch(key))})
        if not self.counters_damaged():
            present = [i for i in present if i < self.total_form_count()]
        rows, kept = [], []
        for i in present[: self.MAX_ROWS]:
            row = {key: str(self.data.get(f"{self.prefix}-{i}-{key}", ""))[:2000] for key in self.ROW_FIELDS}
            rows.append(row)
            if not self.data.get(f"{self.prefix}-{i}-DELETE"):
                kept.append(row)
        rows = kept if kept else rows
        if self.add_requested and len(rows) < self.MAX_ROWS:
            rows.append(dict.fromkeys(self.ROW_FIELDS, ""))
        return rows or [dict.fromkeys(self.ROW_FIELDS, "")]

    def rows_changed(self) -> bool:
        """«+ Добавить» or a 🗑 was pressed (the page then shows the blocks again, nothing else)."""
        return self.add_requested or any(
            key.endswith("-DELETE") and ROW_KEY.fullmatch(key) for key in self.data if self.data.get(key)
        )

    def mark_damaged(self) -> None:
        self.non_form_errors()  # validates first
        self._non_form_errors.append(self.DAMAGED)


ShareholderFormSet = forms.formset_factory(
    ShareholderForm, formset=BaseShareholderFormSet, extra=0, min_num=1, can_delete=True, can_delete_extra=True,
)


class HeadForm(PortalForm):
    """«Руководитель исполнительного органа»."""

    full_name = forms.CharField(label=_("Full name"), max_length=300)
    iin = forms.CharField(label=_("IIN"), max_length=12, validators=[validate_iin], widget=DigitsInput())
    position = forms.CharField(label=pgettext_lazy("head of the executive body", "Position"), max_length=300)
    appointment_document = forms.CharField(label=_("Appointment document"), max_length=300)
    appointment_number = forms.CharField(label=_("Appointment document number"), max_length=100)
    appointed_on = forms.DateField(label=_("Appointment date"), widget=DATE_WIDGET, validators=[not_in_future])
    phone = PhoneField(label=_("Phone"))
    email = forms.EmailField(label=_("E-mail address"))


class ProjectForm(PortalForm):
    """«Информация о проекте»; the construction type questions decide which details follow."""

    project_name = forms.CharField(label=_("Project name"), max_length=1000)
    region = forms.CharField(label=_("Region"), max_length=200)
    address = forms.CharField(label=_("Construction address"), max_length=500)
    multi_storey = forms.ChoiceField(
        label=_("Includes multi-storey construction?"), choices=YES_NO, widget=forms.RadioSelect
    )
    individual_housing = forms.ChoiceField(
        label=_("Includes individual housing construction (IZhS)?"), choices=YES_NO, widget=forms.RadioSelect
    )
    ms_buildings = WholeNumberField(label=_("Number of multi-storey buildings"), min_value=1, required=False)
    ms_floors = WholeNumberField(label=_("Number of floors"), min_value=1, max_value=200, required=False)
    ms_apartments = WholeNumberField(label=_("Number of apartments"), min_value=1, required=False)
    ms_area = NumberField(label=_("Total residential area, m²"), min_value=Decimal("1"), required=False)
    ih_houses = WholeNumberField(label=_("Number of individual houses"), min_value=1, required=False)
    ih_area = NumberField(label=_("Total area of individual houses, m²"), min_value=Decimal("1"), required=False)
    start_on = forms.DateField(label=_("Construction start date"), widget=DATE_WIDGET)
    end_on = forms.DateField(label=_("Planned completion date"), widget=DATE_WIDGET)
    cost = NumberField(label=_("Project cost, KZT"), min_value=Decimal("1"), max_digits=18, decimal_places=2)

    MULTI_STOREY_FIELDS = ("ms_buildings", "ms_floors", "ms_apartments", "ms_area")
    INDIVIDUAL_FIELDS = ("ih_houses", "ih_area")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.MULTI_STOREY_FIELDS + self.INDIVIDUAL_FIELDS:
            self.fields[name].show_required = True

    def clean(self):
        cleaned = super().clean()
        groups = (("multi_storey", self.MULTI_STOREY_FIELDS), ("individual_housing", self.INDIVIDUAL_FIELDS))
        for answer, names in groups:
            if cleaned.get(answer) == "yes":
                for name in names:
                    if cleaned.get(name) in (None, "") and name not in self.errors:
                        self.add_error(name, forms.Field.default_error_messages["required"])
        if cleaned.get("multi_storey") == "no" and cleaned.get("individual_housing") == "no":
            self.add_error("multi_storey", _("Choose «Yes» in at least one construction type."))
        start, end = cleaned.get("start_on"), cleaned.get("end_on")
        if start and end and end < start:
            self.add_error("end_on", _("The completion date cannot be earlier than the start date."))
        return cleaned


class DeveloperForm(PortalForm):
    """«Информация о застройщике» (filled by the УК: whom to invite)."""

    bin = forms.CharField(label=_("BIN"), max_length=12, validators=[validate_bin], widget=DigitsInput())
    name = forms.CharField(
        label=_("Organization name"), max_length=500, widget=forms.TextInput(attrs={"readonly": "readonly"})
    )
    phone = PhoneField(label=_("Phone number"))
    email = forms.EmailField(label=_("E-mail address"))


class ExpertiseForm(PortalForm):
    """«ПСД с положительным заключением комплексной вневедомственной экспертизы» (stage 3)."""

    kind = forms.ChoiceField(
        label=_("Type of expertise"), choices=[("state", _("State")), ("private", _("Private"))],
        widget=forms.RadioSelect,
    )
    subject = forms.CharField(label=_("Subject of expertise"), max_length=500)
    project_name = forms.CharField(label=_("Project name according to the expertise"), max_length=1000)
    number = forms.CharField(label=_("Expertise number"), max_length=100)
    issued_on = forms.DateField(label=_("Expertise date"), widget=DATE_WIDGET, validators=[not_in_future])


class CreateApplicationForm(PortalForm):
    """The modal «Создание заявки на гарантирование»."""

    under_contract = forms.ChoiceField(
        label=_("Is the application filed under an existing guarantee contract?"), choices=YES_NO,
        widget=forms.RadioSelect,
    )
    contract = forms.ChoiceField(label=_("Choose a guarantee contract"), required=False, widget=forms.RadioSelect)
    other_contract = forms.ChoiceField(
        label=_("Choose another contract?"), choices=YES_NO, required=False, widget=forms.RadioSelect
    )
    contract_number = forms.CharField(label=_("Contract number"), max_length=100, required=False)
    contract_date = forms.DateField(label=_("Contract date"), required=False, widget=DATE_WIDGET, validators=[not_in_future])
    contract_project = forms.CharField(label=_("Project name"), max_length=1000, required=False)

    def __init__(self, *args, contracts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.contracts = list(contracts)
        self.fields["contract"].choices = [(str(c.pk), str(c)) for c in self.contracts]
        self._errors = None  # PortalFormMixin validated before the choices existed: validate again

    @property
    def choice(self) -> dict:
        """What has been chosen so far (raw, before validation): decides what the modal shows.
        «Создать» is ready after «Нет», after a contract is picked or after «Выбор другого договора?» = «Да»."""
        data = self.data if self.is_bound else {}
        under, other = data.get("under_contract", ""), data.get("other_contract", "")
        ready = under == "no" or (under == "yes" and (bool(data.get("contract")) or other == "yes"))
        return {"under_contract": under, "other_contract": other, "ready": ready}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("under_contract") != "yes":
            return cleaned
        if cleaned.get("other_contract") == "yes":
            for name in ("contract_number", "contract_date", "contract_project"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        elif not cleaned.get("contract"):
            self.add_error("contract", _("Choose a contract from the list or choose another contract."))
        return cleaned


class UploadForm(PortalForm):
    files = forms.FileField(label=_("Upload"), required=False)


class AvrReturnForm(PortalForm):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
