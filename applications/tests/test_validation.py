"""Format-logical control of the form's tabs with real numbers from the manuals."""

import datetime

import pytest
from django.utils import timezone

from applications import definitions as d
from applications.tests.factories import COMPANY_BIN, DEVELOPER_BIN, VALID_IBAN, valid_tab_data


def company_form(**overrides):
    data = {**valid_tab_data()["company"], **{f"company-{k}": v for k, v in overrides.items()}}
    return d.COMPANY.bind(data)


def shareholder_formset(rows):
    return d.SHAREHOLDERS.bind(rows)


def test_valid_company_tab_with_the_manuals_bin():
    form = company_form()
    assert form.is_valid(), form.errors


@pytest.mark.parametrize("bin_", [COMPANY_BIN, DEVELOPER_BIN])
def test_real_bins_from_the_manuals_pass(bin_):
    assert company_form(bin=bin_).is_valid()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("bin", "160340003067", "bin_checksum"),
        ("bin", "16034000306", "bin_format"),
        ("bin", "16034000306A", "bin_format"),
        ("iik", "KZ86125KZT5004100101", "iban_checksum"),
        ("iik", "KZ86125KZT50041001", "iban_format"),
        ("iik", "RU86125KZT5004100100", "iban_format"),
        ("bik", "KCJBKZK", "bik"),
        ("kbe", "1", "kbe"),
        ("kbe", "1A", "kbe"),
        ("phone", "+770112345", "phone"),
        ("phone", "12345", "phone"),
        ("email", "not-an-email", "invalid"),
    ],
)
def test_invalid_values_give_a_message_at_the_field(field, value, code):
    form = company_form(**{field: value})
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()[field]] == [code]
    assert form.errors[field][0]  # a human message, in the active language


def test_phone_is_normalised_from_common_spellings():
    form = company_form(phone="8 (701) 123-45-67")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+77011234567"


def test_actual_address_required_unless_same_as_legal():
    form = company_form(actual_same="")
    assert not form.is_valid()
    assert {"region", "district", "city", "settlement", "street", "house"} <= set(form.errors)
    assert "block" not in form.errors and "apartment" not in form.errors


def test_shareholder_shares_bounds_and_sum():
    rows = valid_tab_data()["shareholders"]
    assert shareholder_formset(rows).is_valid()
    over = [dict(rows[0], share="70"), dict(rows[1], share="40")]
    fs = shareholder_formset(over)
    assert not fs.is_valid()
    assert "110" in " ".join(fs.non_form_errors())
    negative = [dict(rows[0], share="-1")]
    fs = shareholder_formset(negative)
    assert not fs.is_valid() and "share" in fs.forms[0].errors
    too_big = [dict(rows[0], share="100.01")]
    assert not shareholder_formset(too_big).is_valid()


def test_shareholder_bin_or_iin_checked_and_date_not_in_future():
    rows = valid_tab_data()["shareholders"]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    fs = shareholder_formset([dict(rows[0], bin_iin="123456789012", registered_on=tomorrow)])
    assert not fs.is_valid()
    assert "bin_iin" in fs.forms[0].errors and "registered_on" in fs.forms[0].errors


def test_project_type_questions_decide_required_details():
    base = valid_tab_data()["project"]
    form = d.PROJECT.bind({**base, "project-ms_floors": ""})
    assert not form.is_valid() and "ms_floors" in form.errors
    form = d.PROJECT.bind({**base, "project-multi_storey": "no", "project-individual_housing": "yes",
                                   "project-ih_houses": "", "project-ih_area": ""})
    assert not form.is_valid()
    assert {"ih_houses", "ih_area"} <= set(form.errors) and "ms_floors" not in form.errors
    form = d.PROJECT.bind({**base, "project-end_on": "2024-01-01"})
    assert not form.is_valid() and "end_on" in form.errors


def test_head_iin_and_expertise_date():
    data = valid_tab_data()
    assert d.HEAD.bind(data["head"]).is_valid()
    bad = d.HEAD.bind({**data["head"], "head-iin": "850101300016"})
    assert not bad.is_valid() and "iin" in bad.errors
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    exp = d.EXPERTISE.bind({**data["expertise"], "expertise-issued_on": tomorrow})
    assert not exp.is_valid() and "issued_on" in exp.errors


def test_valid_iban_constant_is_real():
    assert company_form(iik=VALID_IBAN.lower()).is_valid()
