"""homeportal/uploads.py: the per-view limit holds even though CSRF middleware parses the body
before the view runs, nothing partial is left, and types are decided by content."""

import io
import os
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from homeportal.uploads import sniff_kind

pytestmark = [pytest.mark.urls("tests.upload_urls"), pytest.mark.django_db]


def _csrf_client():
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "a" * 32
    return client


def test_view_limit_applies_before_csrf_reads_the_body(tmp_path, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client = _csrf_client()
    big = SimpleUploadedFile("big.pdf", b"%PDF-1.4\n" + b"x" * 5000)
    # The token comes AFTER the file: the too-large file is skipped, the rest is still parsed.
    response = client.post("/small/", {"file": big, "csrfmiddlewaretoken": "a" * 32})
    assert response.status_code == 200, response.content
    assert response.json() == {"too_large": True, "files": []}
    assert os.listdir(tmp_path) == []  # no partial temporary file remains


def test_a_file_under_the_limit_arrives(settings):
    client = _csrf_client()
    small = SimpleUploadedFile("small.pdf", b"%PDF-1.4\n" + b"x" * 100)
    response = client.post("/small/", {"csrfmiddlewaretoken": "a" * 32, "file": small})
    assert response.json() == {"too_large": False, "files": ["file"]}


def test_the_limit_holds_for_all_files_of_one_request_together(tmp_path, settings):
    """#10 item 9: files each under the limit, together over it, in one POST."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client = _csrf_client()
    parts = [SimpleUploadedFile(f"p{i}.pdf", b"%PDF-1.4\n" + b"x" * 390) for i in range(3)]  # 3 × 399 B, limit 1000
    response = client.post("/small/", {"csrfmiddlewaretoken": "a" * 32, "file": parts})
    assert response.json()["too_large"] is True
    assert os.listdir(tmp_path) == []
    two = [SimpleUploadedFile(f"p{i}.pdf", b"%PDF-1.4\n" + b"x" * 390) for i in range(2)]
    assert client.post("/small/", {"csrfmiddlewaretoken": "a" * 32, "file": two}).json()["too_large"] is False


def test_views_without_a_declared_limit_use_the_global_one(settings):
    settings.UPLOAD_MAX_BYTES = 2000
    client = _csrf_client()
    response = client.post("/default/", {"csrfmiddlewaretoken": "a" * 32,
                                          "file": SimpleUploadedFile("a.pdf", b"%PDF" + b"x" * 3000)})
    assert response.json()["too_large"] is True


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"%PDF-1.7\n%...", "pdf"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "image"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 32, "image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32, "office"),
    ],
)
def test_sniff_kind_by_content(content, kind):
    assert sniff_kind(io.BytesIO(content)).code == kind


def test_sniff_kind_tells_docx_from_zip_and_rejects_executables():
    docx, plain_zip = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("readme.txt", "hi")
    assert sniff_kind(docx).code == "office"
    assert sniff_kind(plain_zip).code == "archive"
    assert sniff_kind(io.BytesIO(b"MZ\x90\x00" + b"\x00" * 60)) is None  # a Windows executable named .pdf
    assert sniff_kind(io.BytesIO(b"just text")) is None


def test_sniff_head_decides_from_the_first_bytes_alone():
    from homeportal.uploads import sniff_head

    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<t/>")
        z.writestr("word/document.xml", "<w/>")
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("readme.txt", "hi")
    assert sniff_head(docx.getvalue()[:8192]).code == "office"
    assert sniff_head(plain.getvalue()).code == "archive"
    assert sniff_head(b"%PDF-1.7\n").code == "pdf"
    assert sniff_head(b"MZ\x90\x00" + b"\x00" * 60) is None
