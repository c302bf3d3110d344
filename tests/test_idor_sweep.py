"""The IDOR sweep (issue #10, «The security suite»): every URL pattern of the resolver that takes
an id, a uuid or a token is requested with GET and POST, filled with the records of organization
A (the УК, with developer D on its application), as

- another organization X (a signed-in cabinet user): 404;
- an anonymous browser: 404, or the login redirect of a `login_required` page (it names nothing),
  or 403 where Django's CSRF check answers a POST first;
- the other party D of the same application, for POSTs that act on the УК's part (its consent,
  its document slot, its file, the АВР return, its buttons): 404 (item 7).

The patterns are enumerated from the resolver, not listed: a new URL with a parameter fails
`test_every_parameter_has_a_value` until the sweep knows a value for it, and is then covered.
`PUBLIC_BY_DESIGN` names the few capability URLs (unguessable tokens handed to a phone, an
e-mail or a QR reader) and public resources, each with its reason.
"""

import uuid

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from applications import services as app_services
from applications.models import ApplicationFile, ApplicationHistory, DecisionDocument, Provider
from applications.tests.conftest import company, company_user, registry  # noqa: F401 — fixtures
from applications.tests.factories import PDF_BYTES
from applications.tests.test_workflow import catalogue, complete_application  # noqa: F401 — fixture
from cabinets.models import Notification, Survey
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

# Reachable by whoever holds the link, by design (docs/security.md «Threat model»).
PUBLIC_BY_DESIGN = {
    "signing:egov_api1": "eGov mobile API 1: the phone holds only the QR's one-time token",
    "signing:egov_api2": "eGov mobile API 2: the token and the bearer from API 1",
    "signing:pki_status": "test PKI certificate status by serial (public, like an OCSP responder)",
    "signing:pki_file": "test PKI certificates and CRLs (public)",
    "signing:verify_report": "the verifier's report PDF: a UUID link handed to whoever verified the file",
    "applications:invitation": "the developer's invitation link (60-bit token, hashed, single use)",
    "applications:invitation_done": "after the invitation's ЭЦП: only the browser that started it is signed in",
    "dev:demo_key": "the test PKI's demo key files, only with DEBUG (the dev outbox's demo page)",
    "cabinets:survey": "surveys are published to every cabinet (answers are per organization)",
}

# Rewrite the address without looking anything up; the target is swept on its own.
ADDRESS_REWRITES = {"applications:legacy": "old /applications/guarantee/<uuid>/… addresses → 301/308"}


