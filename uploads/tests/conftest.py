import os

import pytest

from applications.models import Application, DocumentType

PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def pdf_bytes(size: int) -> bytes:
    return PDF_HEAD + os.urandom(size - len(PDF_HEAD))


@pytest.fixture(params=["fs", "s3"])
def backend(request, settings):
    """Each protocol test runs against the file system and against S3 (moto server); parts are
    S3's minimum 5 MiB so the tests' 11 MiB files span several parts and a tail."""
    settings.TUS_S3_PART_SIZE = 5 * 1024 * 1024
    if request.param == "s3":
        return request.getfixturevalue("s3_storage")
    return None


@pytest.fixture
def application(organization):
    return Application.objects.create(organization=organization, project_name="Загрузки")


@pytest.fixture
def document_type(db):
    return DocumentType.objects.create(stage=3, name_ru="ПСД", name_kk="ЖСҚ")


@pytest.fixture
def create_url(application, document_type):
    return f"/uploads/tus/application/{application.public_id}/{document_type.pk}/"
