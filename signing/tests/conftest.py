import pytest

from signing.tests import callbacks  # noqa: F401 — registers the test completion


@pytest.fixture
def demo_key():
    from signing.pki import demo_key as _demo_key

    return _demo_key


@pytest.fixture
def company(db):
    from cabinets.demo import DEMO_COMPANY_BIN
    from tests.factories import OrganizationFactory

    return OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо Уполномоченная Компания»")


@pytest.fixture
def company_user(company):
    from tests.factories import UserFactory

    return UserFactory(organization=company)


@pytest.fixture
def pdf_bytes():
    from signing.services import pdf_render

    return pdf_render(template_name="signing/pdf/demo_document.html", context={
        "title": "Тестовый документ", "organization_name": "ТОО Демо", "organization_bin": "160340003066", "number": "T-1",
    })


@pytest.fixture
def make_request(company, company_user):
    from signing.services import signed_document_create, signing_request_create

    def _make(document=b"%PDF-1.4 test document", *, with_document=True, **kw):
        doc = None
        if with_document:
            doc = signed_document_create(subject=company, document=document, filename="doc.pdf", title_ru="Документ",
                                         title_kk="Құжат", parties=[{"organization": company}])
        params = {
            "subject": company, "document": document, "filename": "doc.pdf", "title_ru": "Документ",
            "title_kk": "Құжат", "organization": company, "allowed_roles": {"head", "may_sign"},
            "on_complete": "signing_tests:record", "return_url": "/done/", "signer_user": company_user,
            "signed_document": doc,
        }
        params.update(kw)
        return signing_request_create(**params)

    return _make
