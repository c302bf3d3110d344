"""Issue #10's security suite, the PDF half of «no unescaped payload in any page, e-mail or PDF
text»: hostile values the user typed reach the application and appeal PDFs as text. WeasyPrint
drops a <script> and fetches an <img>, so the payload read back literally by pdftotext proves it
was escaped; no value makes rendering fail."""

import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appeals import services as appeal_services
from appeals.tests.factories import AppealFactory
from applications import services as app_services
from applications.tests.factories import ApplicationFactory
from tests.factories import OrganizationFactory, UserFactory
from tests.test_fuzz import EXAMPLES, HOSTILE, MARKER

pytestmark = [pytest.mark.django_db, pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils")]

# What a form lets through to the database (NUL bytes are dropped at the field, lengths capped).
STORED = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80)).map(lambda s: s.replace("\x00", "")[:900])
PDF_FUZZ = settings(max_examples=max(3, EXAMPLES // 3), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-q", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return "".join(out.split())


@pytest.fixture
def author():
    return UserFactory(organization=OrganizationFactory())


def test_the_marker_is_text_in_the_application_pdf(author):
    application = ApplicationFactory(organization=author.organization, created_by=author, project_name=MARKER)
    assert "".join(MARKER.split()) in _text(app_services.application_document_pdf(application=application, language="ru"))


def test_the_marker_is_text_in_the_appeal_pdf(author):
    appeal = AppealFactory(organization=author.organization, justification=MARKER)
    assert "".join(MARKER.split()) in _text(appeal_services.appeal_pdf(appeal=appeal))


def test_hostile_values_render_in_both_pdfs(author):
    @PDF_FUZZ
    @given(value=STORED, language=st.sampled_from(["ru", "kk"]))
    def run(value, language):
        application = ApplicationFactory(organization=author.organization, created_by=author, project_name=value)
        pdf = app_services.application_document_pdf(application=application, language=language)
        assert pdf.startswith(b"%PDF")
        appeal = AppealFactory(organization=author.organization, justification=value, other_text=value)
        assert appeal_services.appeal_pdf(appeal=appeal, language=language).startswith(b"%PDF")

    run()
