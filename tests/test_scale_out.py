"""Scale-out (issue #18): the portal holds no local state.

Two gunicorn instances, two Celery workers and one beat run as real processes on the suite's
PostgreSQL test database, its Redis and an S3-compatible server (moto), each with its own local
MEDIA_ROOT and temporary directory; the BPMS mock and the NCA stand-in are real processes too.
An appeal and a guarantee application are walked end to end with every request sent to the other
instance in turn (tests/cluster.py `Browser`; the eGov phone and BPMS's webhook go through a
round-robin balancer): logins, plain and resumable (tus) uploads whose PATCHes alternate, ЭЦП
signing (to-sign on one instance, the CMS to the other), eGov QR with polling, the BPMS round trip
(outbox sent by a worker, events by webhook and by the beat's feed pull), KZhK documents issued on
the workers, downloads. Then: every status once, every event applied once, every task run once,
both instances served, and nothing was left in either instance's local media directory.

Runs in `make test` (about a minute of start-up on a loaded machine; docs/architecture.md).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import uuid

import httpx
import pytest
from django.conf import settings as dj_settings
from django.db import connection

from tests.cluster import (
    Balancer,
    Browser,
    celery_beat,
    celery_worker,
    free_port,
    gunicorn,
    log_tails,
    stop_all,
    tasks_in_logs,
    wait_for,
    wait_http,
    wait_worker_ready,
)
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, object_keys, s3_client, storage_settings

# The first test also starts the processes (30-55 s at load 8-14): more than the suite's 300 s.
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

MiB = 1024 * 1024
PASSWORD = "Passw0rd!"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SR_ID = re.compile(r"/signing/r/([0-9a-f-]{36})/")


def big_pdf(size: int) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head))


def database_url(db: dict) -> str:
    """The pytest-django test database as a DATABASE_URL for the processes."""
    from urllib.parse import quote

    auth = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, s3_server, nca_services, _test_pki, tmp_path_factory):
    """The processes, started once for the module. Yields a namespace with the web bases, the
    balancer, the workers, the beat, the mock, the bucket and the per-process var dirs."""
    import types

    from bpms_mock.testing import MockProcess

    base = tmp_path_factory.mktemp("scale-out")
    bucket = f"scale-{uuid.uuid4().hex[:20]}"
    s3_client(s3_server).create_bucket(Bucket=bucket)
    ports = [free_port(), free_port()]
    balancer = Balancer([("127.0.0.1", p) for p in ports])
    mock = MockProcess(base / "bpms-mock.sqlite3", webhook_url=balancer.url + "/bpms/webhook/",
                       webhook_secret=dj_settings.BPMS_WEBHOOK_SECRET).start()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": dj_settings.REDIS_URL, "HOMEPORTAL_TESTING": "1", "DEBUG": "True",
        "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY,
        "S3_REGION": REGION, "S3_ADDRESSING_STYLE": "path", "TUS_S3_PART_SIZE": str(5 * MiB),
        "PKI_DIR": str(_test_pki), "PORTAL_BASE_URL": balancer.url,
        "SIGNING_TSA_URL": nca_services + "/tsp", "SIGNING_OCSP_URL": nca_services + "/ocsp",
        "SIGNING_CRL_BASE_URL": nca_services + "/crl",
        "BPMS_BASE_URL": mock.url, "BPMS_API_TOKEN": "dev-bpms-token",
        "BPMS_WEBHOOK_SECRET": dj_settings.BPMS_WEBHOOK_SECRET, "BPMS_FEED_PULL_SECONDS": "1",
    }
    env.pop("TEST_DATABASE_NAME", None)
    from homeportal.celery import app

    app.control.purge()  # earlier tests' tasks (their rows long gone) must not reach these workers
    procs = []
    try:
        webs = [gunicorn(f"web{i + 1}", port, env=env, base=base) for i, port in enumerate(ports)]
        workers = [celery_worker(f"worker{i + 1}", env=env, base=base) for i in range(2)]
        procs += [*webs, *workers]
        bases = [f"http://127.0.0.1:{p}" for p in ports]
        for url, proc in zip(bases, webs, strict=True):
            wait_http(url + "/livez", proc)
        for proc in workers:
            wait_worker_ready(proc)
        beat = celery_beat("beat", env=env, base=base)
        procs.append(beat)
        yield types.SimpleNamespace(bases=bases, balancer=balancer, webs=webs, workers=workers, beat=beat, mock=mock,
                                    bucket=bucket, endpoint=s3_server, base=base,
                                    logs=lambda: log_tails([*webs, *workers]))
    finally:
        stop_all(procs)
        mock.stop()
        balancer.close()


@pytest.fixture
def on_s3(settings, cluster):
    """The test process reads and writes the same bucket as the instances."""
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(cluster.endpoint, cluster.bucket)}
    settings.BPMS_BASE_URL = cluster.mock.url
    settings.PORTAL_BASE_URL = cluster.balancer.url
    return cluster


@pytest.fixture
def parties(db):
    """The demo УК and developer (the demo keys' BINs), a user of each with a password, and a
    guarantee contract between them."""
    from cabinets.demo import DEMO_COMPANY_BIN, DEMO_DEVELOPER_BIN
    from cabinets.models import LegalEntityRecord
    from signing import pki
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    keys = {k["slug"]: k for k in pki.demo_manifest()["keys"]}
    company = OrganizationFactory(bin=DEMO_COMPANY_BIN, name_ru="ТОО «Демо УК»", name_kk="«Демо УК» ЖШС")
    developer = OrganizationFactory(bin=DEMO_DEVELOPER_BIN, name_ru="ТОО «Демо Застройщик»", kind="developer")
    LegalEntityRecord.objects.get_or_create(bin=DEMO_DEVELOPER_BIN, defaults={"name_ru": "ТОО «Демо Застройщик»"})
    LegalEntityRecord.objects.get_or_create(bin=DEMO_COMPANY_BIN, defaults={
        "name_ru": company.name_ru, "legal_address": "г. Астана, ул. Достык, 13"})
    user = UserFactory(organization=company, email="uk@demo.kz", iin=keys["company_head_sign"]["iin"])
    dev_user = UserFactory(organization=developer, email="dev@demo.kz", iin=keys["developer_head_sign"]["iin"])
    contract = ContractFactory(organization=company, developer=developer, kind="guarantee")
    return {"company": company, "developer": developer, "user": user, "dev_user": dev_user, "contract": contract}


# --- what the browser does ------------------------------------------------------------------------


def login(browser: Browser, bin_: str) -> None:
    assert browser.get("/login/?tab=bin").status_code == 200  # the CSRF cookie
    response = browser.post("/login/", data={"tab": "bin", "bin": bin_, "password": PASSWORD})
    assert response.status_code == 200, response.text[:500]
    assert browser.get("/login/", follow=False).status_code == 302  # signed in, on the other instance too


def login_ecp(browser: Browser, slug: str) -> None:
    """«ЭЦП/QR» → «Войти через ЭЦП»: a challenge bound to this browser's session, signed with the
    AUTH key in the page; the session is found by whichever instance gets the next request."""
    assert browser.get("/login/?tab=eds").status_code == 200
    answer = sign_ecp(browser, sr_of(browser.post("/login/", data={"tab": "eds", "action": "ecp"}, htmx=True)), slug)
    assert browser.get(answer["redirect"]).status_code == 200
    assert browser.get("/login/", follow=False).status_code == 302


def sr_of(response) -> str:
    assert response.status_code == 200, (response.status_code, response.text[:800])
    match = SR_ID.search(response.text)
    assert match, response.text[:800]
    return match.group(1)


def sign_ecp(browser: Browser, sr: str, slug: str) -> dict:
    """The ЭЦП panel's contract: to-sign on one instance, the CMS made with the key in the page,
    posted to the other."""
    from signing import pki
    from signing.tests.helpers import cms_for_contract

    assert browser.post(f"/signing/r/{sr}/", data={"method": "ecp"}, htmx=True).status_code == 200
    contract = browser.post(f"/signing/r/{sr}/ecp/to-sign/", htmx=True)
    assert contract.status_code == 200 and contract.json().get("ok"), contract.text[:500]
    p12, password = pki.demo_key(slug)
    cms = cms_for_contract(contract.json(), p12=p12, password=password)
    answer = browser.post(f"/signing/r/{sr}/ecp/", htmx=True, data={
        "cms": base64.b64encode(cms).decode(), "preparation": contract.json()["preparation"] or ""})
    assert answer.status_code == 200 and answer.json().get("ok"), answer.text[:800]
    return answer.json()


def sign_qr(browser: Browser, sr: str, slug: str) -> str:
    """eGov QR: the window on one instance, the phone (signing.egov_client, what the simulator
    runs) through the balancer, the status polled on both in turn, «Отправить»."""
    from signing import pki
    from signing.egov_client import egov_mobile_sign

    html = browser.post(f"/signing/r/{sr}/", data={"method": "qr"}, htmx=True).text
    qr_text = re.search(r"mobileSign:(http[^\"'<\s&]+)", html).group(0)
    session = re.search(rf"/signing/r/{sr}/qr/(\d+)/status/", html).group(1)
    status = f"/signing/r/{sr}/qr/{session}/status/"
    assert "hx-trigger" in browser.get(status, htmx=True).text  # still waiting: polls again
    p12, password = pki.demo_key(slug)
    result = egov_mobile_sign(qr_text=qr_text, p12=p12, password=password)
    assert result.status == 200 and result.body == "success", (result.status, result.body[:500])
    wait_for(lambda: "hx-trigger" not in browser.get(status, htmx=True).text, timeout=30, message="the QR status")
    done = browser.post(f"/signing/r/{sr}/qr/{session}/send/", htmx=True)
    assert done.status_code == 200 and done.headers.get("HX-Redirect"), (done.status_code, done.text[:500])
    return done.headers["HX-Redirect"]


def tus_upload(browser: Browser, url: str, data: bytes, chunk: int, filename: str) -> str:
    """tus 1.0.0 as the widget does it, each PATCH to the other instance."""
    meta = "filename " + base64.b64encode(filename.encode()).decode()
    created = browser.post(url, headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
                                         "Upload-Metadata": meta}, follow=False)
    assert created.status_code == 201, (created.status_code, created.text[:500])
    location = created.headers["location"]
    path = "/" + location.split("//", 1)[1].split("/", 1)[1] if "://" in location else location
    offset = 0
    while offset < len(data):
        head = browser.request("HEAD", path, headers={"Tus-Resumable": "1.0.0"})
        assert int(head.headers["Upload-Offset"]) == offset
        response = browser.request("PATCH", path, content=data[offset: offset + chunk], headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
        assert response.status_code == 204, (response.status_code, response.text[:500])
        offset = int(response.headers["Upload-Offset"])
    return path


def mock_act(mock, kind: str, public_id, action: str, **form) -> None:
    status, answer = mock.call("POST", "/admin/actions", {"case_kind": kind, "external_id": str(public_id),
                                                          "action": action, **form})
    assert status == 200, answer


def status_of(obj) -> str:
    obj.refresh_from_db()
    return obj.status


# --- the checks after a walk ----------------------------------------------------------------------


def assert_applied_once(case_kind: str, case_id: str, mock) -> None:
    from bpms_bridge.models import AppliedEvent, BpmsCase, OutboxMessage

    case = BpmsCase.objects.get(case_kind=case_kind, case_id=case_id)
    events = [e for e in mock.events(limit=1000) if e.get("external_id") == case_id]
    # an event BPMS emitted on the last message (if any) may still be on its way
    wait_for(lambda: AppliedEvent.objects.filter(case=case).count() >= len(events), timeout=60,
             message=f"{len(events)} events applied")
    applied = list(AppliedEvent.objects.filter(case=case).order_by("case_seq").values_list("case_seq", "outcome"))
    assert [seq for seq, _o in applied] == list(range(1, len(events) + 1))  # each event once, none skipped
    assert {o for _s, o in applied} == {"applied"}
    sources = set(AppliedEvent.objects.filter(case=case).values_list("source", flat=True))
    assert sources <= {"webhook", "feed"} and sources, sources
    messages = OutboxMessage.objects.filter(case_kind=case_kind, case_id=case_id)
    assert messages and all(m.status == "sent" and m.attempts == 1 for m in messages), [
        (m.kind, m.status, m.attempts, m.last_error) for m in messages]


def assert_tasks_ran_once(cluster) -> dict:
    """Every task a worker took was taken by one worker only, once, and succeeded (the beat keeps
    queueing feed pulls: those received so far are waited for)."""
    received = set(tasks_in_logs(cluster.workers)["received"])
    wait_for(lambda: received <= set(tasks_in_logs(cluster.workers)["succeeded"]) | set(
        tasks_in_logs(cluster.workers)["failed"]), timeout=60, message="the tasks in flight")
    seen = tasks_in_logs(cluster.workers)
    twice = {t: w for t, w in seen["received"].items() if len(w) != 1}
    assert not twice, f"tasks received more than once: {twice}"
    assert not seen["failed"], {t: seen["names"][t] for t in seen["failed"]}
    assert all(len(seen["succeeded"][t]) == 1 for t in received)
    return seen


def assert_nothing_local(cluster) -> None:
    """No instance or worker kept a file on its local disk (media or temporary directory)."""
    left = []
    for proc in [*cluster.webs, *cluster.workers]:
        for root, _dirs, files in os.walk(proc.var_dir):
            left += [os.path.join(root, f) for f in files]
    assert not left, left


# --- the walks ------------------------------------------------------------------------------------


def test_an_appeal_end_to_end_across_two_instances(on_s3, parties):
    from appeals.models import OFFICIAL_LETTER, AppealFile, AppealStatus
    from appeals.models import Appeal as AppealModel
    from appeals.tests.factories import CategoryDocumentFactory, CategoryFactory
    from bpms_bridge.models import OutboxMessage

    cluster = on_s3
    S = AppealStatus
    category = CategoryFactory(code="scale-out", contract_kind="guarantee")
    schedule_doc = CategoryDocumentFactory(category=category)
    for base in cluster.bases:  # readiness: database, broker and a storage write (S3) on each
        assert httpx.get(base + "/healthz", timeout=60).status_code == 200
    uk = Browser(cluster.bases, logs=cluster.logs)
    login(uk, parties["company"].bin)

    # Create, fill, upload (plain form; tus with PATCHes on alternating instances), sign by QR.
    created = uk.post("/appeals/new/contract/", follow=False, data={
        "kind": "guarantee", "contract": parties["contract"].pk, "category": category.pk})
    assert created.status_code == 302, created.text[:500]
    appeal = AppealModel.objects.get()
    edit = f"/appeals/{appeal.public_id}/"
    assert uk.get(edit).status_code == 200
    letter_pdf = big_pdf(3 * MiB)  # above FILE_UPLOAD_MAX_MEMORY_SIZE: streamed to the instance's temp dir
    letter = uk.post(edit + "files/", data={"slot": OFFICIAL_LETTER},
                     files={"file": ("letter.pdf", letter_pdf, "application/pdf")})
    assert letter.status_code == 200, letter.text[:500]
    schedule = big_pdf(6 * MiB + 1234)
    tus_upload(uk, f"/uploads/tus/appeal/{appeal.public_id}/{schedule_doc.pk}/", schedule, 2 * MiB, "grafik.pdf")
    files = {f.slot: f for f in AppealFile.objects.filter(appeal=appeal)}
    assert set(files) == {OFFICIAL_LETTER, str(schedule_doc.pk)}
    for f, body in ((files[OFFICIAL_LETTER], letter_pdf), (files[str(schedule_doc.pk)], schedule)):
        download = uk.get(f"{edit}files/{f.pk}/")
        assert download.status_code == 200 and hashlib.sha256(download.content).digest() == hashlib.sha256(body).digest()
    fields = {"change_subject": "Срок ввода в эксплуатацию", "value_from": "31.12.2026", "value_to": "30.06.2027",
              "justification": "Перенос сроков поставки лифтов"}
    assert uk.post(edit, data={"action": "save", **fields}).status_code == 200
    consent = uk.post(edit, data={"action": "sign", **fields})
    assert consent.status_code == 200 and "consent" in consent.text, consent.text[:500]
    sr = sr_of(uk.post(edit + "sign/", data={"consent": "on"}, htmx=True))
    sign_qr(uk, sr, "company_head_sign")
    assert status_of(appeal) == S.SENT

    # BPMS: a worker sends the case; the operator's actions come back by webhook and feed.
    submit = wait_for(lambda: OutboxMessage.objects.filter(case_id=str(appeal.public_id), status="sent").first(),
                      message="the submit sent by a worker", logs=cluster.logs)
    assert submit.kind == "submit"
    executor = {"executor": "Сейткали Нурлан Бахытович"}
    for action, extra in (("register", {}), ("assign", executor), ("revision", {"notes": "Приложите график работ"})):
        mock_act(cluster.mock, "appeal", appeal.public_id, action, **extra)
    wait_for(lambda: status_of(appeal) == S.REVISION, message="«revision» from BPMS", logs=cluster.logs)
    notice = appeal.history.get(status=S.REVISION)  # KZhK's notice, signed where the event was prepared
    for _instance in cluster.bases:
        download = uk.get(f"/appeals/{appeal.public_id}/history/{notice.pk}/download/")
        assert download.status_code == 200 and b"/ByteRange" in download.content

    # The revision loop: signed again (ЭЦП this time) → resubmitted by a worker → reviewed again.
    consent = uk.post(edit, data={"action": "sign", **fields})
    assert consent.status_code == 200, consent.text[:500]
    sign_ecp(uk, sr_of(uk.post(edit + "sign/", data={"consent": "on"}, htmx=True)), "company_head_sign")
    assert status_of(appeal) == S.SENT
    wait_for(lambda: OutboxMessage.objects.filter(case_id=str(appeal.public_id), kind="resubmit", status="sent").exists(),
             message="the resubmission sent by a worker", logs=cluster.logs)
    for action, extra in (("assign", executor), ("approve", {}), ("prepare_ds", {})):
        mock_act(cluster.mock, "appeal", appeal.public_id, action, **extra)
    wait_for(lambda: status_of(appeal) == S.DS_APPLICANT_SIGNING and appeal.ds_file, message="the ДС from BPMS", logs=cluster.logs)

    # The ДС: the УК by ЭЦП, the developer (its own cabinet) by ЭЦП; KZhK signs in BPMS.
    ds = f"/appeals/{appeal.public_id}/ds/"
    assert uk.get(ds).status_code == 200
    project = uk.get(ds + "project/")
    assert project.status_code == 200 and project.content.startswith(b"%PDF")
    sign_ecp(uk, sr_of(uk.post(ds + "sign/", htmx=True)), "company_head_sign")
    developer = Browser(list(reversed(cluster.bases)), logs=cluster.logs)
    login_ecp(developer, "developer_head_auth")
    sign_ecp(developer, sr_of(developer.post(ds + "sign/", htmx=True)), "developer_head_sign")
    assert status_of(appeal) == S.DS_KZHK_SIGNING
    wait_for(lambda: not OutboxMessage.objects.filter(case_id=str(appeal.public_id)).exclude(status="sent").exists(),
             message="the signed ДС sent to BPMS", logs=cluster.logs)
    mock_act(cluster.mock, "appeal", appeal.public_id, "sign_ds")
    wait_for(lambda: status_of(appeal) == S.DS_SIGNED and appeal.ds_signed_file, timeout=90,
             message="KZhK's ДС issued on a worker", logs=cluster.logs)
    signed = uk.get(ds + "download/")
    assert signed.status_code == 200 and b"/ByteRange" in signed.content
    assert uk.get(f"/appeals/{appeal.public_id}/history/").status_code == 200
    export = uk.get(f"/appeals/{appeal.public_id}/history/export/")  # KZhK-signed history PDF
    assert export.status_code == 200 and export.content.startswith(b"%PDF") and b"/ByteRange" in export.content

    statuses = list(appeal.history.filter(event="status").order_by("pk").values_list("status", flat=True))
    assert statuses == [S.SENT, S.REGISTERED, S.IN_REVIEW, S.REVISION, S.SENT, S.IN_REVIEW, S.APPROVED,
                        S.DS_APPLICANT_SIGNING, S.DS_KZHK_SIGNING, S.DS_SIGNED]
    assert_applied_once("appeal", str(appeal.public_id), cluster.mock)
    assert cluster.mock.stats()["cases"] >= 1
    keys = set(object_keys(cluster.endpoint, cluster.bucket))
    assert {f.file.name for f in files.values()} <= keys and appeal.ds_signed_file.name in keys
    seen = assert_tasks_ran_once(cluster)
    ran = {seen["names"][t][0] for t in seen["succeeded"]}
    assert {"bpms_bridge.outbox_send", "bpms_bridge.feed_pull", "appeals.ds_signed_issue"} <= ran, ran
    for browser in (uk, developer):
        assert {b for b, *_ in browser.served} == set(cluster.bases)
        assert not [s for s in browser.served if s[3] >= 500], browser.served
    assert all(cluster.balancer.connections), cluster.balancer.connections
    assert_nothing_local(cluster)


def stage1_posts(data: dict) -> list[dict]:
    """What the browser posts for each tab of stage 1 («Сохранить черновик» on each)."""
    rows = data["shareholders"]
    shareholders = {"sh-TOTAL_FORMS": str(len(rows)), "sh-INITIAL_FORMS": "0", "sh-MIN_NUM_FORMS": "1",
                    "sh-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        shareholders.update({f"sh-{i}-{k}": v for k, v in row.items()})
    return [{"tab": "company", **data["company"]}, {"tab": "shareholders", **shareholders},
            {"tab": "head", **data["head"]}, {"tab": "project", **data["project"]},
            {"tab": "developer", **data["developer"]}]


def test_a_guarantee_application_end_to_end_across_two_instances(on_s3, parties):
    from applications.models import (
        Application,
        ApplicationFile,
        ConsentType,
        DecisionDocument,
        DocumentType,
        Provider,
    )
    from applications.models import Status as A
    from applications.tests.factories import valid_tab_data
    from bpms_bridge.models import OutboxMessage

    cluster = on_s3
    company_doc = DocumentType.objects.create(stage=2, name_ru="Устав организации", name_kk="Ұйымның жарғысы",
                                              provider=Provider.COMPANY)
    developer_doc = DocumentType.objects.create(stage=3, name_ru="Правоустанавливающие документы", name_kk="Құжаттар",
                                                provider=Provider.DEVELOPER)
    company_consent = ConsentType.objects.create(name_ru="Согласие на обработку персональных данных",
                                                 name_kk="Келісім", provider=Provider.COMPANY)
    developer_consent = ConsentType.objects.create(name_ru="Согласие на получение ПСД", name_kk="ЖСҚ келісім",
                                                   provider=Provider.DEVELOPER)
    data = valid_tab_data(developer_bin=parties["developer"].bin, company_bin=parties["company"].bin)
    uk = Browser(cluster.bases, logs=cluster.logs)
    login(uk, parties["company"].bin)

    # The УК: a new application, the five tabs of stage 1, the developer's invitation link.
    created = uk.post("/applications/guarantee/new/", data={"under_contract": "no"}, follow=False)
    assert created.status_code == 302, created.text[:500]
    application = Application.objects.get()
    stage = f"/applications/{application.public_id}/stage/"
    for post in stage1_posts(data):
        saved = uk.post(stage + "1/", data={**post, "action": "save"})
        assert saved.status_code == 200, (post["tab"], saved.text[:500])
    generated = uk.post(stage + "1/", data={"tab": "developer", "action": "generate_link", **data["developer"]})
    invite = re.search(r"/applications/invite/([A-Za-z0-9_-]+)/", generated.text).group(0)

    # The developer: the link, ЭЦП confirmation (to-sign and CMS on different instances), its cabinet.
    developer = Browser(list(reversed(cluster.bases)), logs=cluster.logs)
    assert developer.get(invite).status_code == 200
    sign_ecp(developer, sr_of(developer.post(invite, htmx=True)), "developer_head_sign")
    assert developer.get(invite + "done/").status_code == 200
    application.refresh_from_db()
    assert application.developer_id == parties["developer"].pk

    # Documents: the УК's by the plain form, the developer's by tus (PATCHes alternating).
    charter = big_pdf(3 * MiB)
    uploaded = uk.post(f"/applications/{application.public_id}/documents/{company_doc.pk}/upload/",
                       files={"files": ("ustav.pdf", charter, "application/pdf")})
    assert uploaded.status_code == 200, uploaded.text[:500]
    land_rights = big_pdf(5 * MiB + 3 * MiB // 2)
    tus_upload(developer, f"/uploads/tus/application/{application.public_id}/{developer_doc.pk}/", land_rights,
               2 * MiB, "zemlya.pdf")
    assert uk.post(stage + "3/", data={"tab": "expertise", "action": "save", **data["expertise"]}).status_code == 200
    for record, body, who in ((ApplicationFile.objects.get(document_type=company_doc), charter, developer),
                              (ApplicationFile.objects.get(document_type=developer_doc), land_rights, uk)):
        download = who.get(f"/applications/files/{record.pk}/")
        assert download.status_code == 200 and download.content == body

    # Consents: the УК's signed by QR, the developer's by ЭЦП; then the УК signs the application.
    consents = f"/applications/{application.public_id}/consents/"
    assert uk.post(f"{consents}{company_consent.pk}/form/").status_code == 200
    sign_qr(uk, sr_of(uk.post(f"{consents}{company_consent.pk}/sign/", htmx=True)), "company_head_sign")
    assert developer.post(f"{consents}{developer_consent.pk}/form/").status_code == 200
    sign_ecp(developer, sr_of(developer.post(f"{consents}{developer_consent.pk}/sign/", htmx=True)),
             "developer_head_sign")
    assert uk.get(stage + "4/").status_code == 200
    sign_ecp(uk, sr_of(uk.post(f"/applications/{application.public_id}/sign/", htmx=True)), "company_head_sign")
    assert status_of(application) == A.SENT

    # BPMS: sent by a worker; registered, assigned, approved; the pledge agreement made on a worker.
    wait_for(lambda: OutboxMessage.objects.filter(case_id=str(application.public_id), kind="submit",
                                                  status="sent").exists(), message="the submit sent by a worker", logs=cluster.logs)
    kind = application.definition.bpms_case_kind
    for action, extra in (("register", {}), ("assign", {"executor": "Сейткали Нурлан Бахытович"}), ("approve", {})):
        mock_act(cluster.mock, kind, application.public_id, action, **extra)
    wait_for(lambda: status_of(application) == A.APPROVED, message="«approved» from BPMS", logs=cluster.logs)
    pledge = wait_for(lambda: DecisionDocument.objects.filter(application=application,
                                                              kind=DecisionDocument.Kind.PLEDGE).first(),
                      timeout=90, message="the pledge agreement issued on a worker", logs=cluster.logs)
    assert pledge.state == DecisionDocument.State.TO_SIGN
    decision = f"/applications/{application.public_id}/decision/{pledge.pk}/"
    sign_ecp(uk, sr_of(uk.post(decision + "sign/", htmx=True)), "company_head_sign")
    sign_ecp(developer, sr_of(developer.post(decision + "sign/", htmx=True)), "developer_head_sign")
    pledge.refresh_from_db()
    assert pledge.state == DecisionDocument.State.SIGNED
    wait_for(lambda: not OutboxMessage.objects.filter(case_id=str(application.public_id)).exclude(
        status="sent").exists(), message="every outbox row sent", logs=cluster.logs)
    assert uk.get(decision).status_code == 200
    kinds = set(OutboxMessage.objects.filter(case_id=str(application.public_id)).values_list("kind", flat=True))
    assert {"submit", "signed_document"} <= kinds, kinds
    assert uk.get(f"/applications/{application.public_id}/history/").status_code == 200
    export = uk.get(f"/applications/{application.public_id}/history/export/")
    assert export.status_code == 200 and export.content.startswith(b"%PDF") and b"/ByteRange" in export.content

    statuses = list(application.history.filter(event="status").order_by("pk").values_list("status", flat=True))
    assert statuses[:4] == [A.SENT, A.REGISTERED, A.IN_REVIEW, A.APPROVED], statuses
    assert len(statuses) == len(set(statuses)), statuses
    assert_applied_once(kind, str(application.public_id), cluster.mock)
    keys = set(object_keys(cluster.endpoint, cluster.bucket))
    assert {f.file.name for f in ApplicationFile.objects.filter(application=application)} <= keys
    seen = assert_tasks_ran_once(cluster)
    ran = {seen["names"][t][0] for t in seen["succeeded"]}
    assert {"bpms_bridge.outbox_send", "bpms_bridge.feed_pull", "applications.status_document_issue"} <= ran, ran
    for browser in (uk, developer):
        assert {b for b, *_ in browser.served} == set(cluster.bases)
        assert not [s for s in browser.served if s[3] >= 500], browser.served
    assert_nothing_local(cluster)
