"""The application wizard as a definition, and the engine that runs it.

A service (guarantee, subsidy, …) is a `Service`: its stages → tabs → fields (type, required,
validators, help text, ru/kk labels as gettext_lazy), repeatable blocks, document slots (the
document types of the stage kept as data), consents, the statuses it uses and its transition
table. Definitions live in `applications/definitions.py` — Python, typed, reviewed in code.

The engine here turns a tab into a Django form (`Tab.form_class`, `Tab.bind`), and computes from
the definition what the views and the admin show: tab completeness (🟢), each party's progress
per stage, readiness to sign and the list of what is missing (`readiness`), the form as sections
(`sections`) and the moderator's checklist (`checklist`). One set of views and templates serves
every service; nothing in them names a service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from django import forms as django_forms
from django.utils.functional import Promise

from homeportal.forms import PortalForm
from homeportal.workflow import Transition

from . import forms as fields_

Text = str | Promise


class Kind(StrEnum):
    """How a field is typed and read (each maps to one Django field + widget)."""

    TEXT = "text"
    DIGITS = "digits"  # text input with the digit keyboard (BIN, IIN, KBe)
    EMAIL = "email"
    PHONE = "phone"  # +7XXXXXXXXXX
    NUMBER = "number"  # amounts, areas, rates: spaces allowed, comma or point
    WHOLE = "whole"  # counts
    DATE = "date"
    RADIO = "radio"
    SELECT = "select"
    CHECK = "check"


@dataclass(frozen=True)
class Field:
    """One field of a tab. `shown_required`: required depending on another answer (a tab rule
    checks it); marked with * and aria-required all the same."""

    name: str
    kind: Kind
    label: Text
    required: bool = True
    validators: tuple[Callable, ...] = ()
    help: Text = ""
    max_length: int | None = None
    min_value: Decimal | int | None = None
    max_value: Decimal | int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    choices: tuple | Callable[[], tuple] = ()
    readonly: bool = False
    shown_required: bool = False

    def build(self) -> django_forms.Field:
        common = {"label": self.label, "required": self.required and self.kind != Kind.CHECK,
                  "help_text": self.help}
        attrs = {"readonly": "readonly"} if self.readonly else None
        if self.kind in (Kind.TEXT, Kind.DIGITS):
            widget = fields_.DigitsInput(attrs) if self.kind == Kind.DIGITS else django_forms.TextInput(attrs)
            return django_forms.CharField(max_length=self.max_length, validators=list(self.validators),
                                          widget=widget, **common)
        if self.kind == Kind.EMAIL:
            return django_forms.EmailField(validators=list(self.validators), **common)
        if self.kind == Kind.PHONE:
            return fields_.PhoneField(**common)
        if self.kind == Kind.NUMBER:
            return fields_.NumberField(min_value=self.min_value, max_value=self.max_value, max_digits=self.max_digits,
                                       decimal_places=self.decimal_places, validators=list(self.validators), **common)
        if self.kind == Kind.WHOLE:
            return fields_.WholeNumberField(min_value=self.min_value, max_value=self.max_value,
                                            validators=list(self.validators), **common)
        if self.kind == Kind.DATE:
            return django_forms.DateField(widget=fields_.DATE_WIDGET, validators=list(self.validators), **common)
        if self.kind in (Kind.RADIO, Kind.SELECT):
            widget = django_forms.RadioSelect if self.kind == Kind.RADIO else django_forms.Select
            return django_forms.ChoiceField(choices=self.choices, widget=widget, validators=list(self.validators),
                                            **common)
        if self.kind == Kind.CHECK:
            return django_forms.BooleanField(**common)
        raise ValueError(f"unknown field kind {self.kind}")


# A rule across the fields of one form: (form, cleaned data) -> None; it adds errors at the field
# with form.add_error. A block rule gets the formset and raises ValidationError (above the blocks).
Rule = Callable[[django_forms.Form, dict], None]
BlockRule = Callable[[django_forms.BaseFormSet], None]


@dataclass(frozen=True)
class Repeatable:
    """The tab is a list of blocks («+ Добавить ещё», 🗑 per block). `prefix` names the POST keys."""

    prefix: str
    item_label: Text
    rules: tuple[BlockRule, ...] = ()
    max_rows: int = 200


class TabForm(PortalForm):
    """The form of one tab, built from its `Tab` (see `Tab.form_class`). `context` is the rest of
    the application's stored data, for rules across tabs."""

    tab: Tab
    context: Mapping = {}

    def __init__(self, *args, context: Mapping | None = None, **kwargs):
        self.context = context or {}
        super().__init__(*args, **kwargs)
        for f in self.tab.fields:
            if f.shown_required:
                self.fields[f.name].widget.attrs["aria-required"] = "true"
                self.fields[f.name].show_required = True

    def clean(self):
        cleaned = super().clean()
        for rule in self.tab.rules:
            rule(self, cleaned)
        return cleaned


