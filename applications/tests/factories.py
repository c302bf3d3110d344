"""Factories and helpers for the applications tests."""

import factory

from applications.models import Application, ConsentType, DocumentType, Provider
from tests.factories import OrganizationFactory

# Real numbers from the manuals (seed 002/003).
COMPANY_BIN = "160340003066"
DEVELOPER_BIN = "150240008272"
VALID_IBAN = "KZ86125KZT5004100100"


class ApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Application

    organization = factory.SubFactory(OrganizationFactory)
    project_name = factory.Sequence(lambda n: f"ЖК «Проект {n}»")


class DocumentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentType

    stage = 2
    name_ru = factory.Sequence(lambda n: f"Документ {n}")
    name_kk = factory.Sequence(lambda n: f"Құжат {n}")
    required = True
    provider = Provider.COMPANY


class ConsentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentType

    name_ru = factory.Sequence(lambda n: f"Согласие {n}")
    name_kk = factory.Sequence(lambda n: f"Келісім {n}")
    provider = Provider.COMPANY


def valid_tab_data(developer_bin: str = DEVELOPER_BIN, company_bin: str = COMPANY_BIN) -> dict:
    """Values that make every stage-1 tab and the expertise block valid."""
    return {
        "company": {
            "company-name_ru": "ТОО «Демо»", "company-name_kk": "«Демо» ЖШС", "company-bin": company_bin,
            "company-legal_address": "г. Астана, ул. Достык, 13", "company-actual_same": "on",
            "company-phone": "+77011234567", "company-email": "info@demo.kz", "company-iik": VALID_IBAN,
            "company-bik": "KCJBKZKX", "company-kbe": "17", "company-bank_name": "АО «Банк»",
        },
        "shareholders": [
            {"name": "Иванов Иван", "bin_iin": company_bin, "share": "60", "registered_on": "2016-03-01"},
            {"name": "ТОО «Учредитель»", "bin_iin": developer_bin, "share": "40", "registered_on": "2015-02-01"},
        ],
        "head": {
            "head-full_name": "Иванов Иван Иванович", "head-iin": "850101300015", "head-position": "Директор",
            "head-appointment_document": "Приказ", "head-appointment_number": "1-к", "head-appointed_on": "2020-01-10",
            "head-phone": "+77011234567", "head-email": "head@demo.kz",
        },
        "project": {
            "project-project_name": "ЖК «Демо»", "project-region": "г. Астана", "project-address": "ул. Туран, 1",
            "project-multi_storey": "yes", "project-individual_housing": "no", "project-ms_buildings": "2",
            "project-ms_floors": "12", "project-ms_apartments": "240", "project-ms_area": "15000",
            "project-start_on": "2025-01-10", "project-end_on": "2027-12-31", "project-cost": "15000000000",
        },
        "developer": {
            "developer-bin": developer_bin, "developer-name": "ТОО «Демо Застройщик»",
            "developer-phone": "+77017654321", "developer-email": "dev@demo.kz",
        },
        "expertise": {
            "expertise-kind": "state", "expertise-subject": "Рабочий проект", "expertise-project_name": "ЖК «Демо»",
            "expertise-number": "01-0001/25", "expertise-issued_on": "2025-01-05",
        },
    }


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def valid_subsidy_data(developer_bin: str = DEVELOPER_BIN, company_bin: str = COMPANY_BIN) -> dict:
    """Values that make every tab of a subsidy application valid (stage 1 is guarantee's)."""
    data = valid_tab_data(developer_bin, company_bin)
    data.pop("expertise")
    data["loan"] = {
        "loan-bank_bik": "HSBKKZKX", "loan-agreement_number": "КД-2025/17", "loan-agreement_date": "2025-02-01",
        "loan-amount": "1 500 000 000", "loan-currency": "KZT", "loan-nominal_rate": "19,5",
        "loan-subsidised_rate": "10", "loan-term_months": "36", "loan-purpose": "Строительство ЖК «Демо»",
        "loan-financed_project": "ЖК «Демо»", "loan-guarantee_contract": "",
    }
    data["schedule"] = [{"date": "2025-03-01", "amount": "1000000000"}, {"date": "2025-09-01", "amount": "500000000"}]
    return data