def _patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            yield from _patterns(entry, f"{ns}" if entry.namespace else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            params = list(getattr(entry.pattern, "converters", {}) or {}) or list(entry.pattern.regex.groupindex)
            params = [p for p in params if p not in (entry.default_args or {})]
            if params:
                yield (f"{namespace}:{entry.name}" if namespace else entry.name), params


@pytest.fixture
def world(company, company_user, registry, catalogue, client):  # noqa: F811
    """Organization A's records, one of each kind a URL can name."""
    from appeals.models import AppealFile, AppealHistory
    from appeals.tests.factories import AppealFactory
    from signing import services as signing_services
    from signing.models import Signature, SignedDocument

    app, developer_user = complete_application(company, company_user, catalogue)
    avr = app_services.decision_document_add(application=app, kind=DecisionDocument.Kind.AVR, title="АВР №1",
                                             data=PDF_BYTES, filename="avr.pdf")
    company_file = ApplicationFile.objects.get(application=app, document_type=catalogue["company_doc"])
    history = ApplicationHistory.objects.filter(application=app).first()
    appeal = AppealFactory(organization=company)
    appeal_file = AppealFile.objects.create(appeal=appeal, file=ContentFile(PDF_BYTES, name="a.pdf"),
                                            original_name="a.pdf", size=len(PDF_BYTES), content_type="application/pdf")
    appeal_step = AppealHistory.objects.create(appeal=appeal, event=AppealHistory.Event.CREATED,
                                               document=ContentFile(PDF_BYTES, name="h.pdf"), document_name="h.pdf")
    sr = signing_services.signing_request_create(
        subject=app, document=PDF_BYTES, filename="a.pdf", title_ru="Заявка", organization=company,
        on_complete="applications:application_signed", return_url="/", signer_user=company_user)
    qr = signing_services.qr_session_create(signing_request=sr)
    notification = Notification.objects.create(organization=company, title_ru="Т", title_kk="Т")
    survey = Survey.objects.create(title_ru="Опрос", title_kk="Сауалнама")
    signed_document = SignedDocument.objects.get(pk=avr.signed_document_id)
    signature = Signature.objects.filter(organization=company).first()
    from uploads.models import ResumableUpload

    upload = ResumableUpload.objects.create(
        user=company_user, organization=company, target="application", owner_public_id=app.public_id,
        slot=str(catalogue["company_doc"].pk), filename="x.pdf", length=10, backend="fs", storage_name="x",
        expires_at=app.created_at + __import__("datetime").timedelta(days=1))
    values = {
        "applications": {"public_id": app.public_id, "stage": 4, "document_type_id": catalogue["company_doc"].pk,
                         "consent_type_id": catalogue["company_consent"].pk, "entry_id": history.pk,
                         "document_id": avr.pk, "file_id": company_file.pk, "token": "x" * 10, "rest": "stage/1/"},
        "appeals": {"public_id": appeal.public_id, "file_id": appeal_file.pk, "step_id": appeal_step.pk},
        "signing": {"public_id": sr.public_id, "session_id": qr.pk, "token": "t" * 24, "serial": "01",
                    "name": "ca.pem"},
        "signing:verify_report": {"public_id": uuid.uuid4()},
        "signing:signature_cms": {"public_id": signature.public_id if signature else uuid.uuid4()},
        "signing:signature_pdf": {"public_id": signature.public_id if signature else uuid.uuid4()},
        "signing:document_download": {"public_id": signed_document.public_id},
        "cabinets": {"pk": notification.pk},
        "cabinets:survey": {"pk": survey.pk},
        "dev": {"slug": "company_head_auth"},
        "admin": {"object_id": 1, "id": 1, "content_type_id": 1, "app_label": "cabinets", "pk": 1, "file_id": 1},
        "uploads": {"kind": "application", "owner_public_id": app.public_id, "slot": str(catalogue["company_doc"].pk),
                    "upload_id": upload.pk},
    }
    return {"app": app, "developer_user": developer_user, "values": values, "avr": avr, "catalogue": catalogue,
            "company_file": company_file, "has_signature": signature is not None}


def _url(world, name, params):
    values = world["values"]
    ns = name.split(":")[0]
    kwargs = {}
    for p in params:
        for source in (values.get(name, {}), values.get(ns, {})):
            if p in source:
                kwargs[p] = source[p]
                break
        else:
            return None
    return reverse(name, kwargs=kwargs)


def test_every_parameter_has_a_value(world):
    missing = [(name, params) for name, params in _patterns() if _url(world, name, params) is None]
    assert not missing, f"the IDOR sweep has no value for these patterns (add one to `world`): {missing}"


def _swept():
    return sorted(_patterns())


TUS = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_OFFSET": "0"}


def _request(client, method, name, url):
    extra = TUS if name.startswith("uploads:") else {}
    return getattr(client, method)(url, **extra)


def _refused(name, method, response, *, anonymous=False) -> bool:
    if name in ADDRESS_REWRITES:
        return response.status_code in (301, 308) or (anonymous and response.status_code == 403)
    if anonymous and method == "post" and response.status_code == 403:  # Django's CSRF check first
        return True
    if anonymous and name.startswith("uploads:") and response.status_code == 403:
        return True  # the tus API answers 403 to anonymous before any lookup (names nothing)
    if name.startswith("admin:"):  # KZhK staff only: everyone else is sent to the admin login
        return response.status_code == 302 and response.url.startswith(reverse("admin:login"))
    if response.status_code in (404, 405):
        return True
    return anonymous and response.status_code == 302 and response.url.startswith(reverse("cabinets:login"))


def test_another_organization_gets_404_everywhere(world):
    outsider = UserFactory(organization=OrganizationFactory())
    client = Client()
    client.force_login(outsider)
    answers = {}
    for name, params in _swept():
        url = _url(world, name, params)
        if name in PUBLIC_BY_DESIGN or url is None:
            continue
        for method in ("get", "post"):
            response = _request(client, method, name, url)
            if not _refused(name, method, response):
                answers[(name, method, url)] = response.status_code
    assert not answers, f"another organization reached A's records: {answers}"
    assert len(list(_swept())) >= 30


def test_anonymous_gets_404_or_the_login_page(world):
    client = Client(enforce_csrf_checks=True)
    answers = {}
    for name, params in _swept():
        url = _url(world, name, params)
        if name in PUBLIC_BY_DESIGN or url is None:
            continue
        for method in ("get", "post"):
            response = _request(client, method, name, url)
            if not _refused(name, method, response, anonymous=True):
                answers[(name, method, url)] = response.status_code
    assert not answers, f"an anonymous browser reached A's records: {answers}"


# The other party's POSTs that are theirs by design: each is checked for what it must not change.
# Reads are the application's, shared by both parties (history, files, consents as PDF); the
# write endpoints are those that refuse a GET, plus the ones whose GET is only the form.
WRITES_WITH_A_FORM = {"applications:avr_return"}
SHARED_WITH_THE_DEVELOPER = {
    "applications:stage": "the developer's own stage-3 documents and navigation; the УК's tabs are not saved",
    "applications:decision_sign": "pledge agreements and АВР are signed by both parties",
    "applications:developer_lookup": "a registry lookup, writes nothing",
}


def test_the_developer_cannot_post_on_the_company_part(world):
    """Item 7: as the developer, POST to every application URL with the УК's ids."""
    app, developer_user = world["app"], world["developer_user"]
    client = Client()
    client.force_login(developer_user)
    data_before = dict(app.data)
    files_before = ApplicationFile.objects.filter(application=app).count()
    answers, writes = {}, []
    for name, params in _swept():
        if not name.startswith("applications:") or name in PUBLIC_BY_DESIGN or name in SHARED_WITH_THE_DEVELOPER:
            continue
        url = _url(world, name, params)
        get = client.get(url).status_code
        if get not in (404, 405) and name not in WRITES_WITH_A_FORM:
            continue  # a read of the shared application
        writes.append(name)
        status = client.post(url, {"comment": "Верните", "action": "save"}).status_code
        if status not in (404, 405) or (name in WRITES_WITH_A_FORM and get != 404):
            answers[(name, url)] = (get, status)
    # the shared ones: the stage POST of a УК tab stores nothing
    for tab in ("company", "developer"):
        client.post(reverse("applications:stage", args=[app.public_id, 1]),
                    {"tab": tab, "action": "save", "company-name_ru": "Захвачено", "developer-bin": "000000000000"})
    app.refresh_from_db()
    world["avr"].refresh_from_db()
    assert not answers, f"the developer acted on the УК's part: {answers}"
    assert {"applications:consent_form", "applications:avr_return", "applications:upload",
            "applications:file_delete", "applications:sign", "applications:send_to_moderation"} <= set(writes)
    assert app.data == data_before
    assert ApplicationFile.objects.filter(application=app).count() == files_before
    assert world["avr"].state == DecisionDocument.State.TO_SIGN


def test_the_company_cannot_post_on_the_developer_part(world, company_user):  # noqa: F811
    app, types = world["app"], world["catalogue"]
    client = Client()
    client.force_login(company_user)
    developer_file = ApplicationFile.objects.get(application=app, document_type=types["developer_doc"])
    for url in (  # (the УК may form the developer's consent: it sends the developer its signing link)
        reverse("applications:consent_sign", args=[app.public_id, types["developer_consent"].pk]),
        reverse("applications:file_delete", args=[developer_file.pk]),
        reverse("applications:upload", args=[app.public_id, types["developer_doc"].pk]),
    ):
        assert client.post(url).status_code == 404, url
    assert ApplicationFile.objects.filter(pk=developer_file.pk).exists()
    assert types["developer_doc"].provider == Provider.DEVELOPER
