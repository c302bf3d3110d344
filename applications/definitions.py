"""The services of «Мои заявки» as definitions (see `applications/wizard.py` for the format).

Guarantee («Гарантирование») is seed 002/003's form. The shared tabs of stage 1 («Корпоративная
информация») are declared once here and reused by every service.
"""

from __future__ import annotations

import calendar
import datetime
import json
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cabinets.validators import (
    validate_bik,
    validate_bin,
    validate_bin_or_iin,
    validate_iin,
    validate_kbe,
    validate_kz_iban,
)

from . import transitions
from .forms import YES_NO, not_in_future
from .models import Status
from .wizard import DocumentSlots, Field, Kind, Repeatable, Service, Stage, Tab

REQUIRED = forms.Field.default_error_messages["required"]


def require_all(form, cleaned, names) -> None:
    for name in names:
        if cleaned.get(name) in (None, "") and name not in form.errors:
            form.add_error(name, REQUIRED)


# --- stage 1 «Корпоративная информация» (shared) ---------------------------------------------

ACTUAL_ADDRESS = ("region", "district", "city", "settlement", "street", "house")


def actual_address_rule(form, cleaned) -> None:
    """Required unless «Соответствует юридическому адресу»."""
    if not cleaned.get("actual_same"):
        require_all(form, cleaned, ACTUAL_ADDRESS)


def _address(name, label, max_length, *, shown_required=True):
    return Field(name, Kind.TEXT, label, required=False, max_length=max_length, shown_required=shown_required)


COMPANY = Tab(
    "company", _("Information about the authorised company"),
    template="applications/partials/tab_company.html",
    rules=(actual_address_rule,),
    fields=(
        Field("name_ru", Kind.TEXT, _("Organization name (in Russian)"), max_length=500),
        Field("name_kk", Kind.TEXT, _("Organization name (in the state language)"), max_length=500),
        Field("bin", Kind.DIGITS, _("BIN"), max_length=12, validators=(validate_bin,)),
        Field("legal_address", Kind.TEXT, _("Legal address"), max_length=500),
        Field("actual_same", Kind.CHECK, _("Matches the legal address"), required=False),
        _address("region", _("Region"), 200),
        _address("district", _("District"), 200),
        _address("city", _("City/rural district"), 200),
        _address("settlement", _("Village/city"), 200),
        _address("street", _("Street"), 200),
        _address("house", _("House"), 50),
        _address("block", _("Block"), 50, shown_required=False),
        _address("apartment", _("Apartment"), 50, shown_required=False),
        Field("phone", Kind.PHONE, _("Phone")),
        Field("email", Kind.EMAIL, _("E-mail address")),
        Field("website", Kind.TEXT, _("Website"), required=False, max_length=300),
        Field("iik", Kind.TEXT, _("Bank account number (IIK)"), max_length=34, validators=(validate_kz_iban,)),
        Field("bik", Kind.TEXT, _("Bank identification code (BIK)"), max_length=8, validators=(validate_bik,)),
        Field("kbe", Kind.DIGITS, _("Beneficiary code (KBe)"), max_length=2, validators=(validate_kbe,)),
        Field("bank_name", Kind.TEXT, _("Name of the servicing bank"), max_length=300),
    ),
)


def shares_rule(formset) -> None:
    total = sum((row.get("share") or Decimal("0") for row in formset.valid_rows()), Decimal("0"))
    if total > 100:
        raise ValidationError(_("The shares add up to %(total)s %%; the sum cannot exceed 100 %%."),
                              params={"total": total})


SHAREHOLDERS = Tab(
    "shareholders", _("Shareholders / founders"),
    template="applications/partials/tab_repeatable.html",
    repeatable=Repeatable(prefix="sh", item_label=_("Shareholder / founder"), rules=(shares_rule,)),
    fields=(
        Field("name", Kind.TEXT, _("Organization name or full name"), max_length=500),
        Field("bin_iin", Kind.DIGITS, _("BIN/IIN"), max_length=12, validators=(validate_bin_or_iin,)),
        Field("share", Kind.NUMBER, _("Share in the authorised capital"), help=_("In percent, from 0 to 100."),
              min_value=Decimal("0"), max_value=Decimal("100"), max_digits=6, decimal_places=2),
        Field("registered_on", Kind.DATE, _("Date of initial registration/re-registration"),
              validators=(not_in_future,)),
    ),
)

