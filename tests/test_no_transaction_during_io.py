"""No transaction is held across PDF rendering, signing, storage writes or network I/O.

The fixture wraps WeasyPrint's renderer, pyHanko's signing (`signing.pdf._off_event_loop`,
which every PAdES signature goes through), the default storage's `_save` and httpx's
`Client.send`, and records whether an atomic block was open at each call. Each test drives one
path end to end — the BPMS webhook, the feed pull, KZhK's moderation and a party's signature —
and asserts that the I/O happened and that none of it happened inside a transaction. The tests
are transactional (no test-wide atomic block), so `connection.in_atomic_block` is the truth.
"""

import base64
import functools

import httpx
import pytest
import respx
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.urls import reverse

from applications import services as app_services
from applications.models import DecisionDocument, Status
from applications.tests.conftest import company, company_user, registry  # noqa: F401 — fixtures
from applications.tests.test_workflow import WORKING, catalogue, complete_application  # noqa: F401 — fixture
from bpms_bridge import services as bridge
from bpms_bridge.contract import webhook_request
from bpms_bridge.models import AppliedEvent
from cabinets.models import User

pytestmark = pytest.mark.django_db(transaction=True)

BPMS = "http://bpms.test"


@pytest.fixture
def io_calls(monkeypatch):
    """[(kind, in_atomic_block)] of every PDF render, PDF signature, storage write and HTTP call."""
    import weasyprint

    import signing.pdf

    calls: list[tuple[str, bool]] = []

    def watch(kind, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls.append((kind, connection.in_atomic_block))
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", watch("pdf render", weasyprint.HTML.write_pdf))
    monkeypatch.setattr(signing.pdf, "_off_event_loop", watch("pdf signature", signing.pdf._off_event_loop))
    storage_class = type(storages["default"])
    monkeypatch.setattr(storage_class, "_save", watch("storage write", storage_class._save))
    monkeypatch.setattr(httpx.Client, "send", watch("http", httpx.Client.send))
    return calls


@pytest.fixture
def bpms(settings):
    """BPMS Simbase over HTTP, answered by respx (the client's real httpx code runs)."""
    settings.BPMS_BASE_URL = BPMS
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with respx.mock(base_url=BPMS, assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()  # the NCA stand-in (TSA, OCSP, CRLs) is real
        router.post("/api/messages").mock(return_value=httpx.Response(
            201, json={"case_id": "SB-2026-000001", "message_id": 1, "duplicate": False, "created": True, "applied": True}))
        yield router


def assert_outside_transactions(calls, *expected):
    inside = [kind for kind, in_atomic in calls if in_atomic]
    assert not inside, f"called inside a transaction: {inside}"
    assert set(expected) <= {kind for kind, _ in calls}, f"the path did not do {set(expected)}: {calls}"


def sent_application(company, company_user, catalogue):  # noqa: F811
    app, _developer = complete_application(company, company_user, catalogue)
    app_services.application_signed(application=app, actor=company_user)
    app.refresh_from_db()
    assert app.status == Status.SENT
    return app


def notice_pdf() -> str:
    from signing.pdf import pdf_render

    return base64.b64encode(pdf_render(template_name="signing/pdf/base.html", context={})).decode()


def events_for(app, statuses, *, first_seq=1, documents=None):
    return [{
        "seq": first_seq + i, "case_seq": i + 1, "case_id": "SB-2026-000001", "case_kind": "application",
        "external_id": str(app.public_id), "status": status, "occurred_at": f"2026-11-2{i + 1}T10:00:00+05:00",
        "payload": {"registration_number": "01-00001/26", "registered_at": "2026-11-18T12:00:00+05:00"}
        if status == Status.REGISTERED else ({"reason": "Неполный пакет"} if status == Status.REJECTED else {}),
        "documents": (documents or {}).get(status, []),
    } for i, status in enumerate(statuses)]


def test_webhook_path(client, company, company_user, registry, catalogue, io_calls, bpms):  # noqa: F811
    app = sent_application(company, company_user, catalogue)
    io_calls.clear()
    body, headers = webhook_request(secret=settings.BPMS_WEBHOOK_SECRET, events=events_for(
        app, [Status.REGISTERED, Status.IN_REVIEW, Status.APPROVED]))
    response = client.post(reverse("bpms_bridge:webhook"), data=body, content_type="application/json",
                           HTTP_X_BPMS_SIGNATURE=headers["X-BPMS-Signature"])
    assert response.json() == {"results": ["queued", "queued", "queued"]}  # applied by the worker's task (eager)
    assert set(AppliedEvent.objects.values_list("outcome", flat=True)) == {"applied"}
    # The pledge agreement is rendered by its task once «approved» committed (eager here).
    assert DecisionDocument.objects.get(application=app).kind == DecisionDocument.Kind.PLEDGE
    assert_outside_transactions(io_calls, "pdf render", "storage write")


def test_feed_path(company, company_user, registry, catalogue, io_calls, bpms):  # noqa: F811
    app = sent_application(company, company_user, catalogue)
    notice = {"name": "otkaz.pdf", "content_type": "application/pdf", "data_b64": notice_pdf()}
    feed = events_for(app, [Status.REGISTERED, Status.IN_REVIEW, Status.REJECTED], first_seq=10,
                      documents={Status.REJECTED: [notice]})
    bpms.get("/api/events").mock(side_effect=lambda request: httpx.Response(200, json={
        "events": [e for e in feed if e["seq"] > int(request.url.params["after"])], "last_seq": 12}))
    io_calls.clear()
    assert bridge.feed_pull() == 3
    assert set(AppliedEvent.objects.values_list("outcome", flat=True)) == {"applied"}
    app.refresh_from_db()
    assert app.status == Status.REJECTED
    assert_outside_transactions(io_calls, "http", "pdf signature", "storage write")


def test_moderation_path(company, company_user, registry, catalogue, io_calls, bpms):  # noqa: F811
    app, _developer = complete_application(company, company_user, catalogue)
    app_services.application_send_to_moderation(application=app, actor=company_user, now=WORKING)
    moderator = User.objects.create_user("moderator-io", "pw", is_staff=True)
    io_calls.clear()
    app_services.moderation_decide(application=app, moderator=moderator,
                                   items=[{"name": "Устав", "ok": False, "remark": "Нет последней страницы"}])
    app.refresh_from_db()
    assert app.status == Status.REVISION
    assert_outside_transactions(io_calls, "pdf render", "pdf signature", "storage write")


def test_signing_path(client, company, company_user, registry, catalogue, io_calls, bpms):  # noqa: F811
    """A party signs the pledge agreement (ЭЦП): CMS + PAdES, the callback, the outbox send."""
    from signing import pki
    from signing.models import SigningRequest
    from signing.tests.helpers import signing_request_sign_with_key

    app = sent_application(company, company_user, catalogue)
    doc = app_services.decision_document_add(application=app, kind=DecisionDocument.Kind.PLEDGE, title="Договор залога",
                                             data=base64.b64decode(notice_pdf()), filename="pledge.pdf")
    client.force_login(company_user)
    assert client.post(reverse("applications:decision_sign", args=[app.public_id, doc.pk])).status_code == 200
    p12, password = pki.demo_key("company_head_sign")
    io_calls.clear()
    signing_request_sign_with_key(signing_request=SigningRequest.objects.latest("id"), p12=p12, password=password)
    assert_outside_transactions(io_calls, "pdf signature")
    # The outbox message the first signature wrote is sent after commit, outside any transaction.
    assert all(not inside for kind, inside in io_calls if kind == "http")


def test_the_guard_sees_a_transaction():
    """The fixture can fail: I/O inside atomic() is caught."""
    from django.db import transaction

    calls = []
    with transaction.atomic():
        calls.append(("storage write", connection.in_atomic_block))
    with pytest.raises(AssertionError, match="inside a transaction"):
        assert_outside_transactions(calls, "storage write")


def test_webhook_path_of_an_appeal(client, io_calls, bpms):
    """Appeals: KZhK signs the revision notice and the bridge stores it before its transaction;
    the ДС to sign arrives the same way."""
    from appeals.models import AppealStatus
    from appeals.tests.factories import AppealFactory

    appeal = AppealFactory(status=AppealStatus.IN_REVIEW)
    notice = {"name": "zamechaniya.pdf", "content_type": "application/pdf", "data_b64": notice_pdf()}
    events = [{
        "seq": 50, "case_seq": 1, "case_id": "SB-2026-000002", "case_kind": "appeal", "external_id": str(appeal.public_id),
        "status": AppealStatus.REVISION, "occurred_at": "2026-11-23T10:00:00+05:00",
        "payload": {"notes": "Приложите расчёт", "deadline": "2026-11-30T19:00:00+05:00"}, "documents": [notice],
    }]
    io_calls.clear()
    body, headers = webhook_request(secret=settings.BPMS_WEBHOOK_SECRET, events=events)
    response = client.post(reverse("bpms_bridge:webhook"), data=body, content_type="application/json",
                           HTTP_X_BPMS_SIGNATURE=headers["X-BPMS-Signature"])
    assert response.json() == {"results": ["queued"]}  # applied by the worker's task (eager)
    appeal.refresh_from_db()
    step = appeal.history.filter(status=AppealStatus.REVISION).get()
    assert b"/ByteRange" in step.document.read()  # KZhK's signature, stored ahead
    assert_outside_transactions(io_calls, "pdf signature", "storage write")
