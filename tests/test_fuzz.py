"""Property-based fuzzing of the portal's forms (issue #10, «The security suite»).

Each target page is fetched, its forms' field names and buttons are read from the HTML (so a
new field is fuzzed without editing this file), and hypothesis posts hostile values: NUL, RTL
marks, 100 000 characters, non-ASCII digits, HTML/JS, SQL-looking strings, wrong types (lists
for single fields, empty values), fields left out, unknown fields added. The properties:

- no 5xx, ever;
- the HTML/JS payload never comes back unescaped in a page, nor in the text of an e-mail sent
  by the request (e-mails are plain text: the check is that the markup is not echoed raw into
  an HTML part).

`make test` runs `FUZZ_EXAMPLES` (default 12) examples per target — a few hundred requests in
all; `make fuzz` runs thousands (FUZZ_EXAMPLES=300). docs/security.md.
"""

import json
import os
import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from applications.tests.factories import ApplicationFactory, valid_tab_data
from cabinets.models import Survey, SurveyChoice, SurveyQuestion
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
MARKER = "<script>alert('x9q')</script>"
HOSTILE = [
    "", " ", "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e", "x" * 100_000, "²", "٣٤", "３", "-1", "9" * 40,
    "1e309", "NaN", MARKER, f'"><img src=x onerror=alert(1)>{MARKER}', "' OR 1=1 --", "'; DROP TABLE cabinets_user; --",
    "{{7*7}}", "{% debug %}", "../../etc/passwd", "%00", "\r\nSet-Cookie: x=1", "😀" * 50, "0x1F", "2026-02-30",
    "31.12.9999", "+7 (701) 123-45-67", "KZ86125KZT5004100100", "160340003066",
]
VALUE = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=200))
FIELD_RE = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.I)
BUTTON_RE = re.compile(r'<button\b[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"', re.I)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


def _form_fields(html: str) -> tuple[list[str], list[tuple[str, str]]]:
    names = sorted({n for n in FIELD_RE.findall(html) if n != "csrfmiddlewaretoken"})
    buttons = sorted(set(BUTTON_RE.findall(html)))
    return names, buttons


@st.composite
def _posts(draw, names, buttons):
    data = {}
    for name in names:
        choice = draw(st.integers(0, 9))
        if choice == 0:
            continue  # left out
        data[name] = draw(st.lists(VALUE, min_size=2, max_size=3)) if choice == 1 else draw(VALUE)
    if draw(st.booleans()):
        data[draw(st.sampled_from(["extra", "TOTAL_FORMS", "sh-TOTAL_FORMS", "goto_tab", "tab"]))] = draw(VALUE)
    if buttons:
        name, value = draw(st.sampled_from(buttons))
        data[name] = value
    return data


def _check(response, sent_mail_from: int):
    assert response.status_code < 500, response.status_code
    body = response.content.decode("utf-8", "replace")
    assert MARKER not in body, "an unescaped payload came back in the page"
    for message in mail.outbox[sent_mail_from:]:
        for content, mime in getattr(message, "alternatives", []) or []:
            assert mime != "text/html" or MARKER not in content


def _fuzz_page(client, page_url: str, post_url: str | None = None, extra=None):
    html = client.get(page_url).content.decode()
    names, buttons = _form_fields(html)
    assert names or buttons, f"no form found on {page_url}"

    @FUZZ
    @given(data=_posts(names, buttons))
    def run(data):
        from homeportal import ratelimits

        ratelimits.reset()  # the limits are tested elsewhere; here every example reaches the form
        before = len(mail.outbox)
        response = client.post(post_url or page_url, {**data, **(extra or {})})
        _check(response, before)

    run()


# --- anonymous forms ------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/login/?tab=email", "/login/?tab=bin", "/login/?tab=eds", "/password-reset/",
                                 "/register/"])
def test_public_forms(url):
    _fuzz_page(Client(), url, url.split("?")[0], extra={"tab": url.split("tab=")[-1]} if "tab=" in url else None)


def test_verifier_page_and_api():
    client = Client()

    @FUZZ
    @given(name=VALUE, content=st.binary(max_size=2048), extra=VALUE)
    def run(name, content, extra):
        from homeportal import ratelimits

        ratelimits.reset()
        upload = SimpleUploadedFile((name or "x")[:200].replace("\x00", "") or "x", content)
        _check(client.post("/signing/verify/", {"file": upload, "data": extra}), len(mail.outbox))
        upload.seek(0)
        _check(client.post("/signing/verify/api/", {"file": upload}), len(mail.outbox))

    run()


def test_bpms_webhook_bodies():
    client = Client()

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=2000), st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | VALUE,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(VALUE, children, max_size=4),
        max_leaves=20).map(lambda v: json.dumps(v).encode())), signature=VALUE)
    def run(body, signature):
        response = client.post("/bpms/webhook/", body, content_type="application/json",
                               HTTP_X_BPMS_SIGNATURE=signature)
        _check(response, len(mail.outbox))

    run()


# --- signed-in forms ------------------------------------------------------------------------------

@pytest.fixture
def signed_in(client):
    organization = OrganizationFactory()
    user = UserFactory(organization=organization)
    client.force_login(user)
    return client, organization, user


def test_profile_forms(signed_in):
    client, _org, _user = signed_in
    _fuzz_page(client, "/profile/")


def test_survey_form(signed_in):
    client, _org, _user = signed_in
    survey = Survey.objects.create(title_ru="Анкета", title_kk="Сауалнама")
    q = SurveyQuestion.objects.create(survey=survey, kind="single", text_ru="Оценка", text_kk="Баға", position=1)
    SurveyChoice.objects.create(question=q, text_ru="Отлично", text_kk="Өте жақсы")
    SurveyQuestion.objects.create(survey=survey, kind="text", text_ru="Отзыв", text_kk="Пікір", position=2,
                                  required=False)
    _fuzz_page(client, reverse("cabinets:survey", args=[survey.pk]))


@pytest.mark.parametrize("tab", ["company", "shareholders", "head", "project", "developer"])
def test_wizard_tabs(signed_in, tab):
    client, organization, _user = signed_in
    app = ApplicationFactory(organization=organization, data=valid_tab_data())
    url = reverse("applications:stage", args=[app.public_id, 1])
    _fuzz_page(client, f"{url}?tab={tab}", url, extra={"tab": tab})


def test_wizard_later_stages(signed_in):
    client, organization, _user = signed_in
    app = ApplicationFactory(organization=organization, data=valid_tab_data())
    for stage in (2, 3, 4):
        url = reverse("applications:stage", args=[app.public_id, stage])
        _fuzz_page(client, url)


def test_appeal_tabs(signed_in):
    from appeals.tests.factories import AppealFactory

    client, organization, _user = signed_in
    appeal = AppealFactory(organization=organization)
    url = reverse("appeals:edit", args=[appeal.public_id])
    _fuzz_page(client, url)
