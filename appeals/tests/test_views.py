"""The cabinet pages: list (filter, search, pagination, query count), create, edit, uploads,
signing consent, history, ДС, and 404 for everything of another organization."""

import io
import os
import re
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appeals import services, views
from appeals.models import OFFICIAL_LETTER, Appeal, AppealFile, AppealStatus
from appeals.services import Document
from appeals.transitions import Actor
from tests.factories import ContractFactory, OrganizationFactory

from .factories import AppealFactory, CategoryDocumentFactory, CategoryFactory

S = AppealStatus
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def pdf_upload(name="letter.pdf", content=PDF):
    f = io.BytesIO(content)
    f.name = name
    return f


@pytest.fixture
def appeal(cabinet_user):
    return AppealFactory(organization=cabinet_user.organization, created_by=cabinet_user)


@pytest.mark.django_db
def test_list_shows_columns_and_constant_query_count(cabinet_client, cabinet_user, settings):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's queries, not a page cache hit's
    org = cabinet_user.organization
    AppealFactory(organization=org)
    url = reverse("appeals:list")
    cabinet_client.get(url)  # warm-up (session, translations)
    with CaptureQueriesContext(connection) as one:
        response = cabinet_client.get(url)
    for _i in range(6):
        AppealFactory(organization=org, status=S.REGISTERED, registration_number="R-7")
    with CaptureQueriesContext(connection) as seven:
        response = cabinet_client.get(url)
    assert len(one) == len(seven), [q["sql"] for q in seven]
    html = response.content.decode()
    for header in ["№ и дата регистрации", "Номер договора", "Дата договора", "Категория корректировки",
                   "Статус заявки", "История заявки", "Действия", "Создать обращение", "Найти"]:
        assert header in html
    assert html.count("Подробнее") == 7
    assert "Заявка зарегистрирована" in html and "На создании" in html


@pytest.mark.django_db
def test_list_filter_search_and_pagination(cabinet_client, cabinet_user, monkeypatch):
    org = cabinet_user.organization
    a = AppealFactory(organization=org, status=S.REGISTERED, registration_number="КЖК-555")
    b = AppealFactory(organization=org, contract=ContractFactory(organization=org, number="ДЛГ-99-XYZ"))
    c = AppealFactory(organization=org, category=CategoryFactory(code="srok", name_ru="Продление срока строительства"))
    other = AppealFactory(registration_number="КЖК-555")  # another organization's
    url = reverse("appeals:list")

    def ids(response):
        return {row["appeal"].pk for row in response.context["rows"]}

    assert ids(cabinet_client.get(url)) == {a.pk, b.pk, c.pk}
    assert ids(cabinet_client.get(url, {"status": "registered"})) == {a.pk}
    assert ids(cabinet_client.get(url, {"q": "КЖК-555"})) == {a.pk}
    assert ids(cabinet_client.get(url, {"q": "99-xyz"})) == {b.pk}
    assert ids(cabinet_client.get(url, {"q": "продление"})) == {c.pk}
    assert other.pk not in ids(cabinet_client.get(url, {"q": "КЖК"}))
    assert cabinet_client.get(url, {"status": "bogus"}).status_code == 200
    monkeypatch.setattr("homeportal.pagination.PAGE_SIZE", 2)
    page2 = cabinet_client.get(url, {"page": 2})
    assert len(page2.context["rows"]) == 1 and page2.context["rows"][0]["n"] == 3


