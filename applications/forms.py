"""The field types and form shapes the application wizard is built from. The tabs themselves
(their fields, rules and blocks) are declared in `applications/definitions.py` and turned into
forms by `applications/wizard.py`; values are stored as typed (see models)."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cabinets.validators import normalize_kz_phone, validate_kz_phone
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


ROW_KEY = re.compile(r"([a-z]{1,8})-([0-9]{1,4})-[a-zA-Z_]+", re.ASCII)


class RepeatableFormSet(forms.BaseFormSet):
    """A repeatable block of a tab (`wizard.Repeatable`). «+ Добавить» is the submit button
    `<prefix>-ADD`, each block's 🗑 is a submit button of the block's own DELETE field: both work as
    plain posts and with htmx. `block_rules` (from the definition) check the blocks together."""

    MAX_ROWS = 200
    block_rules: tuple = ()
    DAMAGED = _("The form's block counter arrived damaged: the blocks below are as you typed them — "
                "check them and save again.")

    # What the rest of the application holds (`Application.data`), for rules across tabs.
    context: dict | None = None

    @property
    def row_fields(self) -> tuple[str, ...]:
        return tuple(self.form.base_fields)

    def clean(self):
        for rule in self.block_rules:
            rule(self)

    def valid_rows(self) -> list[dict]:
        return [form.cleaned_data for form in self.forms if form.is_valid() and form.cleaned_data]

    @property
    def add_requested(self) -> bool:
        return bool(self.data.get(f"{self.prefix}-ADD"))

    def counters_damaged(self) -> bool:
        """TOTAL/INITIAL not plain ASCII digits (Python's int() would read «٣» as 3)."""
        raw = [str(self.data.get(f"{self.prefix}-{key}", "")) for key in ("TOTAL_FORMS", "INITIAL_FORMS")]
        return not all(DIGITS.fullmatch(value) for value in raw) or not self.management_form.is_valid()

    def _row_numbers(self) -> list[int]:
        return sorted({int(m.group(2)) for key in self.data
                       if (m := ROW_KEY.fullmatch(key)) and m.group(1) == self.prefix})

    def typed_rows(self) -> list[dict]:
        """The blocks exactly as typed, without those whose 🗑 was pressed (never the last one),
        plus an empty block for «+ Добавить». Rows are found by the numbers in their field names, so
        damaged counters lose nothing."""
        present = self._row_numbers()
        if not self.counters_damaged():
            present = [i for i in present if i < self.total_form_count()]
        names = self.row_fields
        rows, kept = [], []
        for i in present[: self.MAX_ROWS]:
            row = {key: str(self.data.get(f"{self.prefix}-{i}-{key}", ""))[:2000] for key in names}
            rows.append(row)
            if not self.data.get(f"{self.prefix}-{i}-DELETE"):
                kept.append(row)
        rows = kept if kept else rows
        if self.add_requested and len(rows) < self.MAX_ROWS:
            rows.append(dict.fromkeys(names, ""))
        return rows or [dict.fromkeys(names, "")]

    def rows_changed(self) -> bool:
        """«+ Добавить» or a 🗑 was pressed (the page then shows the blocks again, nothing else)."""
        return self.add_requested or any(
            key.endswith("-DELETE") and (m := ROW_KEY.fullmatch(key)) and m.group(1) == self.prefix
            for key in self.data if self.data.get(key)
        )

    def mark_damaged(self) -> None:
        self.non_form_errors()  # validates first
        self._non_form_errors.append(self.DAMAGED)


class CreateApplicationForm(PortalForm):
    """The modal «Создание заявки на гарантирование / субсидирование»."""

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

    def __init__(self, *args, contracts=(), service=None, **kwargs):
        super().__init__(*args, **kwargs)
        if service is not None:  # the service's own wording (wizard.Service)
            self.fields["under_contract"].label = service.create_question
            self.fields["contract"].label = service.contract_label
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