@dataclass(frozen=True)
class Tab:
    """A tab of a stage (or the one form block of a stage without a tab strip). `code` is unique in
    its service and is the key of the values in `Application.data` and the POST prefix."""

    code: str
    title: Text
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = ()
    template: str = "applications/partials/tab_generic.html"
    repeatable: Repeatable | None = None
    checklist: bool = False  # a line of the moderator's checklist

    @cached_property
    def form_class(self) -> type[TabForm]:
        attrs = {f.name: f.build() for f in self.fields}
        return type(f"{self.code.title().replace('_', '')}Form", (TabForm,), {"tab": self, **attrs})

    @cached_property
    def formset_class(self) -> type[fields_.RepeatableFormSet]:
        assert self.repeatable is not None
        base = type(f"{self.code.title()}FormSet", (fields_.RepeatableFormSet,),
                    {"block_rules": self.repeatable.rules, "MAX_ROWS": self.repeatable.max_rows})
        return django_forms.formset_factory(self.form_class, formset=base, extra=0, min_num=1, can_delete=True,
                                            can_delete_extra=True)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def bind(self, values, *, context: Mapping | None = None):
        """The bound form over stored (or posted) values: a dict of POST-shaped keys, or for a
        repeatable tab the stored list of rows (or POST-shaped data)."""
        if self.repeatable is None:
            return self.form_class(data=values or {}, prefix=self.code, context=context)
        prefix = self.repeatable.prefix
        if isinstance(values, dict):  # already POST-shaped
            data = values
        else:
            rows = list(values or [])
            data = {f"{prefix}-TOTAL_FORMS": str(max(len(rows), 1)), f"{prefix}-INITIAL_FORMS": "0",
                    f"{prefix}-MIN_NUM_FORMS": "1", f"{prefix}-MAX_NUM_FORMS": "1000"}
            for i, row in enumerate(rows):
                for key, value in row.items():
                    data[f"{prefix}-{i}-{key}"] = value
        formset = self.formset_class(data=data, prefix=prefix, form_kwargs={"context": context})
        formset.context = context or {}
        return formset


@dataclass(frozen=True)
class DocumentSlots:
    """The stage's document fields: the active document types of this service and stage (a list
    KZhK staff maintain in the admin; a data migration seeds each service's slots)."""

    heading: Text = ""


@dataclass(frozen=True)
class Stage:
    number: int
    title: Text
    tabs: tuple[Tab, ...] = ()
    tab_strip: bool = False  # the tabs are shown as a strip (else the one tab is a block below the documents)
    documents: DocumentSlots | None = None
    consents: bool = False  # «Предоставление согласий»: the service's active consent types


@dataclass(frozen=True)
class Service:
    """One kind of application: what the wizard asks and which statuses it goes through."""

    code: str
    title: Text  # «Гарантирование»
    application_title: Text  # «Заявка на гарантирование»
    create_title: Text  # the modal's title
    create_question: Text  # «Заявка подается в рамках действующего договора …?»
    contract_label: Text  # «Выберите договор …»
    contract_kind: str  # cabinets.Contract.Kind of the contracts the modal offers
    list_url: str  # URL names
    create_url: str
    stages: tuple[Stage, ...]
    transitions: tuple[Transition, ...]
    order: tuple[str, ...]  # the forward order of statuses (a BPMS event never moves backwards in it)
    bpms_case_kind: str = "application"  # the case kind the BPMS bridge and mock know the service by
    status_labels: Mapping[str, Text] = field(default_factory=dict)  # where this service names a status its own way
    pdf_title_ru: str = ""
    pdf_title_kk: str = ""

    def __post_init__(self):
        codes = [t.code for s in self.stages for t in s.tabs]
        if len(codes) != len(set(codes)):
            raise ValueError(f"service {self.code}: a tab code is used twice")

    def stage(self, number: int) -> Stage | None:
        return next((s for s in self.stages if s.number == number), None)

    @property
    def numbers(self) -> list[int]:
        return [s.number for s in self.stages]

    @property
    def last(self) -> int:
        return self.stages[-1].number

    @cached_property
    def tabs(self) -> dict[str, Tab]:
        return {t.code: t for s in self.stages for t in s.tabs}

    def tab_stage(self, code: str) -> int:
        return next(s.number for s in self.stages if any(t.code == code for t in s.tabs))

    @property
    def decided_statuses(self) -> tuple[str, ...]:
        """The statuses after the review in the forward order (the decision and what follows it):
        the BPMS case's review term ends there (never flagged overdue)."""
        return self.order[self.order.index("in_review") + 1:]

    @property
    def statuses(self) -> set[str]:
        return {t.source for t in self.transitions} | {t.target for t in self.transitions}

    def status_label(self, status: str) -> str:
        from .models import Status

        if status in self.status_labels:
            return str(self.status_labels[status])
        return str(Status(status).label) if status in Status.values else status


# --- the engine: what a stored application's values mean -------------------------------------


def tab_form(service: Service, data: Mapping, code: str, values=None):
    """The bound form of a tab over the given (or stored) values."""
    tab = service.tabs[code]
    if values is None:
        values = data.get(code, [] if tab.repeatable else {})
    return tab.bind(values, context=data)


def tab_is_valid(service: Service, data: Mapping, code: str) -> bool:
    tab = service.tabs[code]
    if code not in data and tab.repeatable is None:
        return False
    return tab_form(service, data, code).is_valid()


def posted_values(tab: Tab, post: Mapping) -> dict:
    """What was typed in a (non-repeatable) tab, kept exactly — only its own fields, each cut at
    2 000 characters."""
    keys = [f"{tab.code}-{name}" for name in tab.field_names]
    return {key: post[key][:2000] for key in keys if key in post}


def sections(service: Service, data: Mapping) -> list[tuple[str, list[tuple[str, str]]]]:
    """The form as (tab title, [(field label, value as typed)]) for the PDF and the moderator."""
    out = []
    for code, tab in service.tabs.items():
        form = tab_form(service, data, code)
        rows = []
        for sub in (form.forms if tab.repeatable else [form]):
            for bound in sub:
                value = bound.value()
                if bound.field.widget.input_type == "checkbox":
                    value = "✓" if value else ""
                elif getattr(bound.field, "choices", None) and value:
                    value = dict(bound.field.choices).get(value, value)
                if value not in (None, ""):
                    rows.append((str(bound.label), str(value)))
        out.append((str(tab.title), rows))
    return out