@pytest.mark.django_db
def test_create_flow_type_contract_category(cabinet_client, cabinet_user):
    org = cabinet_user.organization
    contract = ContractFactory(organization=org, kind="guarantee")
    ContractFactory(organization=org, kind="subsidy", number="SUB-1")
    foreign = ContractFactory()
    html = cabinet_client.get(reverse("appeals:new")).content.decode()
    assert "Выберите тип обращения" in html and "Уважаемый клиент!" in html and "+7 7172 79 75 75" in html
    assert "действующих договоров гарантирования долевого жилищного строительства" in html
    assert "О долевом участии в жилищном строительстве" in html
    html = cabinet_client.get(reverse("appeals:new"), {"kind": "subsidy"}, HTTP_HX_REQUEST="true").content.decode()
    assert "действующих договоров субсидирования" in html and 'class="modal-backdrop"' in html
    step2 = cabinet_client.get(reverse("appeals:new_contract"), {"kind": "guarantee"})
    html = step2.content.decode()
    assert "Вернуться назад" in html and "1. Выберите договор, по которому подается обращение в АО «КЖК»" in html
    assert "Иное" in html and contract.number in html and "SUB-1" not in html
    # Another organization's contract is refused at the field.
    other = CategoryFactory(code="other")
    response = cabinet_client.post(reverse("appeals:new_contract"),
                                   {"kind": "guarantee", "contract": foreign.pk, "category": other.pk})
    assert response.status_code == 400 and not Appeal.objects.exists()
    response = cabinet_client.post(reverse("appeals:new_contract"),
                                   {"kind": "guarantee", "contract": contract.pk, "category": other.pk})
    appeal = Appeal.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("appeals:edit", args=[appeal.public_id])
    assert appeal.status == S.DRAFT and appeal.organization == org and appeal.kind == "guarantee"
    # With htmx the modal answers a client-side redirect.
    response = cabinet_client.post(reverse("appeals:new_contract"),
                                   {"kind": "guarantee", "contract": contract.pk, "category": other.pk},
                                   HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/appeals/")


@pytest.mark.django_db
def test_edit_page_save_draft_and_required_fields(cabinet_client, appeal):
    url = reverse("appeals:edit", args=[appeal.public_id])
    html = cabinet_client.get(url).content.decode()
    for text in ["Информация о договоре", "Подтверждающие документы", "Сохранить черновик", "Подписать заявку",
                 appeal.contract.number, "9.30 до 19.00", "скан-копия официального письма-обращения"]:
        assert text in html
    assert 'class="req"' in html
    response = cabinet_client.post(url, {"action": "save", "change_subject": "", "value_from": "a", "value_to": "",
                                         "justification": ""})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.value_from == "a" and appeal.change_subject == ""
    # Signing an incomplete appeal: the messages are at the fields, what was typed is kept.
    response = cabinet_client.post(url, {"action": "sign", "change_subject": "Срок", "value_from": "a",
                                         "value_to": "", "justification": ""})
    assert response.status_code == 400
    form = response.context["form"]
    assert "value_to" in form.errors and "justification" in form.errors
    assert form["change_subject"].value() == "Срок"


@pytest.mark.django_db
def test_official_letter_is_required(cabinet_client, appeal):
    doc = CategoryDocumentFactory(category=appeal.category)
    url = reverse("appeals:edit", args=[appeal.public_id])
    data = {"action": "sign", "change_subject": "Срок", "value_from": "a", "value_to": "b", "justification": "c"}
    response = cabinet_client.post(url, data)
    assert response.status_code == 400
    slots = {s["key"]: s for s in response.context["slots"]}
    assert slots[OFFICIAL_LETTER]["error"] and slots[str(doc.pk)]["error"]
    assert "Загрузите скан-копию официального письма-обращения" in response.content.decode()
    assert response.context["consent_form"] is None
    with pytest.raises(services.AppealError):
        services.appeal_sign_start(appeal=appeal, user=None, consent=True)
    cabinet_client.post(reverse("appeals:file_upload", args=[appeal.public_id]),
                        {"slot": OFFICIAL_LETTER, "file": pdf_upload()})
    cabinet_client.post(reverse("appeals:file_upload", args=[appeal.public_id]),
                        {"slot": str(doc.pk), "file": pdf_upload("plan.pdf")})
    response = cabinet_client.post(url, data)
    assert response.status_code == 200 and response.context["consent_form"] is not None
    html = response.content.decode()
    assert "Условия и сроки рассмотрения обращения" in html


@pytest.mark.django_db
def test_signing_refused_without_consent(cabinet_client, appeal, monkeypatch):
    AppealFile.objects.create(appeal=appeal, file="x.pdf", original_name="x.pdf", size=1, content_type="application/pdf")
    called = []
    monkeypatch.setattr(services, "_signing_request_create", lambda **kw: called.append(kw))
    monkeypatch.setattr(services, "_pdf_render", lambda **kw: PDF)
    url = reverse("appeals:sign", args=[appeal.public_id])
    response = cabinet_client.post(url, {})
    assert response.status_code == 400 and not called
    assert "Подтвердите согласие с условиями и сроками рассмотрения." in response.content.decode()
    with pytest.raises(services.AppealError) as exc:
        services.appeal_sign_start(appeal=appeal, user=None, consent=False)
    assert exc.value.field == "consent"
    monkeypatch.setattr(views, "_signing_modal_response", lambda request, sr: views.redirect("appeals:list"))
    response = cabinet_client.post(url, {"consent": "on"})
    assert response.status_code == 302 and len(called) == 1
    assert called[0]["on_complete"] == "appeals:appeal_signed"
    assert called[0]["required_bin"] == appeal.organization.bin
    assert called[0]["allowed_roles"] == {"head", "may_sign"}


@pytest.mark.django_db
def test_several_files_over_the_limit_together_are_told_the_total_limit(cabinet_client, appeal, monkeypatch):
    """A crafted request with several files, each within the limit: the slot names the limit of
    one upload, not a file larger than it."""
    monkeypatch.setattr(views.appeal_file_upload, "upload_max_bytes", 1024)
    url = reverse("appeals:file_upload", args=[appeal.public_id])
    files = [pdf_upload(f"l{i}.pdf", PDF + b"0" * 500) for i in range(3)]
    response = cabinet_client.post(url, {"slot": OFFICIAL_LETTER, "file": files}, HTTP_HX_REQUEST="true")
    error = re.search(rf'<p class="field-error" role="alert" id="slot-{OFFICIAL_LETTER}-error">([^<]*)</p>',
                      response.content.decode())
    assert response.status_code == 200  # htmx swaps only 2xx: the slot with its error
    assert error and error.group(1) == "Выбранные файлы вместе больше 700 Мб — предела одной загрузки."
    assert not AppealFile.objects.exists()


def test_upload_too_large_wrong_type_and_delete(cabinet_client, appeal, monkeypatch, settings,
                                                django_capture_on_commit_callbacks):
    url = reverse("appeals:file_upload", args=[appeal.public_id])
    response = cabinet_client.post(url, {"slot": OFFICIAL_LETTER, "file": pdf_upload("virus.exe", b"MZ\x90\x00" * 50)},
                                   HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Этот тип файла не принимается" in response.content.decode()
    assert not AppealFile.objects.exists()
    monkeypatch.setattr(views, "MAX_FILE_BYTES", 1024)
    monkeypatch.setattr(views.appeal_file_upload, "upload_max_bytes", 1024)  # the view's @upload_limit
    response = cabinet_client.post(url, {"slot": OFFICIAL_LETTER, "file": pdf_upload(content=PDF + b"0" * 4096)})
    assert response.status_code == 400 and "Размер файла превышает" in response.content.decode()
    assert not AppealFile.objects.exists()
    media = settings.MEDIA_ROOT
    assert not list(media.rglob("*.*")) if media.exists() else True
    monkeypatch.setattr(views, "MAX_FILE_BYTES", 700 * 1024 * 1024)
    monkeypatch.setattr(views.appeal_file_upload, "upload_max_bytes", 700 * 1024 * 1024)
    # A zip is an archive, accepted; several files per slot.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    cabinet_client.post(url, {"slot": OFFICIAL_LETTER, "file": pdf_upload("a.zip", buf.getvalue())})
    response = cabinet_client.post(url, {"slot": OFFICIAL_LETTER, "file": pdf_upload()}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and AppealFile.objects.count() == 2
    f = AppealFile.objects.first()
    download = cabinet_client.get(reverse("appeals:file_download", args=[appeal.public_id, f.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content).startswith(b"PK")
    path = f.file.path
    with django_capture_on_commit_callbacks(execute=True):
        response = cabinet_client.post(reverse("appeals:file_delete", args=[appeal.public_id, f.pk]))
    assert response.status_code == 302 and AppealFile.objects.count() == 1
    assert not os.path.exists(path)


@pytest.mark.django_db
def test_sent_appeal_cannot_be_edited_or_files_changed(cabinet_client, appeal):
    f = AppealFile.objects.create(appeal=appeal, file="x.pdf", original_name="x.pdf", size=1, content_type="application/pdf")
    Appeal.objects.filter(pk=appeal.pk).update(status=S.SENT)
    assert cabinet_client.get(reverse("appeals:edit", args=[appeal.public_id])).status_code == 302
    response = cabinet_client.post(reverse("appeals:file_delete", args=[appeal.public_id, f.pk]))
    assert response.status_code == 400 and AppealFile.objects.filter(pk=f.pk).exists()
    response = cabinet_client.post(reverse("appeals:delete", args=[appeal.public_id]))
    assert Appeal.objects.filter(pk=appeal.pk).exists()


@pytest.mark.django_db
def test_draft_delete(cabinet_client, appeal):
    cabinet_client.post(reverse("appeals:delete", args=[appeal.public_id]))
    assert not Appeal.objects.filter(pk=appeal.pk).exists()


@pytest.mark.django_db
def test_another_organizations_appeal_file_and_ds_are_404(cabinet_client):
    theirs = AppealFactory(status=S.DS_SIGNED, ds_number="1", ds_signed_file="appeals/x.pdf")
    f = AppealFile.objects.create(appeal=theirs, file="x.pdf", original_name="x.pdf", size=1, content_type="application/pdf")
    pid = theirs.public_id
    for name, args in [("edit", [pid]), ("history", [pid]), ("ds", [pid]), ("ds_download", [pid]), ("ds_project", [pid]),
                       ("file_download", [pid, f.pk]), ("history_download", [pid, 1])]:
        assert cabinet_client.get(reverse(f"appeals:{name}", args=args)).status_code == 404, name
    for name, args in [("delete", [pid]), ("sign", [pid]), ("ds_sign", [pid]), ("file_delete", [pid, f.pk])]:
        assert cabinet_client.post(reverse(f"appeals:{name}", args=args)).status_code == 404, name
    response = cabinet_client.post(reverse("appeals:file_upload", args=[pid]), {"slot": OFFICIAL_LETTER, "file": pdf_upload()})
    assert response.status_code == 404
    assert AppealFile.objects.count() == 1


@pytest.mark.django_db
def test_history_shows_statuses_payloads_and_downloads(cabinet_client, cabinet_user):
    made = AppealFactory(organization=cabinet_user.organization)
    appeal = services.appeal_create(organization=made.organization, user=cabinet_user, contract=made.contract,
                                    category=made.category)
    services.appeal_signed(appeal=appeal, signer=services.Signer(full_name="Иванов Иван Иванович"))
    services.appeal_transition(appeal, to=S.REGISTERED, actor=Actor.BPMS,
                               payload={"registration_number": "КЖК-1", "review_deadline": "2026-12-10"})
    services.appeal_transition(appeal, to=S.IN_REVIEW, actor=Actor.BPMS,
                               payload={"executor_name": "Сапарова А.Б.", "internal_number": "ВН-17"})
    services.appeal_transition(appeal, to=S.REVISION, actor=Actor.BPMS,
                               payload={"revision_deadline": "2026-12-20", "document": Document("Уведомление.pdf", PDF)})
    response = cabinet_client.get(reverse("appeals:history", args=[appeal.public_id]))
    html = response.content.decode()
    for text in ["История заявки", "Заявка сформирована", "Заявка подписана", "Заявка отправлена",
                 "Заявка зарегистрирована", "КЖК-1", "Сапарова А.Б.", "ВН-17",
                 "Заявка рассмотрена, необходимо доработать", "Скачать", "Иванов Иван Иванович"]:
        assert text in html, text
    step = appeal.history.exclude(document="").get()
    download = cabinet_client.get(reverse("appeals:history_download", args=[appeal.public_id, step.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    # Revision loop: edit and sign again → «Заявка отправлена».
    assert cabinet_client.get(reverse("appeals:edit", args=[appeal.public_id])).status_code == 200
    services.appeal_signed(appeal=appeal, signer=services.Signer(full_name="Иванов Иван Иванович"))
    appeal.refresh_from_db()
    assert appeal.status == S.SENT and appeal.signatures.count() == 2


@pytest.mark.django_db
def test_developer_sees_and_signs_only_the_ds(client, monkeypatch):
    from tests.factories import UserFactory

    developer = OrganizationFactory(kind="developer")
    appeal = AppealFactory(contract=ContractFactory(developer=developer), status=S.APPROVED)
    dev_user = UserFactory(organization=developer)
    client.force_login(dev_user)
    assert client.get(reverse("appeals:ds", args=[appeal.public_id])).status_code == 404
    assert not client.get(reverse("appeals:list")).context["rows"]
    services.appeal_transition(appeal, to=S.DS_APPLICANT_SIGNING, actor=Actor.BPMS,
                               payload={"document": Document("ДС.pdf", PDF)})
    rows = client.get(reverse("appeals:list")).context["rows"]
    assert [r["appeal"].pk for r in rows] == [appeal.pk] and not rows[0]["own"]
    assert client.get(reverse("appeals:history", args=[appeal.public_id])).status_code == 404
    assert client.get(reverse("appeals:edit", args=[appeal.public_id])).status_code == 404
    page = client.get(reverse("appeals:ds", args=[appeal.public_id]))
    assert page.status_code == 200 and page.context["can_sign"]
    called = []
    monkeypatch.setattr(services, "_signing_request_create", lambda **kw: called.append(kw) or "sr")
    monkeypatch.setattr(views, "_signing_modal_response", lambda request, sr: views.redirect("appeals:list"))
    client.post(reverse("appeals:ds_sign", args=[appeal.public_id]))
    assert called[0]["organization"] == developer and called[0]["required_bin"] == developer.bin
    # The signed ДС is not downloadable before everyone signed; the project is, to read it.
    assert client.get(reverse("appeals:ds_download", args=[appeal.public_id])).status_code == 404
    project = client.get(reverse("appeals:ds_project", args=[appeal.public_id]))
    assert project.status_code == 200 and b"".join(project.streaming_content) == PDF


@pytest.mark.django_db
def test_list_offers_the_notice_of_a_revision_and_kazakh_wording(cabinet_client, cabinet_user):
    appeal = AppealFactory(organization=cabinet_user.organization, status=S.IN_REVIEW)
    services.appeal_transition(appeal, to=S.REVISION, actor=Actor.BPMS,
                               payload={"revision_deadline": "2026-12-20", "document": Document("Уведомление.pdf", PDF)})
    html = cabinet_client.get(reverse("appeals:list")).content.decode()
    step = appeal.history.exclude(document="").get()
    assert reverse("appeals:history_download", args=[appeal.public_id, step.pk]) in html
    assert "Скачать уведомление" in html and "Доработать" in html
    cabinet_client.cookies["homeportal_language"] = "kk"
    html = cabinet_client.get(reverse("appeals:list")).content.decode()
    for text in ["«ҚТК» АҚ-дағы менің өтініштерім", "Өтініш жасау", "Түзету санаты", "Өтінім қаралды, пысықтау қажет",
                 "Толығырақ", "Табу"]:
        assert text in html, text


@pytest.mark.django_db
def test_junk_input_never_answers_500(cabinet_client, appeal):
    pid = appeal.public_id
    junk = {"kind": "<script>", "contract": "x' OR 1=1", "category": "999999", "slot": "../../etc", "action": "drop",
            "change_subject": "ы" * 5000, "consent": "maybe", "page": "-1", "status": "nope", "q": "%_\\"}
    gets = [reverse("appeals:list"), reverse("appeals:new"), reverse("appeals:new_contract"),
            reverse("appeals:edit", args=[pid]), reverse("appeals:history", args=[pid]), reverse("appeals:ds", args=[pid])]
    for url in gets:
        assert cabinet_client.get(url, junk).status_code < 500, url
    posts = [reverse("appeals:new_contract"), reverse("appeals:edit", args=[pid]), reverse("appeals:sign", args=[pid]),
             reverse("appeals:file_upload", args=[pid]), reverse("appeals:ds_sign", args=[pid])]
    for url in posts:
        assert cabinet_client.post(url, junk).status_code < 500, url
        assert cabinet_client.post(url, junk, HTTP_HX_REQUEST="true").status_code < 500, url
    assert cabinet_client.get("/appeals/not-a-uuid/").status_code == 404


@pytest.mark.django_db
def test_a_pdf_named_html_is_stored_and_served_as_pdf(cabinet_client, appeal):
    """#10 item 9: stored by the sniffed type, not the name's extension."""
    cabinet_client.post(reverse("appeals:file_upload", args=[appeal.public_id]),
                        {"slot": OFFICIAL_LETTER, "file": pdf_upload("report.html")})
    stored = AppealFile.objects.get(appeal=appeal)
    assert stored.file.name.endswith(".pdf") and stored.content_type == "application/pdf"
    response = cabinet_client.get(reverse("appeals:file_download", args=[appeal.public_id, stored.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="report.pdf"' in response["Content-Disposition"]
