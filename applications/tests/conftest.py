import pytest

from applications.tests.factories import COMPANY_BIN, DEVELOPER_BIN, valid_tab_data
from cabinets.models import LegalEntityRecord, Organization
from tests.factories import UserFactory


@pytest.fixture
def company(db):
    return Organization.objects.create(bin=COMPANY_BIN, name_ru="ТОО «Nova City Development»", name_kk="«Nova City» ЖШС")


@pytest.fixture
def company_user(company):
    return UserFactory(organization=company)


@pytest.fixture
def company_client(client, company_user):
    client.force_login(company_user)
    return client


@pytest.fixture
def registry(db):
    LegalEntityRecord.objects.create(bin=DEVELOPER_BIN, name_ru="ООО Застройщик", name_kk="Құрылыс салушы ЖШС")
    LegalEntityRecord.objects.create(bin=COMPANY_BIN, name_ru="ТОО «Nova City Development»",
                                     legal_address="Казахстан, город Астана, район Есиль, улица 38, дом 30")


@pytest.fixture
def full_data():
    return valid_tab_data()