HEAD = Tab(
    "head", _("Head of the executive body"),
    template="applications/partials/tab_head.html",
    fields=(
        Field("full_name", Kind.TEXT, _("Full name"), max_length=300),
        Field("iin", Kind.DIGITS, _("IIN"), max_length=12, validators=(validate_iin,)),
        Field("position", Kind.TEXT, pgettext_lazy("head of the executive body", "Position"), max_length=300),
        Field("appointment_document", Kind.TEXT, _("Appointment document"), max_length=300),
        Field("appointment_number", Kind.TEXT, _("Appointment document number"), max_length=100),
        Field("appointed_on", Kind.DATE, _("Appointment date"), validators=(not_in_future,)),
        Field("phone", Kind.PHONE, _("Phone")),
        Field("email", Kind.EMAIL, _("E-mail address")),
    ),
)

MULTI_STOREY_FIELDS = ("ms_buildings", "ms_floors", "ms_apartments", "ms_area")
INDIVIDUAL_FIELDS = ("ih_houses", "ih_area")


def construction_rule(form, cleaned) -> None:
    """The two construction-type questions decide which details are required."""
    for answer, names in (("multi_storey", MULTI_STOREY_FIELDS), ("individual_housing", INDIVIDUAL_FIELDS)):
        if cleaned.get(answer) == "yes":
            require_all(form, cleaned, names)
    if cleaned.get("multi_storey") == "no" and cleaned.get("individual_housing") == "no":
        form.add_error("multi_storey", _("Choose «Yes» in at least one construction type."))


def end_after_start(start: str, end: str, message):
    def rule(form, cleaned) -> None:
        if cleaned.get(start) and cleaned.get(end) and cleaned[end] < cleaned[start]:
            form.add_error(end, message)
    return rule


PROJECT = Tab(
    "project", _("Project information"),
    template="applications/partials/tab_project.html",
    rules=(construction_rule,
           end_after_start("start_on", "end_on", _("The completion date cannot be earlier than the start date."))),
    fields=(
        Field("project_name", Kind.TEXT, _("Project name"), max_length=1000),
        Field("region", Kind.TEXT, _("Region"), max_length=200),
        Field("address", Kind.TEXT, _("Construction address"), max_length=500),
        Field("multi_storey", Kind.RADIO, _("Includes multi-storey construction?"), choices=tuple(YES_NO)),
        Field("individual_housing", Kind.RADIO, _("Includes individual housing construction (IZhS)?"),
              choices=tuple(YES_NO)),
        Field("ms_buildings", Kind.WHOLE, _("Number of multi-storey buildings"), required=False, min_value=1,
              shown_required=True),
        Field("ms_floors", Kind.WHOLE, _("Number of floors"), required=False, min_value=1, max_value=200,
              shown_required=True),
        Field("ms_apartments", Kind.WHOLE, _("Number of apartments"), required=False, min_value=1, shown_required=True),
        Field("ms_area", Kind.NUMBER, _("Total residential area, m²"), required=False, min_value=Decimal("1"),
              shown_required=True),
        Field("ih_houses", Kind.WHOLE, _("Number of individual houses"), required=False, min_value=1,
              shown_required=True),
        Field("ih_area", Kind.NUMBER, _("Total area of individual houses, m²"), required=False,
              min_value=Decimal("1"), shown_required=True),
        Field("start_on", Kind.DATE, _("Construction start date")),
        Field("end_on", Kind.DATE, _("Planned completion date")),
        Field("cost", Kind.NUMBER, _("Project cost, KZT"), min_value=Decimal("1"), max_digits=18, decimal_places=2),
    ),
)

DEVELOPER = Tab(
    "developer", _("Information about the developer"),
    template="applications/partials/tab_developer.html",
    fields=(
        Field("bin", Kind.DIGITS, _("BIN"), max_length=12, validators=(validate_bin,)),
        Field("name", Kind.TEXT, _("Organization name"), max_length=500, readonly=True),
        Field("phone", Kind.PHONE, _("Phone number")),
        Field("email", Kind.EMAIL, _("E-mail address")),
    ),
)

CORPORATE = Stage(1, _("Corporate information"), tabs=(COMPANY, SHAREHOLDERS, HEAD, PROJECT, DEVELOPER),
                  tab_strip=True)
