"""Fixtures the browser tests share (the root conftest.py has the browser, server and login)."""

import pytest

from cabinets.demo import DEMO_COMPANY_BIN
from tests.factories import OrganizationFactory, UserFactory


@pytest.fixture
def company_user():
    """A user of the demo company (BIN of the demo keys), signing with its key files."""
    org = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»")
    return UserFactory(organization=org)
