"""The S3 storage foundation: django-storages configured from S3_* environment variables, against
a real S3-compatible server (moto in server mode, its own process: the `s3_server` and
`s3_storage` fixtures in conftest.py)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from applications.models import Application, ApplicationFile, DocumentType
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, object_keys, s3_client

ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 4000


@pytest.mark.django_db
def test_an_uploaded_document_lands_in_the_s3_bucket(s3_storage, cabinet_client, organization):
    application = Application.objects.create(organization=organization, project_name="S3")
    document_type = DocumentType.objects.create(stage=3, name_ru="ПСД", name_kk="ЖСҚ")
    url = reverse("applications:upload", args=[application.public_id, document_type.pk])
    response = cabinet_client.post(url, {"files": SimpleUploadedFile("psd.pdf", PDF, "application/pdf")})
    assert response.status_code == 302
    record = ApplicationFile.objects.get(application=application)
    assert object_keys(s3_storage.endpoint, s3_storage.bucket) == [record.file.name]
    body = s3_storage.client.get_object(Bucket=s3_storage.bucket, Key=record.file.name)["Body"].read()
    assert body == PDF
    with record.file.open("rb") as fh:  # read back through the storage too
        assert fh.read() == PDF


def test_s3_settings_come_from_the_environment(s3_server):
    """A fresh process with only S3_* variables set stores through django-storages into the bucket."""
    bucket = f"env-{uuid.uuid4().hex[:20]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    env = {**os.environ, "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, "S3_ACCESS_KEY": ACCESS_KEY,
           "S3_SECRET_KEY": SECRET_KEY, "S3_REGION": REGION, "S3_ADDRESSING_STYLE": "path",
           "DJANGO_SETTINGS_MODULE": "homeportal.settings"}
    code = ("import django; django.setup();"
            "from django.core.files.base import ContentFile;"
            "from django.core.files.storage import storages; s = storages['default'];"
            "print(type(s).__name__, s.save('probe/a.txt', ContentFile(b'hello')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    backend, name = out.stdout.split()
    assert backend == "S3Storage"
    assert object_keys(s3_server, bucket) == [name]
    assert s3_client(s3_server).get_object(Bucket=bucket, Key=name)["Body"].read() == b"hello"