CONSENTS = Stage(4, _("Provision of consents"), consents=True)


# --- «Гарантирование» (seed 002/003) ---------------------------------------------------------

EXPERTISE = Tab(
    "expertise", _("Design and estimate documentation with a positive expertise conclusion"),
    template="applications/partials/tab_expertise.html", checklist=True,
    fields=(
        Field("kind", Kind.RADIO, _("Type of expertise"), choices=(("state", _("State")), ("private", _("Private")))),
        Field("subject", Kind.TEXT, _("Subject of expertise"), max_length=500),
        Field("project_name", Kind.TEXT, _("Project name according to the expertise"), max_length=1000),
        Field("number", Kind.TEXT, _("Expertise number"), max_length=100),
        Field("issued_on", Kind.DATE, _("Expertise date"), validators=(not_in_future,)),
    ),
)

GUARANTEE = Service(
    code="guarantee",
    title=_("Guarantee"),
    application_title=_("Guarantee application"),
    create_title=_("Creating a guarantee application"),
    create_question=_("Is the application filed under an existing guarantee contract?"),
    contract_label=_("Choose a guarantee contract"),
    contract_kind="guarantee",
    list_url="applications:list",
    create_url="applications:create",
    bpms_case_kind="application",
    pdf_title_ru="Заявка на гарантирование", pdf_title_kk="Кепілдікке өтінім",
    stages=(
        CORPORATE,
        Stage(2, _("Corporate documentation"), documents=DocumentSlots()),
        Stage(3, _("Project documentation"), tabs=(EXPERTISE,),
              documents=DocumentSlots(heading=EXPERTISE.title)),
        CONSENTS,
    ),
    transitions=transitions.TRANSITIONS,
    order=tuple(transitions.ORDER),
)


# --- «Субсидирование» (our design: seeds 002/003 name the section, not the form) ----------------

BANKS_FILE = Path(__file__).resolve().parent / "data" / "kz_second_tier_banks.json"


@lru_cache(maxsize=1)
def banks() -> tuple[dict, ...]:
    """Kazakhstan's second-tier banks with their BIK, kept as data (`data/kz_second_tier_banks.json`)."""
    return tuple(json.loads(BANKS_FILE.read_text(encoding="utf-8"))["banks"])


def bank_choices() -> list[tuple[str, str]]:
    """«BIK — name» in the reader's language (evaluated when the form is shown)."""
    kk = get_language() == "kk"
    return [("", "—")] + [(b["bik"], f"{b['bik']} — {b['name_kk'] if kk else b['name_ru']}") for b in banks()]


def bank_name(bik: str, language: str = "ru") -> str:
    bank = next((b for b in banks() if b["bik"] == bik), None)
    return (bank["name_kk"] if language == "kk" else bank["name_ru"]) if bank else ""


def positive(value) -> None:
    if value is not None and value <= 0:
        raise ValidationError(_("The amount must be greater than zero."), code="not_positive")


def percent(value) -> None:
    if value is not None and not (0 < value <= 100):
        raise ValidationError(_("Enter a rate greater than 0 and not above 100 %."), code="percent")


def loan_months(value) -> None:
    if value is not None and not (1 <= value <= 360):
        raise ValidationError(_("Enter the term in months, from 1 to 360."), code="months")


def subsidised_rate_rule(form, cleaned) -> None:
    rate, nominal = cleaned.get("subsidised_rate"), cleaned.get("nominal_rate")
    if rate is not None and nominal is not None and rate > nominal:
        form.add_error("subsidised_rate", _("The rate to subsidise cannot exceed the nominal rate of the loan."))


