"""Uploads: content-checked, size-limited, private, deletable until sent."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from applications.models import ApplicationFile, Provider, Status
from applications.tests.factories import PDF_BYTES, ApplicationFactory, DocumentTypeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload_url(app, dt):
    return reverse("applications:upload", args=[app.public_id, dt.pk])


def media_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_several_files_then_download_and_delete(company_client, company, settings,
                                                       django_capture_on_commit_callbacks):
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    response = company_client.post(upload_url(app, dt), {"files": [
        SimpleUploadedFile("устав.pdf", PDF_BYTES), SimpleUploadedFile("скан.png", PNG)]})
    assert response.status_code == 302
    files = list(ApplicationFile.objects.filter(application=app).order_by("id"))
    assert [f.original_name for f in files] == ["устав.pdf", "скан.png"]
    assert files[0].content_type == "application/pdf" and files[1].content_type == "image/png"
    download = company_client.get(reverse("applications:file_download", args=[files[0].pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == PDF_BYTES
    with django_capture_on_commit_callbacks(execute=True):
        company_client.post(reverse("applications:file_delete", args=[files[0].pk]))
    assert ApplicationFile.objects.filter(application=app).count() == 1
    assert len(media_files(settings)) == 1


def test_wrong_type_is_refused_with_a_message_and_nothing_stored(company_client, company, settings):
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    response = company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("virus.pdf", b"MZ\x90\x00 not a pdf")},
                                   HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 400
    assert "virus.pdf" in response.content.decode() and "field-error" in response.content.decode()
    assert not ApplicationFile.objects.exists()
    assert media_files(settings) == []


def test_too_large_file_is_refused_and_no_partial_file_remains(company_client, company, settings, monkeypatch, tmp_path):
    monkeypatch.setattr("applications.views.MAX_FILE_BYTES", 100_000)
    monkeypatch.setattr("applications.views.file_upload.upload_max_bytes", 100_000)
    temp_dir = tmp_path / "upload-tmp"
    temp_dir.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temp_dir)
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    big = PDF_BYTES + b"0" * 200_000
    response = company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("big.pdf", big)}, follow=True)
    assert "600" in response.content.decode()
    assert not ApplicationFile.objects.exists()
    assert media_files(settings) == []
    assert list(temp_dir.iterdir()) == []


def test_files_under_the_limit_but_over_it_together_are_all_refused(company_client, company, settings, monkeypatch):
    """#10 item 9: 3 × 150 MB in one POST was accepted; the limit now holds for the request."""
    monkeypatch.setattr("applications.views.file_upload.upload_max_bytes", 100_000)
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    parts = [SimpleUploadedFile(f"p{i}.pdf", PDF_BYTES + b"0" * 40_000) for i in range(3)]
    response = company_client.post(upload_url(app, dt), {"files": parts}, follow=True)
    assert "600" in response.content.decode()
    assert not ApplicationFile.objects.exists()
    assert media_files(settings) == []


@pytest.mark.parametrize(("lang", "total", "single"), [
    ("ru", "Выбранные файлы вместе больше 600 Мб — предела одной загрузки", "Файл больше 600 Мб"),
    ("kk", "Таңдалған файлдар бірге 600 Мб-тан асады (бір жүктеудің шегі)", "Файл 600 Мб-тан асады"),
])
def test_files_over_the_limit_together_are_told_the_total_limit_at_the_field(company_client, company, settings,
                                                                           monkeypatch, lang, total, single):
    """Each file within the limit, together over it: the field says so (the limit of one upload),
    not that a file is larger than 600 MB; one file over the limit still says that."""
    monkeypatch.setattr("applications.views.file_upload.upload_max_bytes", 100_000)
    company_client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    parts = [SimpleUploadedFile(f"p{i}.pdf", PDF_BYTES + b"0" * 40_000) for i in range(3)]
    response = company_client.post(upload_url(app, dt), {"files": parts}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 400
    errors = re.findall(r'<p class="field-error" role="alert">([^<]*)</p>', response.content.decode())
    assert len(errors) == 1 and errors[0].startswith(total)  # at the document field
    response = company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("big.pdf", PDF_BYTES + b"0" * 200_000)},
                                   HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    errors = re.findall(r'<p class="field-error" role="alert">([^<]*)</p>', response.content.decode())
    assert len(errors) == 1 and errors[0].startswith(single)
    assert not ApplicationFile.objects.exists()


def test_service_refuses_a_file_over_600_mb():
    from applications import services

    class Huge(io.BytesIO):
        name = "huge.pdf"
        size = 600 * 1024 * 1024 + 1

    app = ApplicationFactory()
    dt = DocumentTypeFactory(stage=2)
    with pytest.raises(services.ApplicationError) as exc:
        services.file_upload(application=app, document_type=dt, uploaded_file=Huge(PDF_BYTES), actor=None,
                             provider=Provider.COMPANY)
    assert exc.value.code == "too_large"


def test_another_organizations_file_is_404(client, company):
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    owner = UserFactory(organization=company)
    client.force_login(owner)
    client.post(upload_url(app, dt), {"files": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    f = ApplicationFile.objects.get()
    client.force_login(UserFactory())
    assert client.get(reverse("applications:file_download", args=[f.pk])).status_code == 404
    assert client.post(reverse("applications:file_delete", args=[f.pk])).status_code == 404
    assert client.post(upload_url(app, dt), {"files": SimpleUploadedFile("b.pdf", PDF_BYTES)}).status_code == 404
    assert ApplicationFile.objects.count() == 1


def test_no_uploads_or_deletes_once_sent(company_client, company):
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=3)
    company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    app.status = Status.SENT
    app.save()
    company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("b.pdf", PDF_BYTES)})
    f = ApplicationFile.objects.get()
    company_client.post(reverse("applications:file_delete", args=[f.pk]))
    assert ApplicationFile.objects.count() == 1


def test_company_cannot_upload_the_developers_document(company_client, company):
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2, provider=Provider.DEVELOPER)
    company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("a.pdf", PDF_BYTES)})
    assert not ApplicationFile.objects.exists()


def test_a_pdf_named_html_downloads_as_pdf(company_client, company):
    """#10 item 9: the download's name and type follow the sniffed type."""
    app = ApplicationFactory(organization=company)
    dt = DocumentTypeFactory(stage=2)
    company_client.post(upload_url(app, dt), {"files": SimpleUploadedFile("page.html", PDF_BYTES)})
    f = ApplicationFile.objects.get()
    assert "." not in f.file.name.rsplit("/", 1)[-1]  # stored under a bare random name
    response = company_client.get(reverse("applications:file_download", args=[f.pk]))
    assert response["Content-Type"] == "application/pdf" and 'filename="page.pdf"' in response["Content-Disposition"]