LOAN = Tab(
    "loan", _("Loan terms"), checklist=True,
    rules=(subsidised_rate_rule,),
    fields=(
        Field("bank_bik", Kind.SELECT, _("Bank (BIK)"), choices=bank_choices,
              help=_("The second-tier bank that granted the loan.")),
        Field("agreement_number", Kind.TEXT, _("Loan agreement number"), max_length=100),
        Field("agreement_date", Kind.DATE, _("Loan agreement date"), validators=(not_in_future,)),
        Field("amount", Kind.NUMBER, _("Loan amount, KZT"), max_digits=18, decimal_places=2, validators=(positive,)),
        Field("currency", Kind.SELECT, _("Loan currency"),
              choices=(("KZT", _("Tenge (KZT)")), ("USD", _("US dollar (USD)")), ("EUR", _("Euro (EUR)")))),
        Field("nominal_rate", Kind.NUMBER, _("Nominal interest rate, %"), max_digits=5, decimal_places=2,
              validators=(percent,)),
        Field("subsidised_rate", Kind.NUMBER, _("Rate to subsidise, %"), max_digits=5, decimal_places=2,
              validators=(percent,), help=_("Not above the nominal rate.")),
        Field("term_months", Kind.WHOLE, _("Loan term, months"), validators=(loan_months,)),
        Field("purpose", Kind.TEXT, _("Loan purpose"), max_length=1000),
        Field("financed_project", Kind.TEXT, _("Project financed by the loan"), max_length=1000,
              help=_("Filled in from the guarantee contract of the project when there is one.")),
        Field("guarantee_contract", Kind.TEXT, _("Guarantee contract of the project"), required=False, max_length=200),
    ),
)


def loan_terms(context) -> dict | None:
    """The loan tab's values when they are valid (rules of other tabs compare with them)."""
    form = LOAN.bind((context or {}).get("loan") or {})
    return form.cleaned_data if form.is_valid() else None


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def disbursement_date_rule(form, cleaned) -> None:
    """A disbursement falls within the loan: not before the agreement, not after its term."""
    loan, day = loan_terms(form.context), cleaned.get("date")
    if loan is None or day is None:
        return
    if day < loan["agreement_date"]:
        form.add_error("date", _("A disbursement cannot be earlier than the loan agreement date."))
    elif day > add_months(loan["agreement_date"], loan["term_months"]):
        form.add_error("date", _("A disbursement cannot be later than the end of the loan term."))


def schedule_sum_rule(formset) -> None:
    loan = loan_terms(formset.context)
    rows = formset.valid_rows()
    if loan is None or not rows or len(rows) != len(formset.forms):
        return
    total = sum((row["amount"] for row in rows), Decimal("0"))
    if total != loan["amount"]:
        raise ValidationError(
            _("The disbursements add up to %(total)s; they must equal the loan amount %(amount)s."),
            params={"total": _money(total), "amount": _money(loan["amount"])}, code="schedule_sum")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")


SCHEDULE = Tab(
    "schedule", _("Disbursement schedule"),
    template="applications/partials/tab_repeatable.html",
    rules=(disbursement_date_rule,),
    repeatable=Repeatable(prefix="ds", item_label=_("Disbursement"), rules=(schedule_sum_rule,)),
    fields=(
        Field("date", Kind.DATE, _("Disbursement date")),
        Field("amount", Kind.NUMBER, _("Disbursement amount, KZT"), max_digits=18, decimal_places=2,
              validators=(positive,)),
    ),
)

SUBSIDY = Service(
    code="subsidy",
    title=_("Subsidy"),
    application_title=_("Subsidy application"),
    create_title=_("Creating a subsidy application"),
    create_question=_("Is the application filed under an existing subsidy contract?"),
    contract_label=_("Choose a subsidy contract"),
    contract_kind="subsidy",
    list_url="applications:subsidy_list",
    create_url="applications:subsidy_create",
    bpms_case_kind="subsidy",
    pdf_title_ru="Заявка на субсидирование", pdf_title_kk="Субсидиялауға өтінім",
    stages=(
        CORPORATE,
        Stage(2, _("Loan information"), tabs=(LOAN, SCHEDULE), tab_strip=True),
        Stage(3, _("Project documentation"), documents=DocumentSlots()),
        CONSENTS,
    ),
    transitions=transitions.SUBSIDY_TRANSITIONS,
    order=tuple(transitions.SUBSIDY_ORDER),
    # The issue's status list (seed 001's vocabulary of a KZhK review): «На создании», and a return
    # for revision is «Заявка рассмотрена, необходимо доработать» whoever returned it.
    status_labels={Status.DRAFT: _("Being created"), Status.REVISION: _("Application reviewed, revision required")},
)

SERVICES: dict[str, Service] = {s.code: s for s in (GUARANTEE, SUBSIDY)}


def service_of(code: str) -> Service:
    return SERVICES[code]
